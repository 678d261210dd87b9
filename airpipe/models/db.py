"""The database handle: a proxy bound at start-up to SQLite or PostgreSQL, chosen by URL."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import msgspec
import peewee
from playhouse.pool import PooledSqliteDatabase

from airpipe.models.postgres import PreparingPostgresqlDatabase, statement_name

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


class Prepared(Generic[M]):
    """A SELECT of ``model``'s rows whose SQL is built once per database type, not per call:
    peewee builds a query's SQL anew each time it runs, which costs more than running a short
    one (~0.2 ms for a join). Rows become models without peewee's general cursor machinery.

    ``build`` returns the query for given parameter values; it is called once with ``sample``
    values to learn the SQL, whose parameters must then be exactly ``values`` in order (so use
    it for values peewee passes as they are: ints, and the keys ``key`` converts). It selects
    ``fields`` (default: all of the model's, in their order); the others read as None. ``limit``
    caps the rows read (written into the SQL: peewee would make it a parameter).
    """

    def __init__(
        self,
        model: type[M],
        build: Callable[..., peewee.Select],
        *sample: Any,
        key: Callable[[Any], Any] | None = None,
        fields: list[peewee.Field] | None = None,
        limit: int | None = None,
    ) -> None:
        self.model, self.build, self.sample, self.key, self.limit = model, build, sample, key, limit
        self.fields = fields if fields is not None else model._meta.sorted_fields
        self._by_database: dict[type, tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]] = {}
        self.name = statement_name()  # on PostgreSQL, a server-side prepared statement (models/postgres.py)

    def __call__(self, *values: Any) -> list[M]:
        return [self.instance(row) for row in self.rows(*values)]

    def rows(self, *values: Any) -> list[tuple[Any, ...]]:
        """The rows as the database driver gives them: plain values, fit to key a memo by."""
        sql, _ = self._compiled()
        params = tuple(map(self.key, values)) if self.key is not None else values
        prepared = getattr(db.obj, "execute_prepared", None)
        cursor = db.execute_sql(sql, params) if prepared is None else prepared(self.name, sql, params)
        rows: list[tuple[Any, ...]] = cursor.fetchall()
        return rows

    def instance(self, row: tuple[Any, ...]) -> M:
        """One of ``rows`` as a model."""
        _, columns = self._compiled()
        instance = self.model(__no_default__=1)
        instance.__data__ = {
            name: v if convert is None or v is None else convert(v) for (name, convert), v in zip(columns, row, strict=True)
        }
        return instance

    def _compiled(self) -> tuple[str, list[tuple[str, Callable[[Any], Any] | None]]]:
        kind = type(db.obj)
        compiled = self._by_database.get(kind)
        if compiled is None:
            query = self.build(*self.sample)
            sql, params = query.sql()
            if self.limit is not None:
                sql += f" LIMIT {int(self.limit)}"
            expected = [self.key(v) for v in self.sample] if self.key is not None else list(self.sample)
            if list(params) != expected:
                raise TypeError(f"a prepared query's parameters must be its values: {params!r} != {expected!r}")
            compiled = self._by_database[kind] = (sql, [(field.name, _conversion(field)) for field in self.fields])
        return compiled


#: fields whose value both drivers already give as the field's Python type (int, str): peewee's
#: python_value would only call int() or str() on it, a third of building a row's model
_AS_GIVEN = frozenset(
    {peewee.IntegerField, peewee.BigIntegerField, peewee.AutoField, peewee.BigAutoField, peewee.CharField, peewee.TextField}
)


def _conversion(field: peewee.Field) -> Callable[[Any], Any] | None:
    """How a column's value becomes the field's: None when it already is (exactly these types, not
    their subclasses, such as JSONField)."""
    return None if type(field) in _AS_GIVEN else field.python_value


_INSERTS: dict[tuple[type, type, tuple[str, ...]], str] = {}


def insert(instance: peewee.Model) -> None:
    """``instance.save(force_insert=True)`` (its primary key set, or an auto one), at a fraction of
    the cost: peewee builds an INSERT's SQL anew each time (~0.4 ms for a wide row), and here it
    is built once per model, columns and database type (see ``Prepared``)."""
    model = type(instance)
    data = instance.__data__
    fields = [field for field in model._meta.sorted_fields if field.name in data]
    key = (model, type(db.obj), tuple(field.name for field in fields))
    sql = _INSERTS.get(key)
    if sql is None:
        sql = _INSERTS[key] = model.insert_many([[data[f.name] for f in fields]], fields=fields).sql()[0]
    db.execute_sql(sql, [field.db_value(data[field.name]) for field in fields])


_BY_ID: dict[type, Prepared[Any]] = {}


def by_id(model: type[M], id: Any) -> M | None:
    """``model.get_or_none(primary key == id)``, at a quarter of its cost (see ``Prepared``)."""
    found = by_id_query(model)(id)
    return found[0] if found else None


def by_id_query(model: type[M]) -> Prepared[M]:
    """The prepared query ``by_id`` runs: the row of a primary key."""
    prepared = _BY_ID.get(model)
    if prepared is None:
        key = model._meta.primary_key
        assert isinstance(key, peewee.Field), f"{model.__name__} has a primary key"
        prepared = _BY_ID[model] = Prepared(model, lambda v: model.select().where(key == v), _sample(key), key=key.db_value)
    return prepared


def _sample(field: peewee.Field) -> Any:
    """A value of the field's type, to compile a query with."""
    if isinstance(field, peewee.ForeignKeyField):
        return _sample(field.rel_field)
    return uuid.UUID(int=1) if isinstance(field, peewee.UUIDField) else 1


class _PreparedForeignKey(peewee.ForeignKeyAccessor):
    """Loads a related row (``job.attempt.connection``) through ``by_id``: peewee's own lazy load
    builds the SELECT's SQL anew each time, which cost most of a short read (~0.15 ms)."""

    def get_rel_instance(self, instance: peewee.Model) -> Any:
        value = instance.__data__.get(self.name)
        field = self.field
        by_key = field.lazy_load and field.rel_field is self.rel_model._meta.primary_key
        if value is not None and by_key and self.name not in instance.__rel__:
            related = by_id(self.rel_model, value)
            if related is None:
                raise self.rel_model.DoesNotExist(f"{self.rel_model.__name__} {value} does not exist")
            instance.__rel__[self.name] = related
        return super().get_rel_instance(instance)  # type: ignore[no-untyped-call]  # peewee is untyped


class ForeignKeyField(peewee.ForeignKeyField):
    """peewee's, whose related row loads through ``by_id`` (see ``_PreparedForeignKey``)."""

    accessor_class = _PreparedForeignKey


def now() -> int:
    """Epoch seconds, the API's only time unit."""
    return int(time.time())


#: seconds a PostgreSQL connection may take to open (see open_database)
CONNECT_TIMEOUT = 5


def open_database(url: str, *, prepare: bool = True) -> peewee.Database:
    """Build (not connect) the database a URL names; on PostgreSQL, ``prepare`` runs the
    ``Prepared`` queries as server-side prepared statements (models/postgres.py)."""
    if url.startswith("sqlite:///"):
        path = url[len("sqlite:///") :]
        # WAL lets API threads read while a worker writes; busy_timeout turns lock contention
        # into a short wait instead of an error. Pooled: opening a connection and setting its
        # pragmas costs more than the query of a typical request (~0.3 ms), so a closed
        # connection goes back to the pool instead (as PostgreSQL's do).
        sqlite: peewee.Database = PooledSqliteDatabase(
            path,
            pragmas={"journal_mode": "wal", "busy_timeout": 30000, "foreign_keys": 1, "synchronous": "normal"},
            check_same_thread=False,
            max_connections=None,
        )
        return sqlite
    from urllib.parse import unquote, urlparse

    parsed = urlparse(url)
    postgres: peewee.Database = PreparingPostgresqlDatabase(
        unquote(parsed.path.lstrip("/")),
        prepare=prepare,
        user=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        # a server that accepts the connection and then says nothing (hung, or behind a broken
        # proxy) held a connect forever, and the reads answered on the event loop with it: the
        # whole API stopped, health included. Now it is an outage (503) after this long.
        connect_timeout=CONNECT_TIMEOUT,
        max_connections=32,
        stale_timeout=300,
        timeout=30,
    )
    return postgres


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
