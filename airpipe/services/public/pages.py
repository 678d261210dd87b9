"""Lists page by ``limit`` and ``offset``; each answer links the neighbouring pages (``next``,
``previous``) as query strings, which the api layer turns into URLs of the same path."""

from __future__ import annotations

import datetime
import enum
import urllib.parse
from collections.abc import Sequence
from typing import Any, TypeVar

import msgspec

T = TypeVar("T")


def page_of(rows: Sequence[T], query: Any) -> tuple[list[T], str | None, str | None]:
    """``rows`` were fetched with ``limit + 1``: the page, and the query strings of the pages
    after it (if that extra row came) and before it (unless this is the first)."""
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
