"""Change history of sources, destinations and connections; trash, restore, clone and bulk
update. A history entry's snapshot is the resource as that change left it (secrets masked)."""

from __future__ import annotations

import enum
import uuid
from typing import Annotated, Any

import msgspec

from airpipe.schemas.base import Base, ConnectionStatus, Int64, Name, ScheduleType, Tags
from airpipe.schemas.connections import ScheduleData
from airpipe.schemas.lists import Pagination


class ChangeAction(enum.Enum):
    created = "created"
    updated = "updated"
    deleted = "deleted"
    restored = "restored"
    reverted = "reverted"
    cloned = "cloned"


class SourceHistoryRequestBody(Base, kw_only=True):
    source_id: uuid.UUID
    pagination: Pagination | None = None


class DestinationHistoryRequestBody(Base, kw_only=True):
    destination_id: uuid.UUID
    pagination: Pagination | None = None


class ConnectionHistoryRequestBody(Base, kw_only=True):
    connection_id: uuid.UUID
    pagination: Pagination | None = None


class HistoryIdRequestBody(Base):
    history_id: Int64


class HistoryEntryRead(Base, kw_only=True):
    history_id: int
    resource_id: uuid.UUID
    action: ChangeAction
    changed_at: int
    changed_by: str | None = None
    #: the resource as this change left it (secrets masked); only in history/get
    snapshot: dict[str, Any] | None = None


class HistoryReadList(Base):
    #: newest first
    history: list[HistoryEntryRead]


class TrashRequestBody(Base, kw_only=True):
    workspace_id: uuid.UUID


class CloneRequestBody(Base, kw_only=True):
    #: the clone's name; left out: the original's, with " (copy)"
    name: Name | None = None


class SourceCloneRequestBody(CloneRequestBody, kw_only=True):
    source_id: uuid.UUID


class DestinationCloneRequestBody(CloneRequestBody, kw_only=True):
    destination_id: uuid.UUID


class ConnectionCloneRequestBody(CloneRequestBody, kw_only=True):
    connection_id: uuid.UUID


class ConnectionBulkUpdate(Base, kw_only=True):
    """The same change to many connections, in one transaction: all of them or none."""

    connection_ids: Annotated[list[uuid.UUID], msgspec.Meta(min_length=1, max_length=1000)]
    status: ConnectionStatus | None = None
    schedule_type: ScheduleType | None = None
    schedule_data: ScheduleData | None = None
    tags: Tags | None = None
