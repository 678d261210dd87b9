"""PostgreSQL: each stream in a typed table, loaded with COPY.

    python -m airpipe.destinations.postgres spec|check|write ...

A stream goes to the table named as the stream (the engine has applied any prefix), in the
schema named by its namespace, else by the config's ``schema``. Columns are typed from the
stream's JSON schema (see ``airpipe.destinations.loading.sql``; numbers are ``numeric``, exact for any
JSON number) plus ``_airbyte_raw_id`` (uuid), ``_airbyte_extracted_at`` (timestamptz) and
``_airbyte_meta`` (jsonb). Identifiers are always quoted, so any name works; names longer than
PostgreSQL's 63 bytes are cut and given a hash of the whole name.

Rows are buffered per table as COPY CSV, each row encoded as a JSON array by msgspec
(``airpipe.destinations.postgres_copy``); a row without changes leaves ``_airbyte_meta`` to the column's
default, ``{"changes": []}``, so COPY parses no JSON for it. A batch is COPYed into every table it
has rows for and committed as one transaction, by a background thread while the next batch is
decoded; then the STATE messages that came before it are echoed.

Sync modes:

- ``append`` COPYs into the table. A table that exists keeps its columns: new ones are added
  (ALTER TABLE ADD COLUMN); one of another type keeps it, and values that do not fit go NULL
  with a note in ``_airbyte_meta``.
- ``overwrite`` COPYs into a staging table ``_airbyte_tmp_<hash>_<name>`` beside the table, and
  swaps it in at the end of the input in one transaction (drop the table, rename the staging
  table). Until then the old table is untouched and readable; a failed or killed write leaves it
  as it was (a staging table left by SIGKILL is dropped by the next write). States that cover an
  overwritten stream are echoed only after the swap. A table that views depend on is not dropped
  (no CASCADE): the write fails, changing nothing.
- ``append_dedup`` COPYs each batch into a temporary table, then merges it into the table with
  ``INSERT ... ON CONFLICT (primary key) DO UPDATE``, on a unique index of the primary key
  (``NULLS NOT DISTINCT`` from PostgreSQL 15 on, so a null key is a key too; before 15, rows with
  a null key are never merged). Within a batch the latest record per key is kept (``DISTINCT ON``
  ordered by cursor, and by ``_airbyte_raw_id``, which counts up within a write, for ties); it
  replaces the table's row unless that row has a greater cursor: a record without a cursor value
  loses to one with, and of equal cursors the later one wins. A table that already holds
  duplicates (it was appended to) is deduplicated once, when the index is made.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator, Sequence
from functools import partial
from typing import IO, Any

import psycopg2
from psycopg2 import errors, sql

from airpipe.connectors import pg
from airpipe.connectors.entrypoint import ConfigError, Destination, main
from airpipe.destinations.loading import batching
from airpipe.destinations.loading.contract import BATCH_SIZE_PROPERTY, DEFAULT_BATCH_ROWS, Target
from airpipe.destinations.loading.rows import RowCodec
from airpipe.destinations.loading.sql import AIRBYTE_COLUMNS, EXTRACTED_AT, META, RAW_ID, Column, Kind, StreamSpec, fit_name
from airpipe.destinations.postgres_copy import PgLoader, PgTable
from airpipe.protocol import AirbyteConnectionStatus, ConfiguredAirbyteCatalog, ConnectorSpecification, DestinationSyncMode, Status

APPLICATION = "airpipe-destination-postgres"  # as pg_stat_activity shows the connection

SPEC = ConnectorSpecification(
    documentation_url="https://docs.airbyte.com/integrations/destinations/postgres",
    supports_incremental=True,
    supports_normalization=False,
    supports_dbt=False,
    supported_destination_sync_modes=[DestinationSyncMode.overwrite, DestinationSyncMode.append, DestinationSyncMode.append_dedup],
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Postgres Destination Spec",
        "type": "object",
        "required": ["host", "database", "username"],
        "properties": pg.connection_properties(
            schema={
                "title": "Default Schema",
                "description": "The schema tables are written to when their stream has no namespace.",
                "type": "string",
                "default": "public",
                "examples": ["public"],
                "order": 3,
            },
            batch_size=BATCH_SIZE_PROPERTY,
        ),
    },
)

_fit = partial(fit_name, max_bytes=63)  # NAMEDATALEN - 1

_TYPES = {
    Kind.STRING: "text", Kind.TIMESTAMP: "timestamptz", Kind.DATE: "date", Kind.INTEGER: "bigint", Kind.NUMBER: "numeric",
    Kind.BOOLEAN: "boolean", Kind.OBJECT: "jsonb", Kind.ARRAY: "jsonb", Kind.JSON: "jsonb",
}  # fmt: skip
#: the kinds of existing columns' types (pg_type.typname) without a modifier; others (varchar(n),
#: numeric(p, s), integer) could reject a value and fail the whole COPY, so their values stay NULL, noted
_KINDS = {
    "text": Kind.STRING, "varchar": Kind.STRING, "timestamptz": Kind.TIMESTAMP, "timestamp": Kind.TIMESTAMP, "date": Kind.DATE,
    "int8": Kind.INTEGER, "numeric": Kind.NUMBER, "float8": Kind.NUMBER, "bool": Kind.BOOLEAN, "jsonb": Kind.JSON, "json": Kind.JSON,
}  # fmt: skip
_AIRBYTE_TYPES = {RAW_ID: "uuid", EXTRACTED_AT: "timestamptz", META: "jsonb"}
#: rows without changes leave _airbyte_meta to this default: COPY then parses no JSON for them
_NO_CHANGES = sql.SQL("DEFAULT '{\"changes\": []}'")


class Postgres(Destination):
    def spec(self) -> ConnectorSpecification:
        return SPEC

    def check(self, config: dict[str, Any]) -> AirbyteConnectionStatus:
        try:
            connection = connect(config)
        except ConfigError as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(exc))
        schema = config.get("schema") or "public"
        try:
            with connection.cursor() as cursor:  # all rolled back
                _create_schema(cursor, schema)
                table = sql.Identifier(schema, f"_airbyte_check_{uuid.uuid4().hex[:12]}")
                cursor.execute(sql.SQL("CREATE TABLE {} (id integer)").format(table))
                cursor.execute(sql.SQL("DROP TABLE {}").format(table))
        except psycopg2.Error as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=f"cannot create a table in schema {schema!r}: {pg.reason(exc)}")
        finally:
            connection.close()
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def write(self, config: dict[str, Any], catalog: ConfiguredAirbyteCatalog, input: IO[bytes]) -> Iterator[bytes]:
        connection = connect(config)
        try:
            targets, loader = prepare(connection, catalog, config.get("schema") or "public")
            batch_rows = config.get("batch_size") or DEFAULT_BATCH_ROWS
            yield from batching.write(input, targets, loader, batch_rows=batch_rows, background=True)
        finally:
            connection.close()


def connect(config: dict[str, Any]) -> Any:
    """A connection in UTC; ConfigError saying why there is none (never quoting the password)."""
    connection = pg.connect(config, application_name=APPLICATION)
    with connection.cursor() as cursor:
        cursor.execute("SET TIME ZONE 'UTC'")
    return connection


# TABLES


def prepare(connection: Any, catalog: ConfiguredAirbyteCatalog, default_schema: str) -> tuple[list[Target], PgLoader]:
    """Create or update every stream's table (and staging tables) in one transaction."""
    targets: list[Target] = []
    places: dict[tuple[str, str], str] = {}
    nulls_not_distinct = connection.server_version >= 150000
    specs = [StreamSpec.of(configured, _fit) for configured in catalog.streams]
    for spec in specs:
        schema, name = _fit(spec.namespace or default_schema), _fit(spec.name)
        if (schema, name) in places:
            raise ConfigError(f"streams {places[schema, name]!r} and {spec.name!r} would both write to table {schema}.{name}")
        places[schema, name] = spec.name
    with connection.cursor() as cursor:
        # every schema before any table, in one order: two writes that each create several take
        # their locks (see _create_schema) in the same order, so neither waits on the other's
        for schema in sorted({schema for schema, _ in places}):
            _create_schema(cursor, schema)
        for i, ((schema, name), spec) in enumerate(zip(places, specs, strict=True)):
            table = PgTable(spec, schema, name)
            if spec.mode is DestinationSyncMode.overwrite:
                table.staging = sql.Identifier(schema, _fit(f"_airbyte_tmp_{_digest(name)}_{name}"))
                cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table.staging))
                _create_table(cursor, table.staging, spec.columns)
                columns = spec.columns
            else:
                columns = _create_or_alter(cursor, table.target, spec)
                if spec.mode is DestinationSyncMode.append_dedup:
                    table.staging = sql.Identifier(f"_airbyte_batch_{i}")
                    table.merge = _merge(cursor, table, columns, nulls_not_distinct)
            table.set_columns(columns)
            targets.append(Target(spec, RowCodec(columns, raw_ids=table.raw_ids), table))
    connection.commit()
    return targets, PgLoader(connection, [t.table for t in targets])


