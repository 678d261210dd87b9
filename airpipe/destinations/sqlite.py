"""SQLite: each stream in a typed table of one database file under the local root.

    python -m airpipe.destinations.sqlite spec|check|write ...

``destination_path`` names the database file inside the local root (``$AIRPIPE_LOCAL_ROOT``, as for
Local JSON: ``/local/x.db`` and ``x.db`` both mean ``<local root>/x.db``). A stream goes to the
table named as the stream (namespaces are not used: SQLite has no schemas), typed from its JSON
schema as ``airpipe.destinations.loading.sql`` describes: TEXT (strings; dates and timestamps in ISO 8601;
JSON), INTEGER (integers; booleans as 0 and 1), REAL (numbers), plus ``_airbyte_raw_id``,
``_airbyte_extracted_at`` and ``_airbyte_meta`` as TEXT. The database is put in WAL mode, so
readers are never blocked by a write.

Rows are inserted with ``executemany``, a batch at a time, each batch one transaction; the STATE
messages that came before a batch are echoed once it is committed. Sync modes:

- ``append`` inserts. A table that exists keeps its columns; new ones are added (ALTER TABLE ADD
  COLUMN), and one of another type keeps it (values that do not fit it go NULL, noted in
  ``_airbyte_meta``).
- ``overwrite`` inserts into ``_airbyte_tmp_<name>`` and, at the end of the input, drops the table
  and renames the staging table in its place, in one transaction: until then the old table is
  untouched, and a failed or killed write leaves it so. States that cover it wait for the swap.
- ``append_dedup`` inserts each batch into a temporary table, keeps the latest record of each
  primary key there (by cursor, nulls last, then the later record), then deletes the table's rows
  of those keys unless their cursor is greater, and inserts the batch's rows whose key is not left
  in the table (DELETE + INSERT; keys are compared with ``IS``, so a null key is a key too, and an
  index on the key makes it fast).
"""

from __future__ import annotations

import hashlib
import os
import sqlite3
from collections.abc import Iterator, Sequence
from itertools import repeat
from operator import add, attrgetter
from pathlib import Path
from typing import IO, Any

from msgspec.structs import astuple

from airpipe.connectors.entrypoint import ConfigError, Destination, main
from airpipe.connectors.local_paths import local_root, resolve_local_path
from airpipe.destinations.loading import batching
from airpipe.destinations.loading.bulk_rows import EXTRACTED_AT_FIELD
from airpipe.destinations.loading.contract import BATCH_SIZE_PROPERTY, DEFAULT_BATCH_ROWS, Target
from airpipe.destinations.loading.in_c import set_each
from airpipe.destinations.loading.rows import ExtractedAt, RawIds, RowCodec, meta_json
from airpipe.destinations.loading.sql import AIRBYTE_COLUMNS, EXTRACTED_AT, META, RAW_ID, Column, Kind, StreamSpec, ascii_fold, fit_name
from airpipe.protocol import AirbyteConnectionStatus, ConfiguredAirbyteCatalog, ConnectorSpecification, DestinationSyncMode, Status

SPEC = ConnectorSpecification(
    documentation_url="https://docs.airbyte.com/integrations/destinations/sqlite",
    supports_incremental=True,
    supports_normalization=False,
    supports_dbt=False,
    supported_destination_sync_modes=[DestinationSyncMode.overwrite, DestinationSyncMode.append, DestinationSyncMode.append_dedup],
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "SQLite Destination Spec",
        "type": "object",
        "required": ["destination_path"],
        "properties": {
            "destination_path": {
                "title": "Destination path",
                "description": "The database file, inside the local root (AIRPIPE_LOCAL_ROOT); /local/x.db and x.db both mean "
                "<local root>/x.db.",
                "type": "string",
                "format": "local-path",
                "examples": ["/local/airbyte.db"],
            },
            "batch_size": BATCH_SIZE_PROPERTY,
        },
    },
)

_NO_CHANGES = meta_json(None)

