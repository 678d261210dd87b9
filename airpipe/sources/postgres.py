"""PostgreSQL: every table and view of the chosen schemas, read in full or by a cursor column.

    python -m airpipe.sources.postgres spec|check|discover|read ...

Streams. One stream per table, partitioned table, view, materialized view or foreign table the
user may SELECT from, in the configured ``schemas``; the namespace is the schema. Partitions are
left out: their rows are read through their parent. Column types map to JSON Schema as in
``column_schema``; the primary key comes from the table's constraint (views have none).

Reading. The server renders each row as JSON text and a background thread fetches it a chunk of a
few MB ahead of the encoder, a range of pages at a time for a table, else from a named cursor (see
``airpipe.sources.postgres_rows``). Each chunk becomes one bytes object of RECORD lines
by concatenation: no row is decoded or encoded in Python, and memory stays constant whatever the
table size (about 55 MB). Measured on 1M rows of 10 mixed columns: COPY (SELECT row_to_json ...)
TO STDOUT calls back into Python for each row, so streaming it to a generator needs a thread that
takes the GIL per row: 2.5 times the cursor's CPU (4.0 s against 1.6 s) and slower end to end, and
COPY's escapes must be undone. Typed values encoded by msgspec instead of JSON made by the server
cost more CPU in all (7.4 s against 6.0 s, server and client together).

Incremental. The user picks the cursor: the configured stream's ``cursor_field``, one top-level
column of an orderable type (``CURSOR_TYPES``: numbers, text, date and time types, uuid). Rows
are read ``ORDER BY cursor`` in one REPEATABLE READ snapshot, and resumed with ``cursor > saved``.
A STATE (``{"cursor": <the value as PostgreSQL text>, "cursor_field": [...]}``, per stream)
follows every ``state_every`` records, but only where the cursor value changes, so the rows that
share a value are never split by a checkpoint and ``>`` loses none of them; at the end of each
stream a last STATE is emitted. An update is picked up only if it raises the cursor (e.g. an
``updated_at`` set by a trigger); deletes are never seen. Rows whose cursor is NULL come first on
a sync without state and never again. STREAM, GLOBAL and LEGACY state are accepted; a state saved
for another cursor column is ignored (with a warning) and the stream is read from the start.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from airpipe.connectors import pg
from airpipe.connectors.entrypoint import ConfigError, Source, main
from airpipe.protocol import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteLogMessage,
    AirbyteMessage,
    AirbyteStateMessage,
    AirbyteStateType,
    AirbyteStreamState,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    ConnectorSpecification,
    Level,
    MessageType,
    Status,
    StreamDescriptor,
    SyncMode,
    encode,
)
from airpipe.sources import postgres_rows
from airpipe.sources.postgres_catalog import CURSOR_TYPES, Column, Table, list_tables

SPEC = ConnectorSpecification(
    documentation_url="https://docs.airbyte.com/integrations/sources/postgres",
    supports_incremental=True,
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Postgres Source Spec",
        "type": "object",
        "required": ["host", "database", "username"],
        "properties": pg.connection_properties(
            schemas={
                "title": "Schemas",
                "description": "The schemas whose tables and views are streams.",
                "type": "array",
                "items": {"type": "string"},
                "minItems": 1,
                "uniqueItems": True,
                "default": ["public"],
                "order": 3,
            },
            state_every={
                "title": "State every",
                "description": "In an incremental read, emit a STATE checkpoint after about this many records "
                "(at the next change of the cursor value).",
                "type": "integer",
                "minimum": 1,
                "default": 10000,
                "order": 7,
            },
        ),
    },
)


# CONNECTING


def connect(config: Mapping[str, Any]) -> Any:
    """A connection for the config, in UTC with ISO dates; ConfigError if there is none."""
    conn = pg.connect(config, application_name="airpipe-source-postgres")
    conn.autocommit = True
    with conn.cursor() as cursor:
        # Values are rendered by the server: fix what their text depends on.
        cursor.execute("SET client_encoding = 'UTF8'; SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET extra_float_digits = 3")
    return conn


# READING


def read_incremental(
    conn: Any, table: Table, columns: list[str], cursor_column: Column, after: str | None, state_every: int
) -> Iterator[AirbyteMessage | bytes]:
    """Rows with a cursor above ``after``, in cursor order; a STATE after about every ``state_every``
    rows where the cursor value changes, and at the end."""
    prefix = postgres_rows.prefix(table)
    cursor_field = [cursor_column.name]
    checkpoints = Checkpoints(state_every)
    for batch in postgres_rows.batches(conn, postgres_rows.incremental_query(conn, table, columns, cursor_column, after)):
        suffix = postgres_rows.suffix()
        for item in checkpoints.split(batch):
            if isinstance(item, list):
                yield postgres_rows.records(prefix, suffix, item)
            else:
                yield stream_state(table, {"cursor": item.decode(), "cursor_field": cursor_field})
    if checkpoints.nulls:
        where = f"{table.schema}.{table.name}"
        yield log(f"{where}: {checkpoints.nulls} rows have a NULL {cursor_column.name}; later syncs skip such rows", Level.WARN)
    cursor = checkpoints.last.decode() if checkpoints.last is not None else after
    yield stream_state(table, {"cursor": cursor, "cursor_field": cursor_field} if cursor is not None else {"cursor_field": cursor_field})


class Checkpoints:
    """Where the checkpoints go in a stream of ``(cursor, json)`` rows in cursor order, NULLs first.

    ``split`` takes the rows a batch at a time and yields runs of their JSON (lists of bytes) with,
    between them, the cursor of each checkpoint (bytes): one is due after ``state_every`` rows and
    comes after the last row of the cursor value it is due in, even when that value goes on in the
    next batch. Rows with a NULL cursor never end in a checkpoint.
    """

    def __init__(self, state_every: int) -> None:
        self.state_every = state_every
        self.last: bytes | None = None  # the cursor of the last row sent
        self.since = 0  # rows sent since the last checkpoint
        self.nulls = 0

    def split(self, rows: list[tuple[bytes | None, bytes]]) -> Iterator[list[bytes] | bytes]:
        i, n = 0, len(rows)
        if self.last is None:
            while i < n and rows[i][0] is None:
                i += 1
            if i:
                self.nulls += i
                self.since += i
                yield [row[1] for row in rows[:i]]
        while i < n:
            if self.since >= self.state_every and self.last is not None:
                j = i  # a checkpoint is due: the rest of the current value goes first
                while j < n and rows[j][0] == self.last:
                    j += 1
                if j > i:
                    self.since += j - i
                    yield [row[1] for row in rows[i:j]]
                if j == n:
                    return  # the value may go on in the next batch
                yield self.last
                self.since, i = 0, j
                continue
            j = min(n, i + max(1, self.state_every - self.since))
            self.since += j - i
            self.last = rows[j - 1][0]
            yield [row[1] for row in rows[i:j]]
            i = j


def stream_state(table: Table, blob: dict[str, Any]) -> AirbyteMessage:
    return AirbyteMessage(
        type=MessageType.STATE,
        state=AirbyteStateMessage(
            type=AirbyteStateType.STREAM,
            stream=AirbyteStreamState(stream_descriptor=StreamDescriptor(name=table.name, namespace=table.schema), stream_state=blob),
        ),
    )


def log(message: str, level: Level = Level.INFO) -> AirbyteMessage:
    return AirbyteMessage(type=MessageType.LOG, log=AirbyteLogMessage(level=level, message=message))


def states_by_stream(state: list[AirbyteStateMessage]) -> dict[tuple[str, str | None], dict[str, Any]]:
    """Each stream's state blob from STREAM, GLOBAL or LEGACY messages, by (name, namespace).

    A LEGACY blob is Airbyte's Postgres source's ``{"streams": [{"stream_name", "stream_namespace",
    "cursor_field", "cursor"}]}``, or ``{stream name: blob}``."""
    found: dict[tuple[str, str | None], dict[str, Any]] = {}
    for message in state:
        streams = [message.stream] if message.stream is not None else message.global_.stream_states if message.global_ else []
        for s in streams:
            if isinstance(s.stream_state, dict):
                found[(s.stream_descriptor.name, s.stream_descriptor.namespace)] = s.stream_state
        data = message.data if message.stream is None and message.global_ is None else None
        if isinstance(data, dict) and isinstance(data.get("streams"), list):
            for blob in data["streams"]:
                if isinstance(blob, dict) and isinstance(blob.get("stream_name"), str):
                    found[(blob["stream_name"], blob.get("stream_namespace"))] = blob
        elif isinstance(data, dict):
            found.update({(name, None): blob for name, blob in data.items() if isinstance(blob, dict)})
    return found


def saved_cursor(
    blobs: dict[tuple[str, str | None], dict[str, Any]], table: Table, cursor_field: list[str]
) -> tuple[str | None, str | None]:
    """(cursor value to resume after, or None; a warning, or None)."""
    blob = blobs.get((table.name, table.schema)) or blobs.get((table.name, None))
    if not blob or blob.get("cursor") is None:
        return None, None
    saved_field = blob.get("cursor_field")
    if saved_field and list(saved_field) != cursor_field:
        return None, f"{table.schema}.{table.name}: the state is for cursor {saved_field}, not {cursor_field}; reading from the start"
    value = blob["cursor"]
    return (value if isinstance(value, str) else encode(value).decode()), None


def _cursor_column(table: Table, configured: ConfiguredAirbyteStream) -> Column:
    where = f"{table.schema}.{table.name}"
    candidates = ", ".join(table.cursor_candidates()) or "none"
    field = configured.cursor_field or []
    if len(field) != 1:
        raise ConfigError(f"{where} is incremental: set its cursor_field to one column of an orderable type ({candidates})")
    column = table.columns.get(field[0])
    if column is None or column.typname not in CURSOR_TYPES:
        reason = "is not a column" if column is None else f"is of type {column.sql_type}, which cannot be a cursor"
        raise ConfigError(f"{where}: the cursor field {field[0]!r} {reason}; choose one of: {candidates}")
    return column


def _check_cursor(conn: Any, column: Column, value: str) -> None:
    """ConfigError unless the saved ``value`` reads as a value of the cursor column's type."""
    import psycopg2
    from psycopg2 import sql

    try:
        with conn.cursor() as cursor:
            cursor.execute(sql.SQL("SELECT CAST(%s AS {})").format(sql.SQL(column.sql_type)), (value,))
    except psycopg2.DataError as exc:
        conn.rollback()
        message = str(exc).strip().splitlines()[0]
        raise ConfigError(
            f"the state's cursor {value!r} is not of type {column.sql_type} ({message}); reset the connection's state"
        ) from None