#: the first key of the advisory locks taken on schema names (the second is the name's hash), so
#: they share no key with another application's advisory locks on the same database
SCHEMA_LOCK = 0x41495250  # "AIRP"


def _create_schema(cursor: Any, schema: str) -> None:
    """Create ``schema`` unless it exists, safely against other writes doing the same.

    Two first syncs into one new schema both find it missing; the second CREATE would wait for the
    first to commit and then fail on pg_namespace's unique index (IF NOT EXISTS does not help: it
    looks before it inserts). So a missing schema is created under a transaction-scoped advisory
    lock on its name, and looked up again once the lock is held: the second write waits until the
    first commits, then finds the schema. A schema that exists takes no lock.
    """
    # looked up first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when it exists
    if _schema_exists(cursor, schema):
        return
    cursor.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (SCHEMA_LOCK, schema))
    if not _schema_exists(cursor, schema):
        cursor.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))


def _schema_exists(cursor: Any, schema: str) -> bool:
    cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,))
    return cursor.fetchone() is not None


def _create_table(cursor: Any, table: sql.Identifier, columns: Sequence[Column]) -> None:
    definitions = [sql.SQL("{} {}").format(sql.Identifier(n), sql.SQL(t)) for n, t in _AIRBYTE_TYPES.items()]
    definitions[-1] = sql.SQL("{} {}").format(definitions[-1], _NO_CHANGES)
    definitions += [sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(_TYPES[c.kind])) for c in columns]
    cursor.execute(sql.SQL("CREATE TABLE {} ({})").format(table, sql.SQL(", ").join(definitions)))


