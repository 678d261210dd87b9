"""Airbyte's public API (``/api/public/v1``, REST) in its own field names: what the ``airbyte-api``
SDK, apache-airflow-providers-airbyte >= 4 and dagster-airbyte's AirbyteWorkspace send and read.

Request Structs named ``...Query`` are a GET's query string; path parameters are passed apart.
"""

from __future__ import annotations

import datetime
import enum
import uuid
from typing import Annotated, Any

import msgspec

from airpipe.schemas.base import Base, Name

Limit = Annotated[int, msgspec.Meta(ge=1, le=100)]
Offset = Annotated[int, msgspec.Meta(ge=0, le=2**63 - 1)]


class ListQuery(Base, kw_only=True):
    """What every list takes; ``next``/``previous`` in its answer link the neighbouring pages."""

    workspace_ids: list[uuid.UUID] | None = None
    include_deleted: bool = False
    limit: Limit = 20
    offset: Offset = 0


class ConnectionListQuery(ListQuery, kw_only=True):
    tag_ids: list[uuid.UUID] | None = None  # accepted for the SDK's sake; airpipe has no tags yet


# WORKSPACES


class NotificationsConfig(Base):
    """Airbyte's per-workspace notification settings; airpipe's are its notification channels."""


class WorkspaceResponse(Base, kw_only=True):
    workspace_id: uuid.UUID
    name: str
    data_residency: str  # always "auto": airpipe runs where it is installed
    notifications: NotificationsConfig


class WorkspacesResponse(Base, kw_only=True):
    data: list[WorkspaceResponse]
    next: str | None = None
    previous: str | None = None


class WorkspaceCreateRequest(Base, kw_only=True):
    name: Name
    organization_id: uuid.UUID | None = None
    region_id: uuid.UUID | None = None


class WorkspaceUpdateRequest(Base, kw_only=True):
    name: Name | None = None


# SOURCES AND DESTINATIONS

#: a connector's configuration; ``sourceType``/``destinationType`` in it names the connector when
#: no definitionId is given, and is taken out before the config is validated and stored
Configuration = dict[str, Any]


class SourceResponse(Base, kw_only=True):
    source_id: uuid.UUID
    name: str
    source_type: str
    definition_id: uuid.UUID
    workspace_id: uuid.UUID
    configuration: Configuration  # secrets masked
    created_at: int


class SourcesResponse(Base, kw_only=True):
    data: list[SourceResponse]
    next: str | None = None
    previous: str | None = None


class SourceCreateRequest(Base, kw_only=True):
    name: Name
    workspace_id: uuid.UUID
    configuration: Configuration
    definition_id: uuid.UUID | None = None


class SourcePatchRequest(Base, kw_only=True):
    name: Name | None = None
    configuration: Configuration | None = None


class SourcePutRequest(Base, kw_only=True):
    name: Name
    configuration: Configuration


class DestinationResponse(Base, kw_only=True):
    destination_id: uuid.UUID
    name: str
    destination_type: str
    definition_id: uuid.UUID
    workspace_id: uuid.UUID
    configuration: Configuration
    created_at: int


class DestinationsResponse(Base, kw_only=True):
    data: list[DestinationResponse]
    next: str | None = None
    previous: str | None = None


class DestinationCreateRequest(Base, kw_only=True):
    name: Name
    workspace_id: uuid.UUID
    configuration: Configuration
    definition_id: uuid.UUID | None = None


class DestinationPatchRequest(Base, kw_only=True):
    name: Name | None = None
    configuration: Configuration | None = None


class DestinationPutRequest(Base, kw_only=True):
    name: Name
    configuration: Configuration


# CONNECTIONS AND STREAMS


class ConnectionSyncMode(enum.Enum):
    """A source sync mode and a destination sync mode in one name."""

    full_refresh_overwrite = "full_refresh_overwrite"
    full_refresh_append = "full_refresh_append"
    incremental_append = "incremental_append"
    incremental_deduped_history = "incremental_deduped_history"


class ConnectionStatus(enum.Enum):
    active = "active"
    inactive = "inactive"
    deprecated = "deprecated"
    locked = "locked"  # Airbyte's; airpipe never locks a connection and refuses to set it


class NamespaceDefinition(enum.Enum):
    source = "source"
    destination = "destination"
    custom_format = "custom_format"


class ScheduleType(enum.Enum):
    manual = "manual"
    cron = "cron"


class ScheduleTypeWithBasic(enum.Enum):
    manual = "manual"
    cron = "cron"
    basic = "basic"


class ConnectionSchedule(Base, kw_only=True):
    schedule_type: ScheduleType
    cron_expression: str | None = None


class ConnectionScheduleResponse(Base, kw_only=True):
    schedule_type: ScheduleTypeWithBasic
    cron_expression: str | None = None
    basic_timing: str | None = None  # "Every 24 hours": a schedule set through the Configuration API


class StreamConfiguration(Base, kw_only=True):
    name: str
    namespace: str | None = None
    sync_mode: ConnectionSyncMode | None = None
    cursor_field: list[str] | None = None
    primary_key: list[list[str]] | None = None


