"""Rows of a whole run of records at once: the bulk path of ``airpipe.destinations.loading.rows``.

A block of message lines is decoded in one msgspec call (``BulkRows.block_decoder``) into Structs
whose record data is checked against the columns as ``RowCodec.decode_message`` checks it, and
``BulkRows.ready`` makes the data of a run of records rows for ``Table.add_rows``. Every loop over
the records runs in C (``map``): a Python call per record cost more than everything else a
destination does per record.

A row of the bulk path is a Struct: its raw id (``RAW_ID_FIELD``, taken from the table's
``RawIds`` as the row is decoded), its values in column order (JSON values as their text, None for
null), then its extracted at (``EXTRACTED_AT_FIELD``, which the table may leave ``NOTHING``). It
encodes as a JSON array.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from itertools import islice, repeat
from operator import attrgetter, itemgetter
from typing import Any, Literal

import msgspec

from airpipe.destinations.loading.in_c import first_false, set_each
from airpipe.destinations.loading.sql import JSON_KINDS, Column, Kind

RAW_ID_FIELD, EXTRACTED_AT_FIELD = "raw_id", "extracted_at"
#: msgspec encodes it as nothing at all (in an array, it leaves the comma before it)
NOTHING = msgspec.Raw(b"")
#: the first character of the JSON text an object or array column takes ("n": null)
_FIRSTS = {Kind.OBJECT: frozenset("{n"), Kind.ARRAY: frozenset("[n")}
_CONTROLS = tuple(map(chr, range(32)))  # the characters msgspec writes escaped, as \n or \u0001
#: runs an iterator to its end in C (the map()s that set attributes)


def message_type(data: Any, *, gc: bool, name: str | None = None, namespace: str | None = None) -> Any:
    """A message Struct whose record's data is ``data``: only what routing a record needs (a
    message with a record is taken for one, whatever its type, as the per-line path always did).
    With a ``name``, only records of that stream and ``namespace`` (None: without one) decode, and
    no string is made for their names or type."""
    fields: list[Any] = [("data", data), ("emitted_at", int | float | None, None), ("meta", Any, None)]
    if name is None:
        fields += [("stream", str), ("namespace", str | None, None)]
    else:
        fields += [("stream", Literal[name]), ("namespace", None, None) if namespace is None else ("namespace", Literal[namespace])]
    record = msgspec.defstruct("Record", fields, kw_only=True, gc=gc)
    return msgspec.defstruct("Message", [("type", str if name is None else _TYPE), ("record", record | None, None)], gc=gc)


#: the protocol's message types (a message of another takes the per-line path, which ignores it)
_TYPE = Literal["RECORD", "STATE", "LOG", "TRACE", "CONTROL", "SPEC", "CONNECTION_STATUS", "CATALOG"]


class BulkRows:
    """The bulk path for one stream's columns, given the typed fields of its data Struct (``f<i>``
    for column i, as ``RowCodec`` makes them) or ``msgspec.Raw`` for a whole record in one column.

    The Structs are not tracked by the garbage collector (``gc=False``: they hold only decoded
    values, never themselves), which makes decoding a block several times cheaper. A record's data
    is decoded as an object into a Struct that has the fields of a row and the layout of an
    ``array_like`` twin, to which ``ready`` switches each row's class: msgspec then encodes the row
    as the array of its values, and no tuple or list is made per row.
    """

    def __init__(
        self, columns: Sequence[Column], fields: list[tuple[str, Any, Any]] | type[msgspec.Raw], raw_id: Callable[[], str]
    ) -> None:
        # no record has a value of this type under these two's keys: one that has the keys takes the per-line path
        unlikely = Literal[os.urandom(16).hex()]  # type: ignore[valid-type]  # a literal made at run time, for msgspec
        first, last = (RAW_ID_FIELD, unlikely, msgspec.field(default_factory=raw_id)), (EXTRACTED_AT_FIELD, unlikely, NOTHING)
        self._raw_id = raw_id
        self._whole = fields is msgspec.Raw
        if isinstance(fields, list):
            rename = {f"f{i}": c.field for i, c in enumerate(columns) if c.field is not None}
            taken = set(rename.values())
            for field in (RAW_ID_FIELD, EXTRACTED_AT_FIELD):
                key = f"_airpipe_{field}"
                while key in taken:
                    key += "_"
                rename[field] = key
            self._data: Any = msgspec.defstruct("Row", [first, *fields, last], rename=rename, gc=False)
            self._array = msgspec.defstruct("Values", [(f, Any) for f in self._data.__struct_fields__], array_like=True, gc=False)
        else:
            self._data = msgspec.Raw
            self._array = msgspec.defstruct("Values", [(RAW_ID_FIELD, Any), ("f0", Any), last], array_like=True, gc=False)
        self._json = [(f"f{i}", attrgetter(f"f{i}"), _FIRSTS.get(c.kind)) for i, c in enumerate(columns) if c.kind in JSON_KINDS]
        self._strings = [attrgetter(f"f{i}") for i, c in enumerate(columns) if c.kind is Kind.STRING]
        self._decoders: dict[tuple[str | None, str], Callable[[Any], list[Any]]] = {}

    def block_decoder(self, namespace: str | None, name: str) -> Callable[[Any], list[Any]]:
        """``decode_lines`` for message lines whose records are of stream ``name`` in ``namespace``
        (as they name it): others, and records with a value that does not fit, fail it."""
        decode = self._decoders.get((namespace, name))
        if decode is None:
            message = message_type(self._data, gc=False, name=name, namespace=namespace)
            decode = self._decoders[namespace, name] = msgspec.json.Decoder(message).decode_lines
        return decode

    def ready(self, datas: list[Any]) -> tuple[list[Any], bool]:
        """Rows from the data of a run of records decoded by a ``block_decoder``, made in place;
        only those before the first that needs the slow path, which converts and notes: one with a
        JSON value of the wrong shape, or a NUL (which PostgreSQL cannot store). Also whether any
        of their strings holds a control character (``PgTable`` has to unescape those: found by a
        search per character, in C, of all the strings joined)."""
        n, texts = len(datas), []
        if self._whole:
            texts.append(list(map(str, datas, repeat("utf-8"))))
        for _, get, firsts in [] if self._whole else self._json:
            column = list(map(str, map(get, datas), repeat("utf-8")))
            if firsts is not None:  # the first text that is not of the column's shape
                n = first_false(map(firsts.__contains__, map(itemgetter(0), islice(column, n))), n)
            texts.append(column)
        strings = [(column.__iter__, "\\u0000") for column in texts] + [(partial(map, get, datas), "\x00") for get in self._strings]
        joined = []
        for values, nul in strings:
            n, text = _without_nul(values, n, nul)
            joined.append(text)
        controls = any(map("".join(joined).__contains__, _CONTROLS))
        if self._whole:
            return list(map(self._array, iter(self._raw_id, None), _nulls(texts[0][:n]))), controls
        rows = datas if n == len(datas) else datas[:n]
        for (name, _, _), column in zip(self._json, texts, strict=True):
            set_each(rows, name, _nulls(column))
        set_each(rows, "__class__", repeat(self._array))
        return rows, controls


def _without_nul(strings: Callable[[], Iterator[Any]], n: int, nul: str) -> tuple[int, str]:
    """How many of the first ``n`` ``strings()`` (or None) come before one holding ``nul`` (a NUL,
    or its escape in JSON text), and those joined: one search in C (memchr) finds it."""
    joined = "".join(filter(None, islice(strings(), n)))
    if nul in joined:
        n = next(i for i, text in enumerate(strings()) if text and nul in text)
        joined = "".join(filter(None, islice(strings(), n)))
    return n, joined


def _nulls(texts: list[str]) -> Sequence[str | None]:
    """JSON texts, None for null (``texts`` itself when it holds none: read only, never copied)."""
    return [None if t == "null" else t for t in texts] if "null" in texts else texts