_TYPES = {
    Kind.STRING: "TEXT", Kind.TIMESTAMP: "TEXT", Kind.DATE: "TEXT", Kind.INTEGER: "INTEGER", Kind.NUMBER: "REAL",
    Kind.BOOLEAN: "INTEGER", Kind.OBJECT: "TEXT", Kind.ARRAY: "TEXT", Kind.JSON: "TEXT",
}  # fmt: skip


class Sqlite(Destination):
    def spec(self) -> ConnectorSpecification:
        return SPEC

    def check(self, config: dict[str, Any]) -> AirbyteConnectionStatus:
        try:
            path = database_path(config)
            connection = connect(path)
        except ConfigError as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(exc))
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute(f"CREATE TABLE {_quote('_airbyte_check_' + os.urandom(6).hex())} (id INTEGER)")
            connection.execute("ROLLBACK")
        except sqlite3.Error as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=f"cannot write to {path}: {exc}")
        finally:
            connection.close()
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def write(self, config: dict[str, Any], catalog: ConfiguredAirbyteCatalog, input: IO[bytes]) -> Iterator[bytes]:
        connection = connect(database_path(config))
        try:
            targets, loader = prepare(connection, catalog)
            batch_rows = config.get("batch_size") or DEFAULT_BATCH_ROWS
            yield from batching.write(input, targets, loader, batch_rows=batch_rows)
        finally:
            connection.close()


def database_path(config: dict[str, Any]) -> Path:
    try:
        return resolve_local_path(config["destination_path"], local_root())
    except ValueError as exc:
        raise ConfigError(f"destination_path: {exc}") from None


def connect(path: Path) -> sqlite3.Connection:
    """The database in WAL mode, in autocommit mode: transactions are begun explicitly."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        # the overwrite swap renames a table in place of one that views may name: not an error
        connection.execute("PRAGMA legacy_alter_table=ON")
    except (OSError, sqlite3.Error) as exc:
        raise ConfigError(f"cannot open the database {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return connection


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _kind(declared: str) -> Kind:
    """The kind of an existing column, from its declared type by SQLite's affinity rules."""
    declared = declared.upper()
    if "INT" in declared:
        return Kind.INTEGER
    if any(t in declared for t in ("CHAR", "CLOB", "TEXT")):
        return Kind.STRING
    if not declared or "BLOB" in declared:
        return Kind.JSON
    return Kind.NUMBER


# TABLES


def prepare(connection: sqlite3.Connection, catalog: ConfiguredAirbyteCatalog) -> tuple[list[Target], SqliteLoader]:
    """Create or update every stream's table (and staging tables) in one transaction."""
    targets: list[Target] = []
    names: dict[str, str] = {}
    connection.execute("BEGIN IMMEDIATE")
    try:
        for i, configured in enumerate(catalog.streams):
            spec = StreamSpec.of(configured, fit_name, ascii_fold)
            name = fit_name(spec.name)
            if ascii_fold(name) in names:
                raise ConfigError(f"streams {names[ascii_fold(name)]!r} and {spec.name!r} would both write to table {name}")
            names[ascii_fold(name)] = spec.name
            table = SqliteTable(spec, name)
            if spec.mode is DestinationSyncMode.overwrite:
                table.staging = f"main.{_quote('_airbyte_tmp_' + name)}"
                connection.execute(f"DROP TABLE IF EXISTS {table.staging}")
                _create_table(connection, table.staging, spec.columns)
                columns = spec.columns
            else:
                columns = _create_or_alter(connection, name, spec)
                if spec.mode is DestinationSyncMode.append_dedup:
                    table.staging = f"temp.{_quote(f'_airbyte_batch_{i}')}"
                    table.merge = _merge(connection, table, columns)
            table.set_columns(columns)
            targets.append(Target(spec, RowCodec(columns, big_numbers=False, raw_ids=table.raw_ids), table))
        connection.execute("COMMIT")
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    return targets, SqliteLoader(connection, [t.table for t in targets])


def _create_table(connection: sqlite3.Connection, table: str, columns: Sequence[Column]) -> None:
    definitions = [f"{_quote(n)} TEXT" for n in AIRBYTE_COLUMNS] + [f"{_quote(c.name)} {_TYPES[c.kind]}" for c in columns]
    connection.execute(f"CREATE TABLE {table} ({', '.join(definitions)})")


