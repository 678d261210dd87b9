"""PostgreSQL's side of loading: a stream's rows buffered as COPY CSV, and batches COPYed and committed.

Each row is encoded as a JSON array with msgspec, which is a CSV line once its brackets are
stripped, when the CSV escape character is the backslash and NULL is ``null``: ``raw_id,<values>,
"extracted_at"``, and ``raw_id,"meta",<values>,"extracted_at"`` for rows with changes (a row without
leaves ``_airbyte_meta`` to the column's default, ``{"changes": []}``, so COPY parses no JSON for it).

A table that only this write COPYs into (the overwrite staging table, the append_dedup batch's
temporary table) gets most rows without ``"extracted_at"`` too: parsing it was an eighth of the
server's COPY work. Records come in runs emitted at one time (a source stamps a chunk at once), and
the rows of a run from where it is ``MIN_RUN`` rows long (and any row of the time of the segment
being filled) go in a segment of lines without it, COPYed after ``ALTER TABLE ... ALTER COLUMN
_airbyte_extracted_at SET DEFAULT '<their time>'`` in the batch's transaction (unless the default
is that time already). So a table's rows are a list of segments: of one time, or of lines that
carry theirs. Rows with changes, and rows without an emitted_at (now), always carry it. The default
is dropped before the staging table is swapped in. The user's table (append) takes no ALTER, which
would lock it: its rows all carry their time.

The few JSON escapes that CSV does not read, control characters, are replaced in a batch before it
is sent, if a row of it may hold one (``_csv``).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import msgspec
import psycopg2
from psycopg2 import sql

from airpipe.destinations.loading.bulk_rows import EXTRACTED_AT_FIELD
from airpipe.destinations.loading.in_c import COMMA, NEWLINE, at_least, changes_at, set_each
from airpipe.destinations.loading.rows import ExtractedAt, RawIds, meta_json
from airpipe.destinations.loading.sql import EXTRACTED_AT, META, RAW_ID, Column, StreamSpec
from airpipe.protocol import DestinationSyncMode

_COPY_OPTIONS = sql.SQL("(FORMAT csv, ESCAPE '\\', NULL 'null')")
_COPY_CHUNK = 1 << 20
_SET_DEFAULT = sql.SQL("ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {}")
_encode, _encode_into = msgspec.json.encode, msgspec.json.Encoder().encode_into
#: rows of a run emitted at one time go without their extracted at once the run is this long: a
#: segment costs an ALTER TABLE and a COPY (about 0.3 ms of the server's time), a timestamp parsed
#: about 1.5 µs
MIN_RUN = 512


class PgTable:
    """A stream's rows as COPY CSV lines: ``raw_id,<the values as a JSON array without brackets>,"extracted_at"``,
    in ``segments``, each ``(omitted, lines)``: ``omitted`` None for lines as above, else the
    ``"extracted_at"\\n`` their lines all leave out (the column's default while they load). A line's
    ``tail`` is what ends it: its extracted at and newline, or a newline alone where it is omitted.
    Rows with changes in ``changed``, with ``"meta",`` after the raw id."""

    def __init__(self, spec: StreamSpec, schema: str, name: str) -> None:
        self.spec = spec
        self.target = sql.Identifier(schema, name)
        self.staging: sql.Identifier | None = None  # overwrite: the staging table; append_dedup: the batch's temporary table
        self.merge: sql.Composed | None = None
        self.segments: list[tuple[bytes | None, bytearray]] = [(None, bytearray())]  # the last one is added to
        self.changed = bytearray()
        self.raw_ids = RawIds()
        self.default: bytes | None = None  # the omitted extracted at the column now defaults to (see load)
        self._extracted_at = ExtractedAt()
        self._emitted_at: Any = None
        self._tail = b""  # the end of a line for rows emitted at _emitted_at: the extracted at
        self._run: tuple[Any, int] = (None, 0)  # the emitted at of the last rows added (to segments), and how many in a row
        self._controls = False  # whether the rows buffered may hold control characters (see _csv)

    def set_columns(self, columns: list[Column]) -> None:
        copy = sql.SQL("COPY {} ({}) FROM STDIN WITH {}")
        into = self.staging or self.target
        names = [sql.Identifier(n) for n in (RAW_ID, META, *(c.name for c in columns), EXTRACTED_AT)]
        self.copy = copy.format(into, sql.SQL(", ").join(names[:1] + names[2:]), _COPY_OPTIONS)
        self.copy_changed = copy.format(into, sql.SQL(", ").join(names), _COPY_OPTIONS)
        self.copy_filled = copy.format(into, sql.SQL(", ").join(names[:1] + names[2:-1]), _COPY_OPTIONS)

    @property
    def private(self) -> bool:
        """Whether only this write COPYs into the table (a staging or batch table): its default may change."""
        return self.staging is not None

    def add(self, values: Sequence[Any], emitted_at: int | float | None, changes: list[Any] | None) -> None:
        self._controls = True  # not looked for row by row, which costs more than _csv's look at the batch
        if changes is None:
            tail, buffer = self._segment(emitted_at, 1)
            buffer += self.raw_ids.take().encode()
            buffer += b","
        else:
            tail = self._tail_of(emitted_at)
            buffer = self.changed
            buffer += self.raw_ids.take().encode()
            buffer += b"," + _encode(meta_json(changes)) + b","
        # the values as a JSON array, its "[" written over the "," before it, its "]" made a "," (a
        # newline if the segment leaves the extracted at out)
        position = len(buffer) - 1
        _encode_into(values, buffer, position)
        buffer[position] = COMMA
        if tail is None:
            buffer[-1] = NEWLINE
        else:
            buffer[-1] = COMMA
            buffer += tail

    def add_rows(self, rows: list[Any], emitted_ats: list[int | float | None], controls: bool) -> None:
        """``add`` for rows without changes, from ``BulkRows.ready``: each is encoded as a JSON array
        whose brackets are stripped (no value begins or ends with one: the first is the raw id, a
        string, and JSON values are strings too). Their extracted at is left ``NOTHING`` (so a row
        ends with the comma before it): in a run of rows emitted at one time it is put between
        them by the join (or left out, with that comma), else set per row first."""
        self.raw_ids.keep_order(rows)
        self._controls = self._controls or controls
        first, n = emitted_ats[0], len(emitted_ats)
        if emitted_ats.count(first) == n:
            self._add_run(rows, first)
            return
        if not self.private:
            self._add_each(rows, emitted_ats)
            return
        # runs: the first and the last may go on in the rows added before and after; the others
        # leave the extracted at out only if long enough themselves (a Python loop over those only)
        starts = [0, *changes_at(emitted_ats)]
        ends = [*starts[1:], n]
        self._add_run(rows[: ends[0]], first)
        position = ends[0]
        for start, end in at_least(starts[1:-1], ends[1:-1], MIN_RUN):
            self._add_each(rows[position:start], emitted_ats[position:start])
            self._add_run(rows[start:end], emitted_ats[start])
            position = end
        self._add_each(rows[position : starts[-1]], emitted_ats[position : starts[-1]])
        self._add_run(rows[starts[-1] :], emitted_ats[-1])

    def _add_run(self, rows: list[Any], emitted_at: int | float | None) -> None:
        tail, lines = self._segment(emitted_at, len(rows))
        if tail is None:  # the segment leaves it out: and the comma before it
            self._join(lines, rows, b"\n", b",]")
        else:
            self._join(lines, rows, tail, b"]")

    def _add_each(self, rows: list[Any], emitted_ats: list[int | float | None]) -> None:
        """Rows with their extracted at each, in the segment that has it: records come a few per
        millisecond, so rows of a run have few times."""
        if not rows:
            return
        known = {e: msgspec.Raw(self._make_tail(e)[:-1]) for e in set(emitted_ats)}
        set_each(rows, EXTRACTED_AT_FIELD, map(known.__getitem__, emitted_ats))
        self._join(self._lines(None), rows, b"\n", b"]")
        self._run = (emitted_ats[-1], 0)  # not counted: the rows added next are of another run (or few)

    def _join(self, lines: bytearray, rows: list[Any], tail: bytes, end: bytes) -> None:
        """Add the rows to ``lines``, each ending with ``tail`` instead of ``end`` (``]``, or ``,]``
        to drop the comma before an extracted at left ``NOTHING``).

        One msgspec call encodes them all, as an array of arrays, cut apart where a row ends and
        the next begins with a raw id: ``],["<the write's raw id prefix>`` is nothing else (a raw
        ``"`` only opens or closes a string, and one that closes a string is followed by ``,`` or
        ``]``), and should it be found a wrong number of times the rows are encoded one by one
        instead. Per row, encoding and stripping each cost more than the whole array's encoding."""
        first = b'"' + self.raw_ids.prefix.encode()
        whole = _encode(rows)  # [[row],[row]]
        cut = end + b",[" + first
        if whole.count(cut) == len(rows) - 1:
            lines += memoryview(whole.replace(cut, tail + first))[2 : -len(end) - 1]
        else:
            lines += tail.join(map(bytes.strip, map(_encode, rows), repeat(b"[" + end)))
        lines += tail

    def _segment(self, emitted_at: int | float | None, rows: int) -> tuple[bytes | None, bytearray]:
        """For ``rows`` more rows emitted at ``emitted_at``: the end of their lines (None: a newline,
        the segment leaves their extracted at out) and the lines of the segment they go in. They go
        without it if their time is that of the open segment, or if their run (the rows emitted at
        that time added last, one after the other) is ``MIN_RUN`` rows long with them."""
        tail = self._tail_of(emitted_at)
        run_at, run = self._run
        run = run + rows if emitted_at == run_at else rows
        self._run = (emitted_at, run)
        if self.private and emitted_at is not None and (run >= MIN_RUN or self.segments[-1][0] == tail):
            return None, self._lines(tail)
        return tail, self._lines(None)

    def _lines(self, omitted: bytes | None) -> bytearray:
        """The lines of a segment that omits ``omitted`` (see ``segments``), the open one if it does."""
        open_omitted, lines = self.segments[-1]
        if open_omitted != omitted:
            if lines:
                self.segments.append((omitted, bytearray()))
            else:
                self.segments[-1] = (omitted, lines)
            lines = self.segments[-1][1]
        return lines

    def _tail_of(self, emitted_at: int | float | None) -> bytes:
        """``_make_tail``, remembered for the last time it was made for (records come in runs)."""
        return self._tail if emitted_at == self._emitted_at and emitted_at is not None else self._make_tail(emitted_at)

    def _make_tail(self, emitted_at: int | float | None) -> bytes:
        tail = b'"%s"\n' % self._extracted_at(emitted_at).encode()
        if emitted_at is not None:
            self._emitted_at, self._tail = emitted_at, tail
        return tail

    def take(self) -> tuple[list[tuple[bytes | None, bytearray]], bytearray, bool] | None:
        if not self.segments[-1][1] and len(self.segments) == 1 and not self.changed:
            return None
        rows = self.segments, self.changed, self._controls
        self.segments, self.changed, self._controls = [(None, bytearray())], bytearray(), False
        return rows

    def load(self, cursor: Any, rows: tuple[list[tuple[bytes | None, bytearray]], bytearray, bool]) -> None:
        segments, changed, controls = rows
        for omitted, lines in segments:
            if not lines:
                continue
            if omitted is not None and omitted != self.default:  # the default stays set across batches
                cursor.execute(_SET_DEFAULT.format(self.staging, sql.Identifier(EXTRACTED_AT), sql.Literal(omitted[1:-2].decode())))
                self.default = omitted
            cursor.copy_expert(self.copy if omitted is None else self.copy_filled, _file(lines, controls), size=_COPY_CHUNK)
        if changed:
            cursor.copy_expert(self.copy_changed, _file(changed, controls), size=_COPY_CHUNK)
        if self.merge is not None:
            cursor.execute(self.merge)  # the batch's table empties itself at commit


