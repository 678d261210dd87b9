"""What every list request may add: a page, an order and a name filter. All optional: without
them a list answers every item, in the order it always had (Airbyte v0.8 clients send none)."""

from __future__ import annotations

import enum
import uuid
from typing import Annotated

import msgspec

from airpipe.schemas.base import Base, Name, Tags


class Pagination(Base):
    page_size: Annotated[int, msgspec.Meta(ge=1, le=10_000)] | None = None
    row_offset: Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)] | None = None


class OrderBy(enum.Enum):
    name = "name"
    created_at = "createdAt"


class OrderDirection(enum.Enum):
    asc = "asc"
    desc = "desc"


class ListRequestBody(Base):
    pagination: Pagination | None = None
    #: default: each list's own order (creation time, or name for definitions)
    order_by: OrderBy | None = None
    order_direction: OrderDirection | None = None
    #: only items whose name contains this text, ignoring case
    name_contains: Name | None = None
    #: only items that carry every one of these tags (workspaces, sources, destinations, connections)
    tags: Tags | None = None


class WorkspaceListRequestBody(ListRequestBody, kw_only=True):
    workspace_id: uuid.UUID