def _create_or_alter(connection: sqlite3.Connection, name: str, spec: StreamSpec) -> list[Column]:
    existing = {column: declared for column, declared in connection.execute("SELECT name, type FROM pragma_table_info(?)", (name,))}
    table = f"main.{_quote(name)}"
    if not existing:
        _create_table(connection, table, spec.columns)
        return spec.columns
    have = {ascii_fold(column): column for column in existing}
    missing = [(n, "TEXT") for n in AIRBYTE_COLUMNS if ascii_fold(n) not in have]
    missing += [(c.name, _TYPES[c.kind]) for c in spec.columns if ascii_fold(c.name) not in have]
    for column, declared in missing:
        connection.execute(f"ALTER TABLE {table} ADD COLUMN {_quote(column)} {declared}")
    kinds: dict[str, Kind | None] = {c.name: _kind(existing[have[ascii_fold(c.name)]]) for c in spec.columns if ascii_fold(c.name) in have}
    return spec.columns_in(kinds, lambda kind: _TYPES.get(kind, ""))  # "": a kind we never create (OTHER)


def _key(column: Column, path: list[str], table: str | None = None) -> str:
    name = f"{table}.{_quote(column.name)}" if table else _quote(column.name)
    if not path:
        return name
    json_path = "$" + "".join("." + _quote(p) for p in path)
    return f"json_extract({name}, '{json_path.replace(chr(39), chr(39) * 2)}')"


def _merge(connection: sqlite3.Connection, table: SqliteTable, columns: list[Column]) -> list[str]:
    """Make the key's index and the batch's temporary table; the statements that merge a batch."""
    spec, target, batch = table.spec, table.target, table.staging
    keys = spec.key_columns(columns)
    found = spec.cursor_column(columns)
    digest = hashlib.sha1(repr([table.name, spec.primary_key]).encode()).hexdigest()[:8]
    connection.execute(
        f"CREATE INDEX IF NOT EXISTS main.{_quote('_airbyte_pk_' + digest)} ON {_quote(table.name)} ({', '.join(_key(*k) for k in keys)})"
    )
    connection.execute(f"CREATE TEMP TABLE IF NOT EXISTS {batch} AS SELECT * FROM {target} WHERE 0")
    assert batch is not None  # append_dedup writes through a batch table
    batch_name, target_name = batch.split(".", 1)[1], _quote(table.name)
    order = f"{_key(*found)} IS NULL, {_key(*found)} DESC, " if found else ""
    same_key = " AND ".join(f"{_key(c, p, batch_name)} IS {_key(c, p, target_name)}" for c, p in keys)
    newer = f" AND ({_key(*found, target_name)} IS NULL OR {_key(*found, batch_name)} >= {_key(*found, target_name)})" if found else ""
    names = ", ".join(_quote(n) for n in (*AIRBYTE_COLUMNS, *(c.name for c in columns)))
    partition = ", ".join(_key(*k) for k in keys)
    return [
        f"DELETE FROM {batch} WHERE rowid NOT IN (SELECT r FROM (SELECT rowid AS r, row_number() OVER"
        f" (PARTITION BY {partition} ORDER BY {order}{_quote('_airbyte_raw_id')} DESC) AS n FROM {batch}) WHERE n = 1)",
        f"DELETE FROM {target} WHERE EXISTS (SELECT 1 FROM {batch} WHERE {same_key}{newer})",
        f"INSERT INTO {target} ({names}) SELECT {names} FROM {batch} WHERE NOT EXISTS (SELECT 1 FROM {target} WHERE {same_key})",
        f"DELETE FROM {batch}",
    ]


# LOADING


