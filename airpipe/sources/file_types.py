"""The File source's types: inferred from a sample of rows, then enforced on every row.

Every error names the line it was found on (where the row starts, counting from 1).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from airpipe.connectors.entrypoint import ConfigError

# INFERRING

_INTEGER = re.compile(r"-?(?:0|[1-9][0-9]*)")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_BOOLEANS = {"true": True, "false": False}
INT64 = 1 << 63


def csv_kind(value: str) -> str:
    if _INTEGER.fullmatch(value) and -INT64 <= int(value) < INT64:
        return "integer"
    if _NUMBER.fullmatch(value):
        return "number"
    if value.lower() in _BOOLEANS:
        return "boolean"
    return "string"


def json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object" if isinstance(value, dict) else "array"


def column_schema(kinds: set[str], nullable: bool) -> dict[str, Any]:
    """The JSON Schema of a column whose sampled values were of ``kinds``."""
    if kinds == {"integer", "number"}:
        kinds = {"number"}
    if len(kinds) > 1:
        return {}  # any value
    kind = next(iter(kinds), "string")
    return {"type": ["null", kind] if nullable else kind}


def infer_csv(names: list[str], rows: Iterator[tuple[int, list[str]]], limit: int) -> dict[str, dict[str, Any]]:
    kinds: list[set[str]] = [set() for _ in names]
    nullable = [False] * len(names)
    count = 0
    for line, row in rows:
        check_width(line, row, names)
        for i, value in enumerate(row):
            if value == "":
                nullable[i] = True
            elif "string" not in kinds[i]:
                kinds[i].add(csv_kind(value))
        count += 1
        if count >= limit:
            break
    # CSV text fits string whatever else it holds; no value at all reads as a nullable string
    return {
        name: column_schema({"string"} if len(k) > 1 and k != {"integer", "number"} else k, nullable[i] or count == 0)
        for i, (name, k) in enumerate(zip(names, kinds, strict=True))
    }


def infer_jsonl(lines: Iterator[tuple[int, bytes]], limit: int) -> dict[str, dict[str, Any]]:
    kinds: dict[str, set[str]] = {}
    nullable: set[str] = set()
    count = 0
    for line, raw in lines:
        row = decode_object(line, raw)
        for key in kinds.keys() - row.keys():
            nullable.add(key)
        for key, value in row.items():
            if key not in kinds:
                kinds[key] = set()
                if count:
                    nullable.add(key)  # missing from the rows before
            if value is None:
                nullable.add(key)
            else:
                kinds[key].add(json_kind(value))
        count += 1
        if count >= limit:
            break
    return {key: column_schema(k, key in nullable) for key, k in kinds.items()}


def decode_object(line: int, raw: bytes) -> dict[str, Any]:
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise ConfigError(f"line {line}: not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise ConfigError(f"line {line}: expected a JSON object, found {json_kind(value) if value is not None else 'null'}")
    return value


def check_width(line: int, row: list[str], names: list[str]) -> None:
    if len(row) != len(names):
        raise ConfigError(f"line {line}: expected {len(names)} fields, found {len(row)}")


def _type_of(schema: dict[str, Any]) -> tuple[str | None, bool]:
    """(the one non-null type or None for any, nullable)."""
    declared = schema.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    others = [t for t in types if t != "null"]
    return (others[0] if len(others) == 1 else None), (not types or "null" in types or len(others) != 1)


# CONVERTING


def csv_converter(name: str, schema: dict[str, Any]) -> Callable[[int, str], Any]:
    """A function (line, text) -> JSON value for a column, raising ConfigError for a bad value."""
    kind, nullable = _type_of(schema)

    def bad(line: int, value: str, what: str) -> ConfigError:
        return ConfigError(f"line {line}, column {name!r}: {value[:100]!r} is {what}")

    def convert(line: int, value: str) -> Any:
        if value == "":
            if nullable:
                return None
            raise bad(line, value, "empty, but the column is not nullable (it had no empty field in the sampled rows)")
        if kind == "integer":
            if _INTEGER.fullmatch(value):
                return int(value)
            raise bad(line, value, "not an integer")
        if kind == "number":
            if _NUMBER.fullmatch(value):
                return msgspec.Raw(value.encode())  # exactly as written: it is a JSON number
            raise bad(line, value, "not a number")
        if kind == "boolean":
            flag = _BOOLEANS.get(value.lower())
            if flag is None:
                raise bad(line, value, "not true or false")
            return flag
        return value

    return convert


_JSON_TYPES: dict[str | None, Any] = {
    "integer": int,
    "number": int | float,
    "boolean": bool,
    "string": str,
    "object": dict,
    "array": list,
    None: Any,
}


def jsonl_decoder(schema: dict[str, dict[str, Any]]) -> Callable[[bytes], Any]:
    """Decodes a line into a Struct of the schema's properties, validating each value's type; a
    non-nullable property is required."""
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    rename = {}
    for i, (key, prop) in enumerate(schema.items()):
        kind, nullable = _type_of(prop)
        field = f"f{i}"
        rename[field] = key
        python_type = _JSON_TYPES.get(kind, Any)
        if python_type is Any:
            fields.append((field, Any, None))
        else:
            fields.append((field, python_type | None, None) if nullable else (field, python_type))
    row_type = msgspec.defstruct("Row", fields, rename=rename, kw_only=True)
    return msgspec.json.Decoder(row_type).decode
