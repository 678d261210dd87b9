"""What the SQL destinations share: records as rows of values in column order.

A value that does not fit its column (``airpipe.destinations.loading.sql``) is stored as NULL and noted in
``_airbyte_meta`` as Airbyte notes it, ``{"field": "age", "change": "NULLED", "reason":
"DESTINATION_TYPECAST_ERROR"}``; never fatal. A string column takes any value (a non-string is
stored as its JSON text, as Airbyte does); an integer column takes integers of 64 bits and integral
floats (``2.0``); a number column integers and floats; a boolean column booleans; a date or
timestamp column ISO 8601 strings; an object column only objects, an array column only arrays.
NUL characters, which PostgreSQL cannot store, are removed from strings and noted as ``{"change":
"TRUNCATED", "reason": "DESTINATION_SERIALIZATION_ERROR"}``. Changes a source reported in the
record's ``meta`` come first.

Each record is decoded once, by a msgspec decoder made for its stream's columns, which checks the
types as it decodes. Only a record it rejects is decoded again, generically, and converted value by
value (``RowCodec.convert``): the slow path is taken by bad records only.

The same decoding is done a block of lines at a time (``RowCodec.bulk``, for
``airpipe.destinations.loading.batching``), and the rows of a run of records made at once: see
``airpipe.destinations.loading.bulk_rows``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import date, datetime, timezone
from itertools import chain, count
from typing import Annotated, Any

import msgspec
from msgspec.structs import astuple

from airpipe.destinations.loading.bulk_rows import RAW_ID_FIELD, BulkRows, message_type
from airpipe.destinations.loading.in_c import set_each
from airpipe.destinations.loading.sql import DATA, INT64_MAX, INT64_MIN, JSON_KINDS, Column, Kind

_encode = msgspec.json.encode
_decode = msgspec.json.decode
#: what msgspec does not allow in a field's name
_UNNAMEABLE = re.compile(r'[\\"\x00-\x1f]')


class RawIds:
    """The ``_airbyte_raw_id``s of a write, in order: version-4 UUIDs whose first 74 bits are random
    per write and whose last 48 count rows (as Local JSON's ids), so ids are unique, and the later of
    two rows of a write has the greater id (dedup takes the latest by it).

    ``next()`` gives the next one: the bulk path's decoder takes one for each row it decodes (see
    ``airpipe.destinations.loading.bulk_rows``). A row added alone takes one with ``take()``; a row decoded
    before it then comes after it, and gets a new id from ``keep_order``. The ids are made in C a
    4096 at a time, from a shared prefix and their last three digits (formatting each cost more
    than anything else the bulk path does per row); as strings of one length, they sort as they
    count.
    """

    def __init__(self) -> None:
        self.prefix = _random_uuid_prefix()  # what every id of the write begins with
        self.next: Callable[[], str] = chain.from_iterable(map(self._thousands, count())).__next__
        self._last = ""  # the last id taken by a row added alone

    def _thousands(self, high: int) -> Iterator[str]:
        return map(f"{self.prefix}{high:09x}".__add__, _LAST_DIGITS)

    def take(self) -> str:
        self._last = self.next()
        return self._last

    def keep_order(self, rows: list[Any]) -> None:
        """Rows decoded at once (with ids in order) get new ones if a row was added alone since."""
        if rows and getattr(rows[0], RAW_ID_FIELD) < self._last:
            set_each(rows, RAW_ID_FIELD, iter(self.next, None))
            self._last = getattr(rows[-1], RAW_ID_FIELD)


def _random_uuid_prefix() -> str:
    raw = bytearray(os.urandom(10))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-"


_LAST_DIGITS = [f"{i:03x}" for i in range(4096)]


class ExtractedAt:
    """``_airbyte_extracted_at`` of records emitted at ``emitted_at`` (epoch milliseconds; now if
    none), in ISO 8601: ``2023-11-14T22:13:20.123Z``. The date and time of day are formatted once
    a second: records often come a few per millisecond, each with its own ``emitted_at``."""

    def __init__(self) -> None:
        self._second: int | None = None
        self._prefix = ""

    def __call__(self, emitted_at: int | float | None) -> str:
        milliseconds = emitted_at if emitted_at is not None else time.time() * 1000
        try:
            second, millisecond = divmod(int(milliseconds), 1000)
            if second != self._second:
                self._prefix = datetime.fromtimestamp(second, timezone.utc).isoformat()[:19]
                self._second = second
        except (OverflowError, OSError, ValueError):  # not a time: now
            return self(None)
        return f"{self._prefix}.{millisecond:03d}Z"


# CHANGES


class Mismatch(Exception):
    """A value does not fit its column."""


def nulled(column: Column) -> dict[str, str]:
    return {"field": column.field or DATA, "change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"}


def truncated(column: Column) -> dict[str, str]:
    return {"field": column.field or DATA, "change": "TRUNCATED", "reason": "DESTINATION_SERIALIZATION_ERROR"}


def source_changes(meta: Any) -> list[Any] | None:
    """The changes a source reported in a record's ``meta`` (they go first in ``_airbyte_meta``)."""
    changes = meta.get("changes") if isinstance(meta, dict) else None
    return list(changes) if isinstance(changes, list) and changes else None


