"""A connection's streams one at a time: what each is set to and how its last sync went, patches
of some of them, syncs, resyncs and resets of a subset, and the diff a schema refresh finds.

A stream is addressed by (connectionId, streamName, streamNamespace); the connection's stored
catalog stays the one source of truth. The diff has the shape of Airbyte's later CatalogDiff."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from airpipe.schemas.base import Base, DestinationSyncMode, JobStatus, SyncMode
from airpipe.schemas.catalog import CatalogDiff, StreamDescriptor, SyncFrequency, TimeOfDay
from airpipe.schemas.connections import ConnectionRead


class StreamsRequestBody(Base, kw_only=True):
    connection_id: uuid.UUID
    streams: Annotated[list[StreamDescriptor], msgspec.Meta(min_length=1)]


class StreamRead(Base, kw_only=True):
    stream_name: str
    stream_namespace: str | None = None
    selected: bool
    sync_mode: SyncMode
    destination_sync_mode: DestinationSyncMode
    cursor_field: list[str] | None = None
    primary_key: list[list[str]] | None = None
    #: when the newest succeeded sync that covered this stream ended (epoch seconds)
    last_synced_at: int | None = None
    #: the newest sync or reset job that covered this stream, whatever its outcome
    last_job_id: int | None = None
    last_job_status: JobStatus | None = None
    records_last_sync: int | None = None
    #: whether the connection holds a checkpoint (state) for this stream
    has_state: bool
    #: a schedule of its own (else the connection's covers it), and when it next runs
    sync_frequency: SyncFrequency | None = None
    sync_time_of_day: str | None = None
    next_sync_at: int | None = None


class StreamReadList(Base):
    streams: list[StreamRead]


class StreamPatch(Base, kw_only=True):
    """One stream's new settings; a field left out keeps its value."""

    stream_name: str
    stream_namespace: str | None = None
    selected: bool | None = None
    sync_mode: SyncMode | None = None
    destination_sync_mode: DestinationSyncMode | None = None
    cursor_field: list[str] | None = None
    primary_key: list[list[str]] | None = None
    #: a schedule of the stream's own (``null``: none, the connection's covers it again)
    sync_frequency: SyncFrequency | None | msgspec.UnsetType = msgspec.UNSET
    sync_time_of_day: TimeOfDay | None | msgspec.UnsetType = msgspec.UNSET


class StreamsUpdate(Base, kw_only=True):
    connection_id: uuid.UUID
    streams: Annotated[list[StreamPatch], msgspec.Meta(min_length=1)]


class IncrementalFieldsRequestBody(Base, kw_only=True):
    connection_id: uuid.UUID
    stream_name: str
    stream_namespace: str | None = None


class IncrementalField(Base, kw_only=True):
    field: list[str]
    type: str  # the JSON Schema type: integer, number, string
    format: str | None = None  # date-time, date
    #: the source's own cursor (sourceDefinedCursor): the only one it honours
    source_defined: bool = False


class IncrementalFieldsRead(Base, kw_only=True):
    stream_name: str
    stream_namespace: str | None = None
    fields: list[IncrementalField]


class RefreshSchemaRead(Base, kw_only=True):
    connection: ConnectionRead
    catalog_diff: CatalogDiff
