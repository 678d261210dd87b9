"""PostgreSQL's side of loading: a stream's rows buffered as COPY CSV, and batches COPYed and committed.

Each row is encoded as a JSON array with msgspec, which is a CSV line once its brackets are
stripped, when the CSV escape character is the backslash and NULL is ``null``: ``raw_id,<values>,
"extracted_at"``, and ``raw_id,"meta",<values>,"extracted_at"`` for rows with changes (a row without
leaves ``_airbyte_meta`` to the column's default, ``{"changes": []}``, so COPY parses no JSON for it).
The few JSON escapes that CSV does not read, control characters, are replaced in a batch before it
is sent, if a row of it may hold one (``_csv``).
"""

from __future__ import annotations

import io
import re
from collections import deque
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import msgspec
import psycopg2
from psycopg2 import sql

from airpipe.destinations.bulk_rows import EXTRACTED_AT_FIELD
from airpipe.destinations.rows import ExtractedAt, RawIds, meta_json
from airpipe.destinations.sql import EXTRACTED_AT, META, RAW_ID, Column, StreamSpec
from airpipe.protocol import DestinationSyncMode

_COPY_OPTIONS = sql.SQL("(FORMAT csv, ESCAPE '\\', NULL 'null')")
_COPY_CHUNK = 1 << 20
_encode, _encode_into = msgspec.json.encode, msgspec.json.Encoder().encode_into
_consume = deque(maxlen=0).extend


class PgTable:
    """A stream's rows as COPY CSV lines: ``raw_id,<the values as a JSON array without brackets>,"extracted_at"``;
    rows with changes in ``changed``, with ``"meta",`` after the raw id."""

    def __init__(self, spec: StreamSpec, schema: str, name: str) -> None:
        self.spec = spec
        self.target = sql.Identifier(schema, name)
        self.staging: sql.Identifier | None = None  # overwrite: the staging table; append_dedup: the batch's temporary table
        self.merge: sql.Composed | None = None
        self.buffer = bytearray()
        self.changed = bytearray()
        self.raw_ids = RawIds()
        self._extracted_at = ExtractedAt()
        self._emitted_at: Any = None
        self._tail = b""  # the end of a line for rows emitted at _emitted_at: the extracted at
        self._controls = False  # whether the rows buffered may hold control characters (see _csv)

    def set_columns(self, columns: list[Column]) -> None:
        copy = sql.SQL("COPY {} ({}) FROM STDIN WITH {}")
        names = [sql.Identifier(n) for n in (RAW_ID, META, *(c.name for c in columns), EXTRACTED_AT)]
        self.copy = copy.format(self.staging or self.target, sql.SQL(", ").join(names[:1] + names[2:]), _COPY_OPTIONS)
        self.copy_changed = copy.format(self.staging or self.target, sql.SQL(", ").join(names), _COPY_OPTIONS)

    def add(self, values: Sequence[Any], emitted_at: int | float | None, changes: list[Any] | None) -> None:
        self._controls = True  # not looked for row by row, which costs more than _csv's look at the batch
        buffer = self.buffer if changes is None else self.changed
        buffer += self.raw_ids.take().encode()
        buffer += b"," if changes is None else b"," + _encode(meta_json(changes)) + b","
        # the values as a JSON array, its "[" written over the "," before it, its "]" made a ","
        position = len(buffer) - 1
        _encode_into(values, buffer, position)
        buffer[position] = buffer[-1] = 44
        buffer += self._tail if emitted_at == self._emitted_at and emitted_at is not None else self._make_tail(emitted_at)

    def add_rows(self, rows: list[Any], emitted_ats: list[int | float | None], controls: bool) -> None:
        """``add`` for rows without changes, from ``BulkRows.ready``: each is encoded as a JSON array
        whose brackets are stripped (no value begins or ends with one: the first is the raw id, a
        string, and JSON values are strings too). When the rows were emitted at one time (as they
        mostly are) their extracted at is left ``NOTHING`` (so a row ends with the comma before it)
        and put between them by the join instead: one less value to encode per row."""
        self.raw_ids.keep_order(rows)
        self._controls = self._controls or controls
        if emitted_ats.count(emitted_ats[0]) == len(emitted_ats):
            tail = self._make_tail(emitted_ats[0])
        else:  # records come a few per millisecond: a run has few times
            known = {e: msgspec.Raw(self._make_tail(e)[:-1]) for e in set(emitted_ats)}
            _consume(map(setattr, rows, repeat(EXTRACTED_AT_FIELD), map(known.__getitem__, emitted_ats)))
            tail = b"\n"
        self.buffer += tail.join(map(bytes.strip, map(_encode, rows), repeat(b"[]")))
        self.buffer += tail

    def _make_tail(self, emitted_at: int | float | None) -> bytes:
        tail = b'"%s"\n' % self._extracted_at(emitted_at).encode()
        if emitted_at is not None:
            self._emitted_at, self._tail = emitted_at, tail
        return tail

    def take(self) -> tuple[bytearray, bytearray, bool] | None:
        if not self.buffer and not self.changed:
            return None
        rows = self.buffer, self.changed, self._controls
        self.buffer, self.changed, self._controls = bytearray(), bytearray(), False
        return rows

    def load(self, cursor: Any, rows: tuple[bytearray, bytearray, bool]) -> None:
        *buffers, controls = rows
        for copy, lines in zip((self.copy, self.copy_changed), buffers, strict=True):
            if lines:
                cursor.copy_expert(copy, io.BytesIO(_csv(lines) if controls else lines), size=_COPY_CHUNK)
        if self.merge is not None:
            cursor.execute(self.merge)  # the batch's table empties itself at commit


