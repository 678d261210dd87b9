"""What the SQL destinations share: stream schemas as typed columns, and names.

Tables are typed the way Airbyte's destinations v2 type their final tables::

    JSON schema                                  Kind       PostgreSQL    SQLite
    string                                       STRING     text          TEXT
    string, format date-time                     TIMESTAMP  timestamptz   TEXT (ISO 8601)
    string, format date                          DATE       date          TEXT (ISO 8601)
    integer (or number, airbyte_type integer)    INTEGER    bigint        INTEGER
    number                                       NUMBER     numeric       REAL
    boolean                                      BOOLEAN    boolean       INTEGER (0, 1)
    object / array                               OBJECT / ARRAY  jsonb    TEXT (JSON)
    anything else (unions, no type, $ref)        JSON       jsonb         TEXT (JSON)

A union with "null" is its other type (every column is nullable); Airbyte's ``WellKnownTypes``
``$ref``s are understood. Each table also has ``_airbyte_raw_id``, ``_airbyte_extracted_at`` and
``_airbyte_meta`` (``{"changes": [...]}``). A stream whose schema declares no properties is stored
whole, as JSON, in one column ``_airbyte_data``; otherwise properties the schema does not declare
are not stored (as in Airbyte's typed tables). How values become rows is ``airpipe.destinations.loading.rows``.

A column is named as its property, made unique: a name the database cannot hold is cut (and given
a hash of the whole), and a name taken already (an ``_airbyte_*`` column, or a name equal to an
earlier one as the database compares names) gets ``_2``, ``_3``... in the order of the schema.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from airpipe.connectors.entrypoint import ConfigError
from airpipe.protocol import ConfiguredAirbyteStream, DestinationSyncMode

RAW_ID, EXTRACTED_AT, META = "_airbyte_raw_id", "_airbyte_extracted_at", "_airbyte_meta"
AIRBYTE_COLUMNS = (RAW_ID, EXTRACTED_AT, META)
#: the one column of a stream whose schema has no properties: the whole record
DATA = "_airbyte_data"

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class Kind(enum.Enum):
    STRING = "string"
    TIMESTAMP = "timestamp"
    DATE = "date"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"
    OBJECT = "object"
    ARRAY = "array"
    JSON = "json"
    #: an existing column of a type we do not write (someone altered the table): stays NULL
    OTHER = "other"


JSON_KINDS = (Kind.OBJECT, Kind.ARRAY, Kind.JSON)

_WELL_KNOWN = {
    "String": Kind.STRING,
    "BinaryData": Kind.STRING,
    "TimeWithTimezone": Kind.STRING,
    "TimeWithoutTimezone": Kind.STRING,
    "Date": Kind.DATE,
    "TimestampWithTimezone": Kind.TIMESTAMP,
    "TimestampWithoutTimezone": Kind.TIMESTAMP,
    "Integer": Kind.INTEGER,
    "Number": Kind.NUMBER,
    "Boolean": Kind.BOOLEAN,
}


def kind_of(schema: Any) -> Kind:
    """The column kind of one property's JSON schema."""
    if not isinstance(schema, dict):
        return Kind.JSON
    ref = schema.get("$ref")
    if isinstance(ref, str) and "WellKnownTypes.json#/definitions/" in ref:
        return _WELL_KNOWN.get(ref.rsplit("/", 1)[-1], Kind.JSON)
    types = schema.get("type")
    if types is None:
        options = schema.get("anyOf", schema.get("oneOf"))
        if isinstance(options, list):
            kinds = {kind_of(o) for o in options if not (isinstance(o, dict) and o.get("type") == "null")}
            return kinds.pop() if len(kinds) == 1 else Kind.JSON
        return Kind.JSON
    names = {types} if isinstance(types, str) else {t for t in types if isinstance(t, str)} if isinstance(types, list) else set()
    names.discard("null")
    if names == {"integer", "number"}:
        return Kind.NUMBER
    if len(names) != 1:
        return Kind.JSON
    name = names.pop()
    if name == "string":
        return {"date-time": Kind.TIMESTAMP, "date": Kind.DATE}.get(schema.get("format") or "", Kind.STRING)
    if name == "number":
        return Kind.INTEGER if schema.get("airbyte_type") == "integer" else Kind.NUMBER
    return {"integer": Kind.INTEGER, "boolean": Kind.BOOLEAN, "object": Kind.OBJECT, "array": Kind.ARRAY}.get(name, Kind.JSON)


# NAMES


@dataclass(frozen=True)
class Column:
    field: str | None  # the record's property; None: the whole record (_airbyte_data)
    name: str  # the column's name
    kind: Kind


