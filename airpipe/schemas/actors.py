"""Sources and destinations (Airbyte calls both "actors")."""

from __future__ import annotations

import uuid

from airpipe.schemas.base import Base, CheckConnectionStatus, ConnectorConfig, Name
from airpipe.schemas.catalog import AirbyteCatalog, SourceSchema

# SOURCES


class SourceCreate(Base):
    workspace_id: uuid.UUID
    source_definition_id: uuid.UUID
    connection_configuration: ConnectorConfig
    name: Name


class SourceUpdate(Base):
    source_id: uuid.UUID
    connection_configuration: ConnectorConfig
    name: Name


class SourceRecreate(Base):
    source_definition_id: uuid.UUID
    source_id: uuid.UUID
    workspace_id: uuid.UUID
    connection_configuration: ConnectorConfig
    name: Name


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


class DestinationUpdate(Base):
    destination_id: uuid.UUID
    connection_configuration: ConnectorConfig
    name: Name


class DestinationRecreate(Base):
    destination_definition_id: uuid.UUID
    destination_id: uuid.UUID
    workspace_id: uuid.UUID
    connection_configuration: ConnectorConfig
    name: Name


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


class DestinationReadList(Base):
    destinations: list[DestinationRead]


# CHECKS


class CheckConnectionRead(Base):
    status: CheckConnectionStatus
    message: str | None = None