# JSON escapes that CSV does not read: control characters, which become themselves (inside quotes
# CSV takes any character as it is). Escaped backslashes are set aside first, as NULs (which rows
# never hold: rows.RowCodec removes them), so that one before an "n" is not read as a newline.
_SUSPECT = re.compile(rb"\\[bfnrtu]")
_CONTROLS = [(b"\\" + e, c) for e, c in ((b"n", b"\n"), (b"t", b"\t"), (b"r", b"\r"), (b"b", b"\b"), (b"f", b"\f"))]
_CODE = re.compile(rb"\\u([0-9a-fA-F]{4})")


def _csv(lines: bytearray) -> bytes | bytearray:
    if lines.find(b"\\") == -1 or not _SUSPECT.search(lines):
        return lines
    data = lines.replace(b"\\\\", b"\0")
    for escape, control in _CONTROLS:
        data = data.replace(escape, control)
    if b"\\u" in data:  # msgspec writes other control characters as \u00XX
        data = _CODE.sub(_character, data)
    return data.replace(b"\0", b"\\\\")


def _character(match: re.Match[bytes]) -> bytes:
    code = int(match.group(1), 16)
    return chr(code).encode("utf-8", "replace") if code else b""


class PgLoader:
    def __init__(self, connection: Any, tables: list[PgTable]) -> None:
        self.connection = connection
        self.overwritten = [t for t in tables if t.spec.mode is DestinationSyncMode.overwrite]

    def load(self, batch: list[tuple[PgTable, tuple[bytearray, bytearray, bool]]]) -> None:
        with self.connection.cursor() as cursor:
            for table, rows in batch:
                table.load(cursor, rows)
        self.connection.commit()

    def finish(self) -> None:
        with self.connection.cursor() as cursor:
            for table in self.overwritten:
                cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table.target))
                cursor.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(table.staging, sql.Identifier(table.target.strings[1])))
        self.connection.commit()

    def interrupt(self) -> None:
        self.connection.cancel()

    def abort(self) -> None:
        try:
            self.connection.rollback()
            with self.connection.cursor() as cursor:
                for table in self.overwritten:
                    cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table.staging))
            self.connection.commit()
        except psycopg2.Error:
            pass  # the next write drops what is left
