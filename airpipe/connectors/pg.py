"""What every PostgreSQL connector shares: the connection part of its spec, and opening a
connection from it with an error that says why and never quotes the password."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from airpipe.connectors.entrypoint import ConfigError

SSL_MODES = ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
CONNECT_TIMEOUT = 15


def connection_properties(**extra: dict[str, Any]) -> dict[str, Any]:
    """The spec properties host, port, database, username, password and ssl_mode (orders 0-2 and
    4-6), plus ``extra`` (order 3 and 7 on are free for the connector's own)."""
    return {
        "host": {"title": "Host", "description": "Hostname of the database.", "type": "string", "order": 0},
        "port": {"title": "Port", "type": "integer", "minimum": 0, "maximum": 65535, "default": 5432, "examples": ["5432"], "order": 1},
        "database": {"title": "Database name", "type": "string", "order": 2},
        "username": {"title": "Username", "type": "string", "order": 4},
        "password": {"title": "Password", "type": "string", "airbyte_secret": True, "order": 5},
        "ssl_mode": {
            "title": "SSL mode",
            "description": "libpq's sslmode: whether the connection is encrypted; verify-ca and verify-full also check "
            "the server certificate against ~/.postgresql/root.crt.",
            "type": "string",
            "enum": SSL_MODES,
            "default": "prefer",
            "order": 6,
        },
        **extra,
    }


def connect(config: Mapping[str, Any], *, application_name: str) -> Any:
    """A psycopg2 connection for a config with the properties above; ConfigError if there is none."""
    import psycopg2

    host, port, database = config["host"], int(config.get("port") or 5432), config["database"]
    password = config.get("password") or None
    options = {"user": config["username"], "password": password, "sslmode": config.get("ssl_mode") or "prefer"}
    try:
        return psycopg2.connect(
            host=host,
            port=port,
            dbname=database,
            connect_timeout=CONNECT_TIMEOUT,
            application_name=application_name,
            **{key: value for key, value in options.items() if value is not None},
        )
    except psycopg2.Error as exc:
        raise ConfigError(f"cannot connect to PostgreSQL at {host}:{port}, database {database}: {scrub(reason(exc), password)}") from None


def reason(exc: Exception) -> str:
    """A driver error on one line."""
    return " ".join(str(exc).split()) or type(exc).__name__


def scrub(message: str, secret: str | None) -> str:
    return message.replace(secret, "****") if secret else message
