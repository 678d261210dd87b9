"""How a connection's syncs went over a window of time (and a source's or a destination's, over
all their connections): outcomes, records and bytes moved, throughput, recent errors, streams."""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

from airpipe.errors import InvalidInput
from airpipe.models import DESTINATION, RESET, SOURCE, SYNC, Attempt, Connection, Job, now
from airpipe.schemas.stats import (
    DEFAULT_WINDOW,
    ConnectionStatsRequestBody,
    DestinationStatsRequestBody,
    RecentError,
    SourceStatsRequestBody,
    StatsWindow,
    StreamTotals,
    SyncCounts,
    SyncStatsRead,
    ThroughputBucket,
)
from airpipe.services.actors import get_actor
from airpipe.services.connections import get_connection_model

RECENT_ERRORS = 10


def connection_stats(request: ConnectionStatsRequestBody) -> SyncStatsRead:
    return _stats([str(get_connection_model(request.connection_id).id)], request)


def source_stats(request: SourceStatsRequestBody) -> SyncStatsRead:
    source = get_actor(SOURCE, request.source_id)
    return _stats([str(c.id) for c in Connection.select(Connection.id).where(Connection.source == source.id)], request)


def destination_stats(request: DestinationStatsRequestBody) -> SyncStatsRead:
    destination = get_actor(DESTINATION, request.destination_id)
    return _stats([str(c.id) for c in Connection.select(Connection.id).where(Connection.destination == destination.id)], request)


def _stats(scopes: list[str], window: StatsWindow) -> SyncStatsRead:
    """The figures of the sync and reset jobs of ``scopes`` created in the window, both ends
    included (two queries)."""
    end = window.window_end if window.window_end is not None else now()
    start = window.window_start if window.window_start is not None else end - DEFAULT_WINDOW
    if start >= end:
        raise InvalidInput.field("$.windowStart", f"must be before windowEnd ({end})", start)
    width = window.bucket_seconds or max(60, math.ceil((end - start) / 24))
    jobs = Job.select(Job.id, Job.status).where(
        Job.scope.in_(scopes), Job.config_type.in_((SYNC, RESET)), Job.created_at >= start, Job.created_at <= end
    )
    counts = Counter(job.status for job in jobs)
    attempts = Attempt.select(
        Attempt.job, Attempt.number, Attempt.status, Attempt.records_synced, Attempt.bytes_synced, Attempt.stats,
        Attempt.failure_summary, Attempt.ended_at, Attempt.updated_at,
    ).where(Attempt.job.in_(jobs.select(Job.id)))  # fmt: skip
    buckets = [ThroughputBucket(start + i * width, 0, 0) for i in range(math.ceil((end - start) / width))]
    streams: dict[str, list[int]] = {}
    errors: list[RecentError] = []
    for attempt in attempts:
        when = attempt.ended_at or attempt.updated_at
        bucket = buckets[min(max((when - start) // width, 0), len(buckets) - 1)]
        bucket.records += attempt.records_synced or 0
        bucket.bytes += attempt.bytes_synced or 0
        for stream in (attempt.stats or {}).get("streamStats") or []:
            totals = streams.setdefault(stream["streamName"], [0, 0])
            totals[0] += stream["stats"].get("recordsEmitted") or 0
            totals[1] += stream["stats"].get("bytesEmitted") or 0
        if attempt.status == "failed":
            errors.append(_error(attempt, when))
    errors.sort(key=lambda e: (e.at, e.job_id, e.attempt_number), reverse=True)
    return SyncStatsRead(
        window_start=start,
        window_end=end,
        bucket_seconds=width,
        syncs=SyncCounts(**{status: counts[status] for status in ("succeeded", "failed", "cancelled", "running", "pending")}),
        records_synced=sum(b.records for b in buckets),
        bytes_synced=sum(b.bytes for b in buckets),
        throughput=buckets,
        recent_errors=errors[:RECENT_ERRORS],
        streams=[StreamTotals(name, records, size) for name, (records, size) in sorted(streams.items())],
    )


def _error(attempt: Attempt, when: int) -> RecentError:
    failures: list[dict[str, Any]] = (attempt.failure_summary or {}).get("failures") or [{}]
    first = failures[0]
    return RecentError(
        job_id=attempt.job_id,
        attempt_number=attempt.number,
        at=when,
        message=first.get("externalMessage"),
        origin=first.get("failureOrigin"),
        failure_type=first.get("failureType"),
    )
