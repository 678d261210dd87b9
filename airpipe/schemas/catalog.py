"""The two views of a catalog: the seed's ``syncSchema`` and Airbyte's later ``syncCatalog``."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import msgspec

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


class SyncFrequency(enum.Enum):
    """How often a stream with a schedule of its own syncs (PostHog's values)."""

    every_5_minutes = "5min"
    every_30_minutes = "30min"
    hourly = "1hour"
    every_6_hours = "6hour"
    every_12_hours = "12hour"
    daily = "24hour"
    weekly = "7day"
    monthly = "30day"


#: a time of day, UTC: "HH:MM" or "HH:MM:SS"
TimeOfDay = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$", examples=["01:00"])]


class AirbyteStreamConfiguration(Base, kw_only=True):
    sync_mode: SyncMode
    cursor_field: list[str] | None = None
    destination_sync_mode: DestinationSyncMode
    primary_key: list[list[str]] | None = None
    alias_name: str | None = None
    selected: bool | None = None
    #: a schedule of the stream's own, on top of the connection's (which then no longer covers
    #: it): every ``syncFrequency``, at ``syncTimeOfDay`` (UTC) and every period after it
    sync_frequency: SyncFrequency | None = None
    sync_time_of_day: TimeOfDay | None = None


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