def _selected_columns(table: Table, configured: ConfiguredAirbyteStream, cursor: Column | None) -> list[str]:
    """The configured stream's properties that the table still has (all columns if it lists none)."""
    wanted = (configured.stream.json_schema or {}).get("properties") or {}
    columns = [name for name in table.columns if name in wanted] or list(table.columns)
    if cursor is not None and cursor.name not in columns:
        columns.append(cursor.name)
    return columns


class Postgres(Source):
    def spec(self) -> ConnectorSpecification:
        return SPEC

    def check(self, config: dict[str, Any]) -> AirbyteConnectionStatus:
        conn = connect(config)
        try:
            schemas = config.get("schemas") or ["public"]
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s) AND has_schema_privilege(oid, 'USAGE')", (schemas,)
                )
                usable = {row[0] for row in cursor}
            missing = [s for s in schemas if s not in usable]
            if missing:
                message = f"schema(s) {', '.join(missing)} not found in database {config['database']} (or no USAGE privilege)"
                return AirbyteConnectionStatus(status=Status.FAILED, message=message)
            return AirbyteConnectionStatus(status=Status.SUCCEEDED)
        finally:
            conn.close()

    def discover(self, config: dict[str, Any]) -> AirbyteCatalog:
        conn = connect(config)
        try:
            tables = list_tables(conn, config.get("schemas") or ["public"])
        finally:
            conn.close()
        return AirbyteCatalog(streams=[table.stream() for table in tables.values()])

    def read(
        self, config: dict[str, Any], catalog: ConfiguredAirbyteCatalog, state: list[AirbyteStateMessage]
    ) -> Iterator[AirbyteMessage | bytes]:
        state_every = int(config.get("state_every", 10000))
        blobs = states_by_stream(state)
        conn = connect(config)
        try:
            for configured in catalog.streams:
                yield from self._read_stream(conn, configured, blobs, state_every)
        finally:
            conn.close()

    def _read_stream(
        self, conn: Any, configured: ConfiguredAirbyteStream, blobs: dict[tuple[str, str | None], dict[str, Any]], state_every: int
    ) -> Iterator[AirbyteMessage | bytes]:
        stream = configured.stream
        schema = stream.namespace or "public"
        table = list_tables(conn, [schema], stream.name).get((schema, stream.name))
        if table is None:
            raise ConfigError(f"table {schema}.{stream.name} does not exist or cannot be read; discover the schema again")
        incremental = configured.sync_mode is SyncMode.incremental
        cursor = _cursor_column(table, configured) if incremental else None
        columns = _selected_columns(table, configured, cursor)
        conn.autocommit = False
        conn.set_session(isolation_level="REPEATABLE READ", readonly=True)
        try:
            if cursor is None:
                yield log(f"{schema}.{stream.name}: full refresh of {len(columns)} columns")
                yield from postgres_rows.read_full(conn, table, columns)
            else:
                after, warning = saved_cursor(blobs, table, [cursor.name])
                if warning:
                    yield log(warning, Level.WARN)
                if after is not None:
                    _check_cursor(conn, cursor, after)
                yield log(f"{schema}.{stream.name}: incremental by {cursor.name}" + (f" after {after}" if after is not None else ""))
                yield from read_incremental(conn, table, columns, cursor, after, state_every)
        finally:
            conn.rollback()  # read only: nothing to commit
            conn.autocommit = True


if __name__ == "__main__":
    main(Postgres())