def meta_json(changes: list[Any] | None) -> str:
    return _encode({"changes": changes or []}).decode()


_Int64 = Annotated[int, msgspec.Meta(ge=INT64_MIN, le=INT64_MAX)]

#: the type each kind is decoded as on the fast path; JSON kinds stay raw (checked in _json_values)
_FAST_TYPES: dict[Kind, Any] = {
    Kind.STRING: str | None,
    Kind.TIMESTAMP: datetime | None,
    Kind.DATE: date | None,
    Kind.INTEGER: _Int64 | None,
    Kind.NUMBER: _Int64 | float | None,
    Kind.BOOLEAN: bool | None,
    Kind.OTHER: None,
}
_FIRST_BYTE = {Kind.OBJECT: b"{", Kind.ARRAY: b"[", Kind.JSON: None}
_NULL = msgspec.Raw(b"null")


class RowCodec:
    """Decodes one stream's records into rows: values in column order, each ``str``, ``int``,
    ``float``, ``bool``, ``datetime``, ``date`` or None; JSON kinds as their JSON text.

    ``decode_message(line)`` decodes a whole message line with the record's data checked against
    the columns (raising msgspec.ValidationError when any value does not fit); ``values(data)``
    then gives the row (raising Mismatch for a JSON value of the wrong shape). ``convert(data)``
    is the slow path for generically decoded data: a row and the changes it needed.
    ``big_numbers=False`` turns numbers beyond 64 bits into floats (for SQLite); ``raw_ids`` are
    the table's, for the rows of the bulk path.

    ``bulk`` is the bulk path (``airpipe.destinations.loading.bulk_rows``), or None if this stream's
    records take the per-line path.
    """

    def __init__(self, columns: Sequence[Column], *, big_numbers: bool = True, raw_ids: RawIds | None = None) -> None:
        self.columns = list(columns)
        self.big_numbers = big_numbers
        self._json = [(i, _FIRST_BYTE[c.kind]) for i, c in enumerate(self.columns) if c.kind in JSON_KINDS]
        #: the row of a decoded record's data (called per record: a C function where it can be)
        self.values: Callable[[Any], Sequence[Any]]
        whole = bool(self.columns) and self.columns[0].field is None
        fields: list[tuple[str, Any, Any]] = []
        unnameable = False
        if whole:
            data_type: Any = msgspec.Raw
            self.values = self._whole
        elif unnameable := any(_UNNAMEABLE.search(c.field or "") for c in self.columns):
            data_type = msgspec.Raw  # msgspec cannot name such a field: decoded generically
            self.values = self._converted
        else:
            for i, column in enumerate(self.columns):
                kind_type = _FAST_TYPES.get(column.kind, msgspec.Raw)
                fields.append((f"f{i}", kind_type, _NULL if kind_type is msgspec.Raw else None))
            data_type = msgspec.defstruct("Row", fields, rename={f"f{i}": c.field or c.name for i, c in enumerate(self.columns)}, gc=False)
            self.values = self._with_json if self._json else astuple
        # gc=False: the Structs hold decoded values only, and tracking them made decoding slower
        self.decode_message = msgspec.json.Decoder(message_type(data_type, gc=False)).decode
        raw_ids = raw_ids or RawIds()
        self.bulk = None if unnameable else BulkRows(self.columns, msgspec.Raw if whole else fields, raw_ids.next)

    def _whole(self, data: msgspec.Raw) -> list[Any]:
        return _json_values((data,), self._json)

    def _with_json(self, data: Any) -> list[Any]:
        return _json_values(astuple(data), self._json)

    def _converted(self, data: msgspec.Raw) -> list[Any]:
        values, changes = self.convert(_decode(data))
        if changes:
            raise Mismatch  # the slow path does it again, and notes the changes
        return values

    def convert(self, data: Any) -> tuple[list[Any], list[dict[str, str]]]:
        if not isinstance(data, dict):
            data = {}
        values: list[Any] = []
        changes: list[dict[str, str]] = []
        for column in self.columns:
            value = data.get(column.field) if column.field is not None else data
            if value is None:
                values.append(None)
                continue
            try:
                value, cut = _CONVERT[column.kind](value)
            except Mismatch:
                value, cut = None, False
                changes.append(nulled(column))
            if cut:
                changes.append(truncated(column))
            if not self.big_numbers and type(value) is int and not INT64_MIN <= value <= INT64_MAX:
                value = float(value)
            values.append(value)
        return values, changes