class SqliteTable:
    """A stream's rows as tuples: raw id, the values, extracted at, meta."""

    def __init__(self, spec: StreamSpec, name: str) -> None:
        self.spec = spec
        self.name = name
        self.target = f"main.{_quote(name)}"
        self.staging: str | None = None  # overwrite: the staging table; append_dedup: the batch's temporary table
        self.merge: list[str] = []
        self.rows: list[tuple[Any, ...]] = []
        self._emitted_at: Any = None
        self._tail: tuple[str, str] = ("", "")  # extracted at, meta of a row without changes emitted at _emitted_at
        self.raw_ids = RawIds()
        self._extracted_at = ExtractedAt()

    def set_columns(self, columns: list[Column]) -> None:
        names = ", ".join(_quote(n) for n in (RAW_ID, *(c.name for c in columns), EXTRACTED_AT, META))
        places = ", ".join("?" * (len(columns) + len(AIRBYTE_COLUMNS)))
        self.insert = f"INSERT INTO {self.staging or self.target} ({names}) VALUES ({places})"
        self._dates = [i for i, c in enumerate(columns) if c.kind in (Kind.TIMESTAMP, Kind.DATE)]
        self._date_fields = [(f"f{i}", attrgetter(f"f{i}")) for i in self._dates]  # in a bulk row

    def add(self, values: Sequence[Any], emitted_at: int | float | None, changes: list[Any] | None) -> None:
        if self._dates:
            values = list(values)
            for i in self._dates:
                if values[i] is not None:
                    values[i] = values[i].isoformat()
        if changes is None and emitted_at == self._emitted_at and emitted_at is not None:
            tail = self._tail
        else:
            tail = self._make_tail(emitted_at, changes)
        self.rows.append((self.raw_ids.take(), *values, *tail))

    def add_rows(self, rows: list[Any], emitted_ats: list[int | float | None], controls: bool) -> None:
        """``add`` for rows without changes, from ``BulkRows.ready``: each becomes a tuple in C loops
        (SQLite stores control characters as they are)."""
        for field, get in self._date_fields:  # ISO 8601 text
            set_each(rows, field, [None if v is None else v.isoformat() for v in map(get, rows)])
        self.raw_ids.keep_order(rows)
        if emitted_ats.count(emitted_ats[0]) == len(emitted_ats):
            ats: Any = repeat(self._make_tail(emitted_ats[0], None)[0])
        else:  # records come a few per millisecond: a run has few times
            known = {e: self._make_tail(e, None)[0] for e in set(emitted_ats)}
            ats = map(known.__getitem__, emitted_ats)
        set_each(rows, EXTRACTED_AT_FIELD, ats)
        self.rows += map(add, map(astuple, rows), repeat((_NO_CHANGES,)))

    def _make_tail(self, emitted_at: int | float | None, changes: list[Any] | None) -> tuple[str, str]:
        tail = (self._extracted_at(emitted_at), meta_json(changes))
        if changes is None:
            self._emitted_at, self._tail = emitted_at, tail
        return tail

    def take(self) -> list[tuple[Any, ...]] | None:
        if not self.rows:
            return None
        rows, self.rows = self.rows, []
        return rows


class SqliteLoader:
    def __init__(self, connection: sqlite3.Connection, tables: list[SqliteTable]) -> None:
        self.connection = connection
        self.overwritten = [t for t in tables if t.spec.mode is DestinationSyncMode.overwrite]

    def load(self, batch: list[tuple[SqliteTable, list[tuple[Any, ...]]]]) -> None:
        connection = self.connection
        connection.execute("BEGIN IMMEDIATE")
        for table, rows in batch:
            connection.executemany(table.insert, rows)
            for statement in table.merge:
                connection.execute(statement)
        connection.execute("COMMIT")

    def finish(self) -> None:
        self.connection.execute("BEGIN IMMEDIATE")
        for table in self.overwritten:
            self.connection.execute(f"DROP TABLE IF EXISTS {table.target}")
            self.connection.execute(f"ALTER TABLE {table.staging} RENAME TO {_quote(table.name)}")
        self.connection.execute("COMMIT")

    def interrupt(self) -> None:
        self.connection.interrupt()

    def abort(self) -> None:
        try:
            if self.connection.in_transaction:
                self.connection.execute("ROLLBACK")
            for table in self.overwritten:
                self.connection.execute(f"DROP TABLE IF EXISTS {table.staging}")
        except sqlite3.Error:
            pass  # the next write drops what is left


if __name__ == "__main__":
    main(Sqlite())