def _create_or_alter(cursor: Any, table: sql.Identifier, spec: StreamSpec) -> list[Column]:
    schema, name = table.strings
    cursor.execute(
        """SELECT a.attname, t.typname, a.atttypmod, a.atthasdef FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
        WHERE a.attrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                            WHERE n.nspname = %s AND c.relname = %s AND c.relkind IN ('r', 'p'))
        AND a.attnum > 0 AND NOT a.attisdropped""",
        (schema, name),
    )
    found = cursor.fetchall()
    existing = {column: _KINDS.get(type_name) if modifier == -1 else None for column, type_name, modifier, _ in found}
    if not existing:
        _create_table(cursor, table, spec.columns)
        return spec.columns
    missing = [(n, t) for n, t in _AIRBYTE_TYPES.items() if n not in existing]
    missing += [(c.name, _TYPES[c.kind]) for c in spec.columns if c.name not in existing]
    for column, type_name in missing:
        default = _NO_CHANGES if column == META else sql.SQL("")
        cursor.execute(sql.SQL("ALTER TABLE {} ADD COLUMN {} {} {}").format(table, sql.Identifier(column), sql.SQL(type_name), default))
    if any(column == META and not has_default for column, _, _, has_default in found):
        cursor.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET {}").format(table, sql.Identifier(META), _NO_CHANGES))
    return spec.columns_in(existing, lambda kind: _TYPES.get(kind, ""))  # "": a kind we never create (OTHER)


