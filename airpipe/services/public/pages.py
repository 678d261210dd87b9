"""Lists page by ``limit`` and ``offset``; each answer links the neighbouring pages (``next``,
``previous``) as query strings, which the api layer turns into URLs of the same path."""

from __future__ import annotations

import datetime
import enum
import urllib.parse
from typing import Any

import msgspec
import peewee


def page_of(select: peewee.Select, query: Any, *order: Any) -> tuple[list[Any], str | None, str | None]:
    """The page of ``select`` (ordered by ``order``) that ``query`` asks for, and the query strings
    of the pages after it (if there is a row after it) and before it (unless this is the first).
    One row more than the page is fetched, to know whether another page follows."""
    rows = list(select.order_by(*order).limit(query.limit + 1).offset(query.offset))
    more = len(rows) > query.limit
    after = _query_string(query, query.offset + query.limit) if more else None
    before = _query_string(query, max(0, query.offset - query.limit)) if query.offset > 0 else None
    return list(rows[: query.limit]), after, before


def _query_string(query: Any, offset: int) -> str:
    pairs: list[tuple[str, str]] = []
    for field in msgspec.structs.fields(query):
        value = offset if field.name == "offset" else getattr(query, field.name)
        if value is None or (value is False and field.name == "include_deleted"):
            continue
        for item in value if isinstance(value, list) else [value]:
            pairs.append((field.encode_name, _text(item)))
    return urllib.parse.urlencode(pairs)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return text_of(value)  # enums by their value; uuids and numbers as str() writes them


def text_of(value: Any) -> str:
    """An enum field of a read Struct as its text: reads built from stored rows carry the stored
    text itself (converters.stored_as), others the member."""
    return str(value.value) if isinstance(value, enum.Enum) else str(value)