def fit_name(name: str, max_bytes: int | None = None) -> str:
    """A usable identifier for ``name``: NULs removed, never empty, and at most ``max_bytes``
    UTF-8 bytes (a longer name is cut and given a hash of the whole, so cut names stay distinct)."""
    name = name.replace("\x00", "") or "_"
    if max_bytes is None or len(name.encode()) <= max_bytes:
        return name
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return name.encode()[: max_bytes - 9].decode(errors="ignore") + "_" + digest


def unique_names(names: Iterable[str], fit: Callable[[str], str], fold: Callable[[str], str], taken: Iterable[str] = ()) -> list[str]:
    """``fit`` each name, then make it distinct (as ``fold`` compares names) from the ``taken``
    ones and the ones before it by adding ``_2``, ``_3``...: the first comer keeps its name."""
    seen = {fold(name) for name in taken}
    result = []
    for name in names:
        candidate, n = fit(name), 1
        while fold(candidate) in seen:
            n += 1
            candidate = fit(f"{name}_{n}")
        seen.add(fold(candidate))
        result.append(candidate)
    return result


def ascii_fold(name: str) -> str:
    """How SQLite compares identifiers: ASCII letters case-insensitively, the rest exactly."""
    return name.translate(_ASCII_LOWER)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


# STREAMS


@dataclass
class StreamSpec:
    """One configured stream, as a destination table sees it."""

    name: str
    namespace: str | None
    mode: DestinationSyncMode
    primary_key: list[list[str]]
    cursor: list[str]
    #: the columns the stream's schema asks for (a table that exists may differ: see ``columns_in``)
    columns: list[Column]

    @classmethod
    def of(cls, configured: ConfiguredAirbyteStream, fit: Callable[[str], str], fold: Callable[[str], str] = str) -> StreamSpec:
        """``fit`` and ``fold`` are the database's: see ``unique_names``."""
        stream = configured.stream
        primary_key = [p for p in configured.primary_key or stream.source_defined_primary_key or [] if p]
        mode = configured.destination_sync_mode
        if mode is DestinationSyncMode.append_dedup and not primary_key:
            raise ConfigError(f"stream {stream.name} is append_dedup but has no primary key")
        properties = stream.json_schema.get("properties")
        if not isinstance(properties, dict) or not properties:
            columns = [Column(None, DATA, Kind.JSON)]
        else:
            names = unique_names(properties, fit, fold, taken=AIRBYTE_COLUMNS)
            columns = [Column(field, name, kind_of(schema)) for (field, schema), name in zip(properties.items(), names, strict=True)]
        cursor = configured.cursor_field or stream.default_cursor_field or []
        return cls(stream.name, stream.namespace, mode, primary_key, list(cursor), columns)

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.namespace, self.name)

    def columns_in(self, existing: dict[str, Kind | None], type_of: Callable[[Kind], str]) -> list[Column]:
        """The columns to write into a table that exists with ``existing`` columns (name -> the
        kind of its type, None for a type we do not know): a column whose type is the one we would
        create (``type_of`` a kind) keeps the schema's kind; one of another type keeps its type,
        and values that do not fit it go NULL. Missing columns are the caller's to add."""
        columns = []
        for column in self.columns:
            if column.name not in existing:
                columns.append(column)
                continue
            kind = existing[column.name]
            if kind is not None and type_of(kind) == type_of(column.kind):
                kind = column.kind
            columns.append(Column(column.field, column.name, kind or Kind.OTHER))
        return columns

    def key_columns(self, columns: Sequence[Column]) -> list[tuple[Column, list[str]]]:
        """Where each primary key field is: a column, and the path inside it (for a JSON column)."""
        located = []
        for path in self.primary_key:
            found = _locate(columns, path)
            if found is None:
                raise ConfigError(f"stream {self.name}: the primary key field {'.'.join(path)} is not a column of its schema")
            located.append(found)
        return located

    def cursor_column(self, columns: Sequence[Column]) -> tuple[Column, list[str]] | None:
        """Where the cursor is; None when there is none (or it is not in the schema): then the later record wins."""
        return _locate(columns, self.cursor) if self.cursor else None


def _locate(columns: Sequence[Column], path: Sequence[str]) -> tuple[Column, list[str]] | None:
    for column in columns:
        if column.field == path[0]:
            rest = list(path[1:])
            return (column, rest) if not rest or column.kind in JSON_KINDS else None
    if columns and columns[0].field is None:  # the whole record: the path is inside it
        return columns[0], list(path)
    return None
