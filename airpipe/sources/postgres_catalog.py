"""What the PostgreSQL source's streams are: the system catalogs' tables, columns, types and keys.

Each column's JSON Schema describes what ``row_to_json`` makes of its values, which is what the
source sends (``postgres_rows.row_json`` makes the same text; see ``column_schema``). Domains are
read as their base type (one level).
"""

from __future__ import annotations

from typing import Any

from airpipe.protocol import AirbyteStream, SyncMode

__all__ = ["CURSOR_TYPES", "INTEGER_TYPES", "NUMBER_TYPES", "Column", "Table", "column_schema", "list_tables"]

_COLUMNS = """
SELECT n.nspname, c.relname, c.relkind, a.attname, a.attnotnull, format_type(a.atttypid, a.atttypmod),
       b.typname, b.typtype, b.typcategory, e.typname, e.typtype
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
LEFT JOIN pg_type e ON e.oid = b.typelem AND b.typcategory = 'A'
WHERE n.nspname = ANY(%(schemas)s) AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition
  AND (%(table)s IS NULL OR c.relname = %(table)s)
  AND has_table_privilege(c.oid, 'SELECT')
ORDER BY n.nspname, c.relname, a.attnum
"""

_PRIMARY_KEYS = """
SELECT n.nspname, c.relname, a.attname
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
CROSS JOIN LATERAL unnest(k.conkey) WITH ORDINALITY AS key(attnum, position)
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = key.attnum
WHERE k.contype = 'p' AND n.nspname = ANY(%(schemas)s)
ORDER BY n.nspname, c.relname, key.position
"""

INTEGER_TYPES = {"int2", "int4", "int8", "oid"}
NUMBER_TYPES = {"numeric", "float4", "float8"}  # may hold NaN and Infinity, read as NULL
_TIMES = {
    "timestamptz": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
    "timestamp": {"type": "string", "format": "date-time", "airbyte_type": "timestamp_without_timezone"},
    "date": {"type": "string", "format": "date"},
    "timetz": {"type": "string", "format": "time", "airbyte_type": "time_with_timezone"},
    "time": {"type": "string", "format": "time", "airbyte_type": "time_without_timezone"},
}
#: the types a cursor column may have: ordered, and their text casts back to the same value
CURSOR_TYPES = INTEGER_TYPES | NUMBER_TYPES | set(_TIMES) | {"text", "varchar", "bpchar", "char", "name", "citext", "uuid"}


def column_schema(typname: str, typtype: str, category: str, element: tuple[str, str] | None = None) -> dict[str, Any]:
    """The JSON Schema (without null) of what ``row_to_json`` makes of a value of this base type.

    numeric NaN and Infinity are read as NULL (see postgres_rows.row_json), and columns that may
    hold them are nullable; bytea (``\\x...`` hex), intervals,
    ranges, geometric and network types and anything else without a JSON counterpart.
    """
    if typname in INTEGER_TYPES:
        return {"type": "integer"}
    if typname in NUMBER_TYPES:
        return {"type": "number"}
    if typname == "bool":
        return {"type": "boolean"}
    if typname in _TIMES:
        return dict(_TIMES[typname])
    if typname in ("json", "jsonb"):
        return {}  # any JSON value: an object, an array, a scalar or null
    if category == "A" and element is not None:
        # one array type holds any number of dimensions ({1,2} and {{1,2},{3,4}} are both int[]),
        # so an item is an element or another array of them
        item = _nullable(column_schema(element[0], element[1], ""))
        return {"type": "array", "items": {"anyOf": [item, {"type": "array"}]}}
    if typtype == "c":
        return {"type": "object"}
    return {"type": "string"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "type" not in schema:
        return schema
    return {**schema, "type": ["null", schema["type"]]}


class Column:
    __slots__ = ("name", "sql_type", "typname", "schema")

    def __init__(self, name: str, sql_type: str, typname: str, schema: dict[str, Any]) -> None:
        self.name = name
        self.sql_type = sql_type  # format_type(): what a cursor value is cast to
        self.typname = typname  # the base type's name (domains resolved)
        self.schema = schema


class Table:
    def __init__(self, schema: str, name: str, kind: str) -> None:
        self.schema = schema
        self.name = name
        self.kind = kind
        self.columns: dict[str, Column] = {}
        self.primary_key: list[str] = []

    def stream(self) -> AirbyteStream:
        properties = {c.name: c.schema for c in self.columns.values()}
        return AirbyteStream(
            name=self.name,
            namespace=self.schema,
            json_schema={"$schema": "http://json-schema.org/draft-07/schema#", "type": "object", "properties": properties},
            supported_sync_modes=[SyncMode.full_refresh, SyncMode.incremental],
            source_defined_cursor=False,
            source_defined_primary_key=[[c] for c in self.primary_key] or None,
        )

    def cursor_candidates(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.typname in CURSOR_TYPES]


def list_tables(conn: Any, schemas: list[str], table: str | None = None) -> dict[tuple[str, str], Table]:
    """The readable relations of ``schemas`` (or only those named ``table``), by (schema, name)."""
    tables: dict[tuple[str, str], Table] = {}
    with conn.cursor() as cursor:
        cursor.execute(_COLUMNS, {"schemas": schemas, "table": table})
        for schema, name, kind, column, not_null, sql_type, typname, typtype, category, elem, elem_type in cursor:
            found = tables.get((schema, name))
            if found is None:
                found = tables[(schema, name)] = Table(schema, name, kind)
            element = (elem, elem_type) if elem is not None else None
            json_schema = column_schema(typname, typtype, category, element)
            may_be_null = not not_null or typname in NUMBER_TYPES  # NaN and Infinity are read as NULL
            found.columns[column] = Column(column, sql_type, typname, _nullable(json_schema) if may_be_null else json_schema)
        cursor.execute(_PRIMARY_KEYS, {"schemas": schemas})
        for schema, name, column in cursor:
            if (schema, name) in tables:
                tables[(schema, name)].primary_key.append(column)
    return tables
