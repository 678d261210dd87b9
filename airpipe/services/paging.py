"""One way for every list to honour a ``ListRequestBody``: filter by name, order, then page."""

from __future__ import annotations

from typing import TypeVar

import msgspec
import peewee

from airpipe.models import is_sqlite
from airpipe.schemas.lists import ListRequestBody, OrderBy, OrderDirection

#: a page asked for without a size holds this many items
DEFAULT_PAGE_SIZE = 200


M = TypeVar("M", bound=peewee.Model)


def paged(
    query: peewee.ModelSelect[M],
    request: ListRequestBody | None,
    *,
    name: peewee.Field,
    created_at: peewee.Field,
    default_order: tuple[peewee.Node, ...],
    tags: peewee.Field | None = None,
) -> peewee.ModelSelect[M]:
    """``query`` filtered, ordered and paged as ``request`` asks; without a request (or with none
    of its fields) it keeps ``default_order`` and every row. Ties are broken by the primary key,
    so that pages do not overlap."""
    if request is None:
        return query.order_by(*default_order)
    if request.name_contains:
        query = query.where(contains(name, request.name_contains))
    if request.tags and tags is not None:
        for tag in dict.fromkeys(request.tags):
            query = query.where(has_tag(tags, tag))
    if request.order_by is None and request.order_direction is None:
        order = default_order
    else:
        field = name if request.order_by is OrderBy.name else created_at
        primary_key = query.model._meta.primary_key
        assert isinstance(primary_key, peewee.Field)  # every model here has one
        if request.order_direction is OrderDirection.desc:
            order = (field.desc(), primary_key.desc())
        else:
            order = (field.asc(), primary_key.asc())
    query = query.order_by(*order)
    if request.pagination is not None:
        query = query.limit(request.pagination.page_size or DEFAULT_PAGE_SIZE).offset(request.pagination.row_offset or 0)
    return query


def contains(field: peewee.Field, text: str) -> peewee.Node:
    """``field`` contains ``text``, ignoring case, with LIKE's wildcards in ``text`` taken literally."""
    escaped = text.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return peewee.NodeList((peewee.fn.LOWER(field), peewee.SQL("LIKE"), f"%{escaped}%", peewee.SQL("ESCAPE '\\'")))


def has_tag(field: peewee.Field, tag: str) -> peewee.Node:
    """The JSON list of strings in ``field`` holds ``tag`` (case-sensitive, on both databases).

    An element's JSON text is bounded by ``[`` or ``,`` before and ``,`` or ``]`` after; inside a
    JSON string a quote is always escaped, so ``,"tag",`` cannot begin inside another element."""
    element = msgspec.json.encode(tag).decode()
    position = peewee.fn.INSTR if is_sqlite() else peewee.fn.STRPOS  # LIKE ignores case in SQLite
    condition: peewee.Node | None = None
    for before in "[,":
        for after in ",]":
            found = position(field, before + element + after) > 0
            condition = found if condition is None else condition | found
    assert condition is not None
    return condition
