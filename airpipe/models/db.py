"""The database handle: a proxy bound at start-up to SQLite or PostgreSQL, chosen by URL."""

from __future__ import annotations

import time
from typing import Any, TypeVar

import msgspec
import peewee
from playhouse.pool import PooledPostgresqlDatabase, PooledSqliteDatabase

db = peewee.DatabaseProxy()

_json_encode = msgspec.json.Encoder().encode
_json_decode = msgspec.json.Decoder().decode


class BaseModel(peewee.Model):
    class Meta:
        database = db
        legacy_table_names = False


class JSONField(peewee.TextField):
    """JSON stored as text, so one column type serves SQLite and PostgreSQL alike."""

    def db_value(self, value: Any) -> str | None:
        return None if value is None else _json_encode(value).decode()

    def python_value(self, value: str | None) -> Any:
        return None if value is None else _json_decode(value)


M = TypeVar("M", bound=peewee.Model)
#: per (model, database type): the by-id SELECT and, for each column it returns, its field's
#: name and converter
_BY_ID: dict[tuple[type, type], tuple[str, list[tuple[str, Any]]]] = {}


def by_id(model: type[M], id: Any) -> M | None:
    """``model.get_or_none(primary key == id)``, at a quarter of its cost: the SQL is built once
    per model and database (peewee builds a query's SQL on every call, which costs more than
    running this one), and the row becomes a model without peewee's general cursor machinery."""
    key = (model, type(db.obj))
    meta = model._meta  # type: ignore[attr-defined]
    cached = _BY_ID.get(key)
    if cached is None:
        sql, _ = model.select().where(meta.primary_key == id).sql()
        cached = _BY_ID[key] = (sql, [(field.name, field.python_value) for field in meta.sorted_fields])
    sql, columns = cached
    row = db.execute_sql(sql, (meta.primary_key.db_value(id),)).fetchone()
    if row is None:
        return None
    instance = model(__no_default__=1)
    instance.__data__ = {name: None if value is None else convert(value) for (name, convert), value in zip(columns, row, strict=True)}
    return instance


def now() -> int:
    """Epoch seconds, the API's only time unit."""
    return int(time.time())


def open_database(url: str) -> peewee.Database:
    """Build (not connect) the database a URL names."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        # WAL lets API threads read while a worker writes; busy_timeout turns lock contention
        # into a short wait instead of an error. Pooled: opening a connection and setting its
        # pragmas costs more than the query of a typical request (~0.3 ms), so a closed
        # connection goes back to the pool instead (as PostgreSQL's do).
        return PooledSqliteDatabase(
            path,
            pragmas={"journal_mode": "wal", "busy_timeout": 30000, "foreign_keys": 1, "synchronous": "normal"},
            check_same_thread=False,
            max_connections=None,
        )
    from urllib.parse import unquote, urlparse

    parsed = urlparse(url)
    return PooledPostgresqlDatabase(
        unquote(parsed.path.lstrip("/")),
        user=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        max_connections=32,
        stale_timeout=300,
        timeout=30,
    )


def bind(database: peewee.Database) -> None:
    db.initialize(database)


def is_sqlite() -> bool:
    return isinstance(db.obj, peewee.SqliteDatabase)


def transaction() -> Any:
    """A write transaction. SQLite takes the write lock up front (BEGIN IMMEDIATE): a deferred
    transaction that upgrades from read to write fails at once under contention instead of
    waiting for busy_timeout."""
    if is_sqlite():
        return db.atomic("IMMEDIATE")
    return db.atomic()