def _file(lines: bytearray, controls: bool) -> io.BytesIO:
    return io.BytesIO(_csv(lines) if controls else lines)


# JSON escapes that CSV does not read: control characters, which become themselves (inside quotes
# CSV takes any character as it is). Escaped backslashes are set aside first, as NULs (which rows
# never hold: rows.RowCodec removes them), so that one before an "n" is not read as a newline.
_SUSPECT = re.compile(rb"\\[bfnrtu]")
_CONTROLS = [(b"\\" + e, c) for e, c in ((b"n", b"\n"), (b"t", b"\t"), (b"r", b"\r"), (b"b", b"\b"), (b"f", b"\f"))]
_CODE = re.compile(rb"\\u([0-9a-fA-F]{4})")


def _csv(lines: bytearray) -> bytes | bytearray:
    if lines.find(b"\\") == -1 or not _SUSPECT.search(lines):
        return lines
    data: bytes | bytearray = lines.replace(b"\\\\", b"\0")
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

    def load(self, batch: list[tuple[PgTable, Any]]) -> None:
        try:
            with self.connection.cursor() as cursor:
                for table, rows in batch:
                    table.load(cursor, rows)
            self.connection.commit()
        except BaseException:
            for table, _ in batch:
                table.default = None  # not known: the transaction's ALTERs may be rolled back
            raise

    def finish(self) -> None:
        with self.connection.cursor() as cursor:
            for table in self.overwritten:
                cursor.execute(sql.SQL("ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT").format(table.staging, sql.Identifier(EXTRACTED_AT)))
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