def _key(column: Column, path: list[str], qualifier: str | None = None) -> sql.Composable:
    name = sql.Identifier(qualifier, column.name) if qualifier else sql.Identifier(column.name)
    return sql.SQL("({} #> {})").format(name, sql.Literal(path)) if path else name


def _merge(cursor: Any, table: PgTable, columns: list[Column], nulls_not_distinct: bool) -> sql.Composed:
    """Make the unique index and the batch's temporary table; the statement that merges a batch."""
    spec, target, batch = table.spec, table.target, table.staging
    keys = spec.key_columns(columns)
    key = sql.SQL(", ").join(_key(c, p) for c, p in keys)
    found = spec.cursor_column(columns)
    cursor_key = _key(*found) if found else None
    order = sql.SQL("{} DESC NULLS LAST, ").format(cursor_key) if cursor_key else sql.SQL("")
    index = f"_airbyte_pk_{_digest(repr([table.target.strings, spec.primary_key]))}"
    cursor.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s AND indexname LIKE %s AND indexname <> %s",
        (*target.strings, r"\_airbyte\_pk\_%", index),
    )
    for (stale,) in cursor.fetchall():  # the index of an earlier primary key would reject rows
        cursor.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(target.strings[0], stale)))
    create_index = sql.SQL("CREATE UNIQUE INDEX IF NOT EXISTS {} ON {} ({}){}").format(
        sql.Identifier(index), target, key, sql.SQL(" NULLS NOT DISTINCT" if nulls_not_distinct else "")
    )
    cursor.execute("SAVEPOINT airpipe_index")
    try:
        cursor.execute(create_index)
    except errors.UniqueViolation:  # appended to before: keep the latest row of each key
        cursor.execute("ROLLBACK TO SAVEPOINT airpipe_index")
        latest = sql.SQL("SELECT DISTINCT ON ({key}) ctid FROM {t} ORDER BY {key}, {order}{at} DESC, ctid DESC").format(
            key=key, t=target, order=order, at=sql.Identifier(EXTRACTED_AT)
        )
        cursor.execute(sql.SQL("DELETE FROM {} WHERE ctid NOT IN ({})").format(target, latest))
        cursor.execute(create_index)
    cursor.execute(sql.SQL("CREATE TEMPORARY TABLE {} (LIKE {} INCLUDING DEFAULTS) ON COMMIT DELETE ROWS").format(batch, target))
    names = sql.SQL(", ").join(sql.Identifier(n) for n in (*AIRBYTE_COLUMNS, *(c.name for c in columns)))
    updates = sql.SQL(", ").join(
        sql.SQL("{c} = EXCLUDED.{c}").format(c=sql.Identifier(n)) for n in (*AIRBYTE_COLUMNS, *(c.name for c in columns))
    )
    newer = (
        sql.SQL(" WHERE {t} IS NULL OR {new} >= {t}").format(t=_key(*found, "t"), new=_key(*found, "excluded")) if found else sql.SQL("")
    )
    latest = sql.SQL("SELECT DISTINCT ON ({}) * FROM {} ORDER BY {}, {}{} DESC").format(key, batch, key, order, sql.Identifier(RAW_ID))
    merge = "INSERT INTO {} AS t ({}) SELECT {} FROM ({}) b ON CONFLICT ({}) DO UPDATE SET {}{}"
    return sql.SQL(merge).format(target, names, names, latest, key, updates, newer)


def _digest(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()[:8]


if __name__ == "__main__":
    main(Postgres())
