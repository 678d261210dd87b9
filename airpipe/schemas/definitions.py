"""Source and destination definitions (connector images) and their specifications."""

from __future__ import annotations

import uuid

from airpipe.schemas.base import Base, ConnectorConfig, DestinationSyncMode, Name, Url

# SOURCE DEFINITIONS


class SourceDefinitionCreate(Base):
    name: Name
    docker_repository: Name
    docker_image_tag: Name
    documentation_url: Url | None = None


class SourceDefinitionUpdate(Base):
    source_definition_id: uuid.UUID
    docker_image_tag: Name


class SourceDefinitionIdRequestBody(Base):
    source_definition_id: uuid.UUID


class SourceDefinitionRead(Base):
    source_definition_id: uuid.UUID
    name: str
    docker_repository: str
    docker_image_tag: str
    documentation_url: str | None = None


class SourceDefinitionReadList(Base):
    source_definitions: list[SourceDefinitionRead]


class SourceDefinitionSpecificationRead(Base, kw_only=True):
    source_definition_id: uuid.UUID
    documentation_url: str | None = None
    connection_specification: ConnectorConfig


# DESTINATION DEFINITIONS


class DestinationDefinitionCreate(Base):
    name: Name
    docker_repository: Name
    docker_image_tag: Name
    documentation_url: Url | None = None


class DestinationDefinitionUpdate(Base):
    destination_definition_id: uuid.UUID
    docker_image_tag: Name


class DestinationDefinitionIdRequestBody(Base):
    destination_definition_id: uuid.UUID


class DestinationDefinitionRead(Base):
    destination_definition_id: uuid.UUID
    name: str
    docker_repository: str
    docker_image_tag: str
    documentation_url: str | None = None


class DestinationDefinitionReadList(Base):
    destination_definitions: list[DestinationDefinitionRead]


class DestinationDefinitionSpecificationRead(Base, kw_only=True):
    destination_definition_id: uuid.UUID
    documentation_url: str | None = None
    connection_specification: ConnectorConfig
    supports_incremental: bool | None = None
    supported_destination_sync_modes: list[DestinationSyncMode] | None = None
