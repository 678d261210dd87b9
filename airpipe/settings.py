"""One Settings object, read from ``AIRPIPE_*`` environment variables once at start-up.

Every bad value fails here, naming the variable, so a misconfigured deployment stops before it
serves a request (the shape follows ``starlette/config.py``).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from airpipe.errors import SettingsError

T = TypeVar("T")

PREFIX = "AIRPIPE_"


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    redis_url: str | None
    host: str
    port: int
    local_root: Path
    basic_auth_user: str
    basic_auth_password: str | None
    #: how long check/discover/spec requests wait for their job before answering 504
    job_wait_timeout: float
    #: how long one synchronous connector command (spec/check/discover) may run
    connector_timeout: float
    #: threads of the in-process consumer (embedded mode) or of `airpipe worker`
    worker_threads: int
    #: namespaces Huey's keys in Redis, so several deployments (or test runs) can share one server
    queue_name: str
    #: attempts a sync or reset gets before its job fails; retries wait retry_backoff * 2**n seconds
    max_attempts: int
    retry_backoff: float
    #: a worker's hold on the attempt it runs; renewed every third of it, so a dead worker's
    #: attempt is taken over at most this long after it died
    lease_seconds: int
    #: a source that sends nothing for this long fails its attempt
    source_silence_timeout: float
    #: finished jobs and their logs are deleted after this many days
    job_retention_days: int
    #: the Fernet key that encrypts connector configs at rest; unset: a key file in the data dir
    secret_key: bytes | None
    #: how connectors are confined: auto (bubblewrap where it works), bwrap (required) or off
    sandbox: str = "auto"
    #: request bodies over this size are refused (413) before they are read
    max_body_bytes: int = 10 * 1024 * 1024
    #: PostgreSQL: run the hot queries as server-side prepared statements (models/postgres.py);
    #: off behind a pooler that gives each transaction another server connection
    database_prepare: bool = True
    #: may the File source read http(s) URLs of loopback, private, link-local... addresses?
    allow_private_urls: bool = False
    #: may notification webhooks (webhook and slack channels) be sent to loopback, private,
    #: link-local... addresses? Off, a channel's URL is refused at create and at each delivery
    webhook_allow_private_urls: bool = False
    #: log a line per request (uvicorn's access log): off by default, as in gunicorn, since
    #: formatting and writing it took a tenth of a short request's time; a proxy in front logs too
    access_log: bool = False
    #: where e-mail notifications go: no host, no e-mail (the other channels work without it)
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_from: str = "airpipe@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    #: the origin browsers reach airpipe at through a reverse proxy (``https://airpipe.example.com``):
    #: the dashboard also accepts forms posted from it when the proxy rewrites the Host header
    public_origin: str | None = None

    @property
    def auth_enabled(self) -> bool:
        return self.basic_auth_password is not None

    @property
    def embedded_queue(self) -> bool:
        return self.redis_url is None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = _Env(os.environ if environ is None else environ)
        data_dir = Path(env.get("DATA_DIR", ".airpipe", str)).expanduser().absolute()
        host = env.get("HOST", "127.0.0.1", str)
        password = env.get("BASIC_AUTH_PASSWORD", None, str) or None
        if password is None and not _is_loopback(host):
            raise SettingsError(
                "AIRPIPE_BASIC_AUTH_PASSWORD",
                f"must be set when AIRPIPE_HOST ({host}) listens beyond loopback",
            )
        return cls(
            data_dir=data_dir,
            database_url=env.get("DATABASE_URL", f"sqlite:///{data_dir / 'airpipe.db'}", _database_url),
            redis_url=env.get("REDIS_URL", None, _redis_url),
            host=host,
            port=env.get("PORT", 8000, _port),
            local_root=Path(env.get("LOCAL_ROOT", str(data_dir / "local"), str)).expanduser().absolute(),
            basic_auth_user=env.get("BASIC_AUTH_USER", "airbyte", str),
            basic_auth_password=password,
            job_wait_timeout=env.get("JOB_WAIT_TIMEOUT", 120.0, _positive_float),
            connector_timeout=env.get("CONNECTOR_TIMEOUT", 300.0, _positive_float),
            worker_threads=env.get("WORKER_THREADS", 4, _positive_int),
            queue_name=env.get("QUEUE_NAME", "airpipe", str),
            max_attempts=env.get("MAX_ATTEMPTS", 3, _positive_int),
            retry_backoff=env.get("RETRY_BACKOFF", 10.0, _positive_float),
            lease_seconds=env.get("LEASE_SECONDS", 60, _positive_int),
            source_silence_timeout=env.get("SOURCE_SILENCE_TIMEOUT", 1800.0, _positive_float),
            job_retention_days=env.get("JOB_RETENTION_DAYS", 30, _positive_int),
            secret_key=env.get("SECRET_KEY", None, _fernet_key),
            sandbox=env.get("SANDBOX", "auto", _sandbox_mode),
            database_prepare=env.get("DATABASE_PREPARE", True, _boolean),
            allow_private_urls=env.get("ALLOW_PRIVATE_URLS", False, _boolean),
            webhook_allow_private_urls=env.get("WEBHOOK_ALLOW_PRIVATE_URLS", False, _boolean),
            max_body_bytes=env.get("MAX_BODY_BYTES", 10 * 1024 * 1024, _positive_int),
            access_log=env.get("ACCESS_LOG", False, _boolean),
            smtp_host=env.get("SMTP_HOST", None, str),
            smtp_port=env.get("SMTP_PORT", 25, _positive_int),
            smtp_from=env.get("SMTP_FROM", "airpipe@localhost", str),
            smtp_user=env.get("SMTP_USER", None, str),
            smtp_password=env.get("SMTP_PASSWORD", None, str),
            smtp_starttls=env.get("SMTP_STARTTLS", False, _boolean),
            public_origin=env.get("PUBLIC_URL", None, url_origin),
        )

    def load_secret_key(self) -> bytes:
        """AIRPIPE_SECRET_KEY, or the key file of the data directory, created on first use.

        Every process of a deployment must use the same key: set AIRPIPE_SECRET_KEY when API
        and workers run on different machines.
        """
        if self.secret_key is not None:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            from cryptography.fernet import Fernet

            self.data_dir.mkdir(parents=True, exist_ok=True)
            try:
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass  # another process of this deployment created it a moment ago
            else:
                with os.fdopen(descriptor, "wb") as file:
                    file.write(Fernet.generate_key())
        try:
            return _fernet_key(path.read_text().strip())
        except ValueError as exc:
            raise SettingsError("AIRPIPE_SECRET_KEY", f"is unset and the key file {path} is not valid: {exc}") from None

    def connector_env(self) -> dict[str, str]:
        """What connector processes are told about this deployment (and nothing more)."""
        env = {"AIRPIPE_LOCAL_ROOT": str(self.local_root), "AIRPIPE_DATA_DIR": str(self.data_dir)}
        if self.allow_private_urls:
            env["AIRPIPE_ALLOW_PRIVATE_URLS"] = "1"
        return env


class _Env:
    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ

    def get(self, key: str, default: T, cast: Callable[[str], T]) -> T:
        name = PREFIX + key
        raw = self.environ.get(name)
        if raw is None or raw == "":
            return default
        try:
            return cast(raw)
        except ValueError as exc:
            raise SettingsError(name, f"{raw!r} is not valid: {exc}") from None


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _database_url(value: str) -> str:
    if not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ValueError("expected sqlite:///<path> or postgresql://user@host:port/db")
    return value


def _redis_url(value: str) -> str:
    if not value.startswith(("redis://", "rediss://", "unix://")):
        raise ValueError("expected redis://host:port/db")
    return value


def url_origin(value: str) -> str:
    """A URL's origin as a browser writes it in an Origin header: ``scheme://host[:port]``, in
    lower case, without a default port (its path, if any, plays no part)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"not a URL ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("expected http(s)://host[:port], the address browsers open airpipe at")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    default = 443 if parts.scheme == "https" else 80
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None and port != default else "")


def _fernet_key(value: str) -> bytes:
    import base64
    import binascii

    try:
        if len(base64.urlsafe_b64decode(value.encode())) == 32:
            return value.encode()
    except (binascii.Error, ValueError):
        pass
    raise ValueError(f"expected a Fernet key: 32 url-safe base64-encoded bytes (make one with {_NEW_KEY})")


_NEW_KEY = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


def _boolean(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected 1 or 0")


def _sandbox_mode(value: str) -> str:
    if value not in ("auto", "bwrap", "off"):
        raise ValueError("expected auto, bwrap or off")
    return value


def _port(value: str) -> int:
    port = int(value)
    if not 0 < port < 65536:
        raise ValueError("expected a port number from 1 to 65535")
    return port


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("expected a positive number")
    return number


def _positive_int(value: str) -> int:
    number = int(value)
    if number <= 0:
        raise ValueError("expected a positive whole number")
    return number
