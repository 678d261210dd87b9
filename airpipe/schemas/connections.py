from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from airpipe.schemas.actors import DestinationRead, SourceRead
from airpipe.schemas.base import Base, ConnectionStatus, JobStatus, Name, NamespaceDefinitionType, ScheduleType, SyncMode, Tags, TimeUnit
from airpipe.schemas.catalog import AirbyteCatalog, CatalogDiff, SourceSchema


class ConnectionSchedule(Base):
    """if null, then no schedule is set."""

    units: Annotated[int, msgspec.Meta(gt=0, le=2**31 - 1)]
    time_unit: TimeUnit


class CronSchedule(Base, omit_defaults=False):  # the time zone is always shown, UTC too
    cron_expression: str
    cron_time_zone: str = "UTC"


class ScheduleData(Base):
    basic_schedule: ConnectionSchedule | None = None
    cron: CronSchedule | None = None


class ConnectionCreate(Base, kw_only=True):
    name: Name | None = None
    source_id: uuid.UUID
    destination_id: uuid.UUID
    sync_mode: SyncMode | None = None
    sync_schema: SourceSchema | None = None
    sync_catalog: AirbyteCatalog | None = None
    schedule: ConnectionSchedule | None = None
    schedule_type: ScheduleType | None = None
    schedule_data: ScheduleData | None = None
    status: ConnectionStatus
    prefix: Name | None = None
    namespace_definition: NamespaceDefinitionType | None = None
    namespace_format: Name | None = None
    tags: Tags | None = None


class ConnectionUpdate(Base, kw_only=True):
    """Fields left out keep their stored value; ``schedule: null`` removes the schedule."""

    connection_id: uuid.UUID
    name: Name | msgspec.UnsetType = msgspec.UNSET
    sync_schema: SourceSchema | msgspec.UnsetType = msgspec.UNSET
    sync_catalog: AirbyteCatalog | msgspec.UnsetType = msgspec.UNSET
    schedule: ConnectionSchedule | None | msgspec.UnsetType = msgspec.UNSET
    schedule_type: ScheduleType | msgspec.UnsetType = msgspec.UNSET
    schedule_data: ScheduleData | None | msgspec.UnsetType = msgspec.UNSET
    status: ConnectionStatus
    prefix: Name | msgspec.UnsetType = msgspec.UNSET
    namespace_definition: NamespaceDefinitionType | msgspec.UnsetType = msgspec.UNSET
    namespace_format: Name | None | msgspec.UnsetType = msgspec.UNSET
    tags: Tags | msgspec.UnsetType = msgspec.UNSET


class ConnectionIdRequestBody(Base):
    connection_id: uuid.UUID


class ConnectionRead(Base, kw_only=True):
    connection_id: uuid.UUID
    name: str
    source_id: uuid.UUID
    destination_id: uuid.UUID
    sync_mode: SyncMode
    sync_schema: SourceSchema
    sync_catalog: AirbyteCatalog
    schedule: ConnectionSchedule | None = None
    schedule_type: ScheduleType
    schedule_data: ScheduleData | None = None
    status: ConnectionStatus
    prefix: str
    namespace_definition: NamespaceDefinitionType
    namespace_format: str | None = None
    #: when it was created and last changed, by whom (a user, a key, an application), and its tags
    created_at: int | None = None
    updated_at: int | None = None
    created_by: str | None = None
    updated_by: str | None = None
    tags: list[str] | None = None


class ConnectionReadList(Base):
    connections: list[ConnectionRead]


# WEB BACKEND


class WbConnectionRequestBody(Base, kw_only=True):
    connection_id: uuid.UUID
    #: discover the source again and answer the catalog merged with it (new streams unselected)
    #: and the diff, without saving them: connections/refresh_schema saves
    with_refreshed_catalog: bool | None = None


class WbConnectionRead(ConnectionRead, kw_only=True):
    source: SourceRead
    destination: DestinationRead
    last_sync: int | None = None
    is_syncing: bool
    #: the connection's newest sync or reset job, whatever its outcome
    latest_sync_job_status: JobStatus | None = None
    latest_sync_job_created_at: int | None = None
    #: seconds from its creation to its end (to now while it runs)
    latest_sync_job_duration: int | None = None
    #: when the schedule starts the next sync (epoch seconds; None: manual, or not active)
    next_scheduled_at: int | None = None
    #: with withRefreshedCatalog: what the refreshed catalog changes
    catalog_diff: CatalogDiff | None = None


class WbConnectionReadList(Base):
    connections: list[WbConnectionRead]
