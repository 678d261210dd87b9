"""The two views of a catalog: the seed's ``syncSchema`` and Airbyte's later ``syncCatalog``."""

from __future__ import annotations

import enum
from typing import Any

from airpipe.schemas.base import Base, DataType, DestinationSyncMode, SyncMode

# THE SEED'S VIEW


class SourceSchemaField(Base, kw_only=True):
    name: str
    cleaned_name: str | None = None
    data_type: DataType
    selected: bool


class SourceSchemaStream(Base, kw_only=True):
    name: str
    cleaned_name: str | None = None
    fields: list[SourceSchemaField]
    supported_sync_modes: list[SyncMode] | None = None
    source_defined_cursor: bool | None = None
    default_cursor_field: list[str] | None = None
    selected: bool | None = None
    sync_mode: SyncMode | None = None
    cursor_field: list[str] | None = None


class SourceSchema(Base):
    """describes the available schema."""

    streams: list[SourceSchemaStream]


# AIRBYTE'S LATER VIEW


class AirbyteStream(Base):
    name: str
    json_schema: dict[str, Any] | None = None
    supported_sync_modes: list[SyncMode] | None = None
    source_defined_cursor: bool | None = None
    default_cursor_field: list[str] | None = None
    source_defined_primary_key: list[list[str]] | None = None
    namespace: str | None = None


class AirbyteStreamConfiguration(Base, kw_only=True):
    sync_mode: SyncMode
    cursor_field: list[str] | None = None
    destination_sync_mode: DestinationSyncMode
    primary_key: list[list[str]] | None = None
    alias_name: str | None = None
    selected: bool | None = None


class AirbyteStreamAndConfiguration(Base):
    stream: AirbyteStream
    config: AirbyteStreamConfiguration


class AirbyteCatalog(Base):
    streams: list[AirbyteStreamAndConfiguration]


# SCHEMA REFRESH: what changed between two catalogs (Airbyte's later CatalogDiff)


class StreamDescriptor(Base, kw_only=True):
    name: str
    namespace: str | None = None


class StreamTransformType(enum.Enum):
    add_stream = "add_stream"
    remove_stream = "remove_stream"
    update_stream = "update_stream"


class FieldTransformType(enum.Enum):
    add_field = "add_field"
    remove_field = "remove_field"
    update_field_schema = "update_field_schema"


class FieldTransform(Base, kw_only=True):
    transform_type: FieldTransformType
    field_name: list[str]
    old_schema: dict[str, Any] | None = None
    new_schema: dict[str, Any] | None = None


class StreamTransform(Base, kw_only=True):
    transform_type: StreamTransformType
    stream_descriptor: StreamDescriptor
    update_stream: list[FieldTransform] | None = None


class CatalogDiff(Base):
    transforms: list[StreamTransform]