def _json_values(values: Sequence[Any], json_columns: list[tuple[int, bytes | None]]) -> list[Any]:
    row = list(values)
    for i, first in json_columns:
        text = bytes(row[i])
        if text == b"null":
            row[i] = None
        elif first is not None and text[:1] != first:
            raise Mismatch
        else:
            row[i] = text.decode()
    return row


# SLOW PATH: one value at a time; each returns (value, whether NULs were cut out)


def _string(value: Any) -> tuple[str, bool]:
    if not isinstance(value, str):
        return _encode(value).decode(), False  # a NUL in JSON text is the escape \u0000: storable
    if "\x00" in value:
        return value.replace("\x00", ""), True
    return value, False


def _integer(value: Any) -> tuple[int, bool]:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if type(value) is int and INT64_MIN <= value <= INT64_MAX:
        return value, False
    raise Mismatch


def _number(value: Any) -> tuple[int | float, bool]:
    if type(value) in (int, float):
        return value, False
    raise Mismatch


def _boolean(value: Any) -> tuple[bool, bool]:
    if isinstance(value, bool):
        return value, False
    raise Mismatch


def _timestamp(value: Any) -> tuple[datetime, bool]:
    if isinstance(value, str):
        try:
            return msgspec.convert(value, datetime), False
        except msgspec.ValidationError:
            pass
        try:
            return datetime.fromisoformat(value), False  # 3.11 reads most of ISO 8601
        except ValueError:
            pass
    raise Mismatch


def _date(value: Any) -> tuple[date, bool]:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value), False
        except ValueError:
            pass
    raise Mismatch


def _json_text(value: Any) -> tuple[str, bool]:
    text = _encode(value).decode()
    if "\\u0000" not in text:
        return text, False
    return _encode(_without_nuls(value)).decode(), True


def _without_nuls(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [_without_nuls(v) for v in value]
    if isinstance(value, dict):
        return {k.replace("\x00", ""): _without_nuls(v) for k, v in value.items()}
    return value


def _shaped(shape: type) -> Callable[[Any], tuple[str, bool]]:
    def convert(value: Any) -> tuple[str, bool]:
        if isinstance(value, shape):
            return _json_text(value)
        raise Mismatch

    return convert


def _other(value: Any) -> tuple[Any, bool]:
    raise Mismatch


_CONVERT: dict[Kind, Callable[[Any], tuple[Any, bool]]] = {
    Kind.STRING: _string,
    Kind.TIMESTAMP: _timestamp,
    Kind.DATE: _date,
    Kind.INTEGER: _integer,
    Kind.NUMBER: _number,
    Kind.BOOLEAN: _boolean,
    Kind.OBJECT: _shaped(dict),
    Kind.ARRAY: _shaped(list),
    Kind.JSON: _json_text,
    Kind.OTHER: _other,
}
