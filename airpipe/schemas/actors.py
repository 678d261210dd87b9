"""Sources and destinations (Airbyte calls both "actors")."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec

from airpipe.schemas.base import Base, CheckConnectionStatus, ConnectorConfig, Name, Tags
from airpipe.schemas.catalog import AirbyteCatalog, SourceSchema

# SOURCES


class SourceCreate(Base):
    workspace_id: uuid.UUID
    source_definition_id: uuid.UUID
    connection_configuration: ConnectorConfig
    name: Name
    tags: Tags | None = None  # an update without them keeps them


class SourceUpdate(Base):
    source_id: uuid.UUID
    connection_configuration: ConnectorConfig
    name: Name
    tags: Tags | None = None  # an update without them keeps them


class SourceRecreate(Base):
    source_definition_id: uuid.UUID
    source_id: uuid.UUID
    workspace_id: uuid.UUID
    connection_configuration: ConnectorConfig
    name: Name
    tags: Tags | None = None  # an update without them keeps them


class SourceIdRequestBody(Base):
    source_id: uuid.UUID


class SourceCoreConfig(Base):
    """An unsaved source: what `scheduler/sources/...` checks and discovers."""

    source_definition_id: uuid.UUID
    connection_configuration: ConnectorConfig


class SourceRead(Base):
    source_definition_id: uuid.UUID
    source_id: uuid.UUID
    workspace_id: uuid.UUID
    connection_configuration: ConnectorConfig
    name: str
    source_name: str
    #: when it was created and last changed, by whom (a user, a key, an application), and its tags
    created_at: int | None = None
    updated_at: int | None = None
    created_by: str | None = None
    updated_by: str | None = None
    tags: list[str] | None = None


class SourceReadList(Base):
    sources: list[SourceRead]


class SourceDiscoverSchemaRead(Base):
    schema: SourceSchema
    catalog: AirbyteCatalog | None = None


# DESTINATIONS


class DestinationCreate(Base):
    workspace_id: uuid.UUID
    destination_definition_id: uuid.UUID
    connection_configuration: ConnectorConfig
    name: Name
    tags: Tags | None = None  # an update without them keeps them


class DestinationUpdate(Base):
    destination_id: uuid.UUID
    connection_configuration: ConnectorConfig
    name: Name
    tags: Tags | None = None  # an update without them keeps them


class DestinationRecreate(Base):
    destination_definition_id: uuid.UUID
    destination_id: uuid.UUID
    workspace_id: uuid.UUID
    connection_configuration: ConnectorConfig
    name: Name
    tags: Tags | None = None  # an update without them keeps them


class DestinationIdRequestBody(Base):
    destination_id: uuid.UUID


class DestinationCoreConfig(Base):
    destination_definition_id: uuid.UUID
    connection_configuration: ConnectorConfig


class DestinationRead(Base):
    destination_definition_id: uuid.UUID
    destination_id: uuid.UUID
    workspace_id: uuid.UUID
    connection_configuration: ConnectorConfig
    name: str
    destination_name: str
    #: when it was created and last changed, by whom (a user, a key, an application), and its tags
    created_at: int | None = None
    updated_at: int | None = None
    created_by: str | None = None
    updated_by: str | None = None
    tags: list[str] | None = None


class DestinationReadList(Base):
    destinations: list[DestinationRead]


# CHECKS


class CheckConnectionRead(Base):
    status: CheckConnectionStatus
    message: str | None = None


# SAMPLES: a few records of one stream, read now, answered and never kept

SampleSize = Annotated[int, msgspec.Meta(ge=1, le=1000)]
SampleSeconds = Annotated[float, msgspec.Meta(gt=0, le=300)]


class SourceSampleRequest(Base, kw_only=True):
    source_id: uuid.UUID
    stream_name: str
    stream_namespace: str | None = None
    limit: SampleSize = 10
    #: the source is stopped after this long, with the records read by then
    timeout_seconds: SampleSeconds = 10.0


class SourceCoreSampleRequest(Base, kw_only=True):
    """An unsaved source's sample (``scheduler/sources/read_sample``)."""

    source_definition_id: uuid.UUID
    connection_configuration: ConnectorConfig
    stream_name: str
    stream_namespace: str | None = None
    limit: SampleSize = 10
    timeout_seconds: SampleSeconds = 10.0


class SourceSampleRead(Base, kw_only=True):
    stream_name: str
    stream_namespace: str | None = None
    records: list[dict[str, Any]]