class StreamConfigurations(Base, kw_only=True):
    streams: list[StreamConfiguration] | None = None


class Tag(Base, kw_only=True):
    tag_id: uuid.UUID
    name: str
    color: str
    workspace_id: uuid.UUID


class ConnectionResponse(Base, kw_only=True):
    connection_id: uuid.UUID
    name: str
    source_id: uuid.UUID
    destination_id: uuid.UUID
    workspace_id: uuid.UUID
    status: ConnectionStatus
    schedule: ConnectionScheduleResponse
    configurations: StreamConfigurations
    created_at: int
    tags: list[Tag]  # always empty: airpipe has no tags yet
    namespace_definition: NamespaceDefinition | None = None
    namespace_format: str | None = None
    prefix: str | None = None
    non_breaking_schema_updates_behavior: str = "ignore"


class ConnectionsResponse(Base, kw_only=True):
    data: list[ConnectionResponse]
    next: str | None = None
    previous: str | None = None


class ConnectionCreateRequest(Base, kw_only=True):
    source_id: uuid.UUID
    destination_id: uuid.UUID
    name: Name | None = None
    #: the streams to sync, with their settings; left out: every stream, in its default mode
    configurations: StreamConfigurations | None = None
    schedule: ConnectionSchedule | None = None
    status: ConnectionStatus | None = None
    namespace_definition: NamespaceDefinition | None = None
    namespace_format: Name | None = None
    prefix: Name | None = None


class ConnectionPatchRequest(Base, kw_only=True):
    name: Name | None = None
    configurations: StreamConfigurations | None = None
    schedule: ConnectionSchedule | None = None
    status: ConnectionStatus | None = None
    namespace_definition: NamespaceDefinition | None = None
    namespace_format: Name | None = None
    prefix: Name | None = None


class StreamPropertiesQuery(Base, kw_only=True):
    source_id: uuid.UUID
    destination_id: uuid.UUID | None = None
    ignore_cache: bool = False  # true: discover afresh instead of using the catalog discovered last


class StreamProperties(Base, kw_only=True):
    stream_name: str
    streamnamespace: str | None = None  # sic: the public API's spelling
    sync_modes: list[ConnectionSyncMode]
    default_cursor_field: list[str] | None = None
    source_defined_cursor_field: bool | None = None
    source_defined_primary_key: list[list[str]] | None = None
    property_fields: list[list[str]] | None = None


# JOBS


class JobType(enum.Enum):
    sync = "sync"
    reset = "reset"
    clear = "clear"  # Airbyte's later name for reset: accepted, answered as reset
    refresh = "refresh"  # Airbyte's; refused (422): airpipe resets and syncs instead


class JobStatus(enum.Enum):
    pending = "pending"
    queued = "queued"  # Airbyte's; airpipe's queued jobs are pending
    running = "running"
    incomplete = "incomplete"
    failed = "failed"
    succeeded = "succeeded"
    cancelled = "cancelled"


class JobCreateRequest(Base, kw_only=True):
    connection_id: uuid.UUID
    job_type: JobType


class JobResponse(Base, kw_only=True):
    job_id: int
    status: JobStatus
    job_type: JobType
    connection_id: uuid.UUID
    start_time: str  # ISO 8601
    last_updated_at: str | None = None
    duration: str | None = None  # ISO 8601, "PT1M5S"
    bytes_synced: int | None = None
    rows_synced: int | None = None


class JobsResponse(Base, kw_only=True):
    data: list[JobResponse]
    next: str | None = None
    previous: str | None = None


JobOrder = Annotated[str, msgspec.Meta(pattern=r"^(createdAt|updatedAt)\|(ASC|DESC)$")]


class JobListQuery(Base, kw_only=True):
    connection_id: uuid.UUID | None = None
    workspace_ids: list[uuid.UUID] | None = None
    job_type: JobType | None = None
    status: JobStatus | None = None
    created_at_start: datetime.datetime | None = None
    created_at_end: datetime.datetime | None = None
    updated_at_start: datetime.datetime | None = None
    updated_at_end: datetime.datetime | None = None
    limit: Limit = 20
    offset: Offset = 0
    order_by: JobOrder = "createdAt|DESC"


# APPLICATIONS AND TOKENS


class ApplicationCreate(Base, kw_only=True):
    name: Name


class ApplicationRead(Base, kw_only=True):
    id: uuid.UUID
    name: str
    client_id: str
    created_at: int
    client_secret: str | None = None  # only in the answer to create: it is stored hashed


class ApplicationReadList(Base):
    applications: list[ApplicationRead]


class AccessTokenRequest(msgspec.Struct, kw_only=True, gc=False):
    """OAuth 2 client credentials, as JSON or as a form (the SDK sends a form)."""

    client_id: Name
    client_secret: Name
    grant_type: str = "client_credentials"


class AccessTokenResponse(msgspec.Struct, kw_only=True, gc=False):
    access_token: str
    token_type: str = "Bearer"
    expires_in: int
