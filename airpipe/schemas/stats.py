"""A connection's (or a source's, or a destination's) syncs over a window of time."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from airpipe.schemas.base import Base, Int64

#: the default window: the last week
DEFAULT_WINDOW = 7 * 86400


class StatsWindow(Base, kw_only=True):
    #: epoch seconds; default: a week before windowEnd
    window_start: Int64 | None = None
    #: epoch seconds; default: now
    window_end: Int64 | None = None
    #: the width of each throughput bucket; default: a 24th of the window (at least a minute)
    bucket_seconds: Annotated[int, msgspec.Meta(ge=60, le=31 * 86400)] | None = None


class ConnectionStatsRequestBody(StatsWindow, kw_only=True):
    connection_id: uuid.UUID


class SourceStatsRequestBody(StatsWindow, kw_only=True):
    source_id: uuid.UUID


class DestinationStatsRequestBody(StatsWindow, kw_only=True):
    destination_id: uuid.UUID


class SyncCounts(Base, kw_only=True):
    """Sync and reset jobs created in the window, by how they ended (or that they have not)."""

    succeeded: int
    failed: int
    cancelled: int
    running: int
    pending: int


class ThroughputBucket(Base):
    start: int
    records: int
    bytes: int


class RecentError(Base, kw_only=True):
    job_id: int
    attempt_number: int
    at: int
    message: str | None = None
    origin: str | None = None
    failure_type: str | None = None


class StreamTotals(Base):
    stream_name: str
    records: int
    bytes: int


class SyncStatsRead(Base, kw_only=True):
    window_start: int
    window_end: int
    bucket_seconds: int
    syncs: SyncCounts
    records_synced: int
    bytes_synced: int
    #: records and bytes by the time their attempt ended, oldest bucket first (every bucket, empty ones too)
    throughput: list[ThroughputBucket]
    #: the last ten failed attempts, newest first
    recent_errors: list[RecentError]
    streams: list[StreamTotals]
