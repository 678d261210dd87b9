"""What `GET /metrics` answers, in Prometheus's text format.

The job figures are read from the database when scraped, so every API process answers the same
for the whole deployment, however many workers run the jobs: jobs by type and status, records
and bytes moved, sync durations, attempts waiting for a worker, live workers. Request latency
(``airpipe_http_request_duration_seconds``, observed by the API) and the process's own figures
are this process's.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import peewee
from prometheus_client import CollectorRegistry, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from airpipe.models import ACTIVE, RESET, SYNC, Attempt, Job, db, now
from airpipe.services import options
from airpipe.worker.watch import live_workers

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
REQUEST_SECONDS = Histogram(
    "airpipe_http_request_duration_seconds",
    "Time to answer an API operation, in this process",
    ["operation"],
    registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 120),
)
#: sync durations' buckets (seconds): from a small table's seconds to a large one's hours
SYNC_BUCKETS = (10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 12 * 3600)


class JobsCollector(Collector):
    """The deployment's job figures, read when scraped (five queries)."""

    def collect(self) -> Iterator[Metric]:
        with db.connection_context():
            yield _jobs()
            yield from _moved()
            yield _sync_durations()
            yield _queue_depth()
            workers = GaugeMetricFamily("airpipe_workers_alive", "Worker processes that beat within AIRPIPE_LEASE_SECONDS")
            workers.add_metric([], live_workers(options.worker_liveness))
            yield workers


REGISTRY.register(JobsCollector())


def scrape() -> bytes:
    return generate_latest(REGISTRY)


def _jobs() -> Metric:
    jobs = GaugeMetricFamily("airpipe_jobs", "Jobs kept (see AIRPIPE_JOB_RETENTION_DAYS), by type and status", labels=["type", "status"])
    counts = Job.select(Job.config_type, Job.status, peewee.fn.COUNT(Job.id)).group_by(Job.config_type, Job.status)
    for config_type, status, count in counts.tuples().iterator():
        jobs.add_metric([config_type, status], count)
    return jobs


def _moved() -> Iterator[Metric]:
    records, size = _row(Attempt.select(_sum(Attempt.records_synced), _sum(Attempt.bytes_synced)))
    # counters over the jobs kept: they drop when old jobs are pruned, which Prometheus reads as a reset
    yield CounterMetricFamily("airpipe_records_synced", "Records moved by the syncs kept", value=int(records))
    yield CounterMetricFamily("airpipe_bytes_synced", "Bytes moved by the syncs kept", value=int(size))


def _sync_durations() -> Metric:
    """Finished syncs' and resets' durations (creation to end), as a histogram, in one query."""
    duration = Job.updated_at - Job.created_at
    finished = (Job.config_type.in_((SYNC, RESET))) & (Job.status.in_(("succeeded", "failed", "cancelled")))
    columns = [peewee.fn.SUM(peewee.Case(None, [(duration <= bound, 1)], 0)) for bound in SYNC_BUCKETS]
    row = _row(Job.select(peewee.fn.COUNT(Job.id), _sum(duration), *columns).where(finished))
    count, total, *cumulative = (int(value or 0) for value in row)
    buckets = [(str(bound), below) for bound, below in zip(SYNC_BUCKETS, cumulative, strict=True)] + [("+Inf", count)]
    title = "Finished syncs and resets, creation to end"
    return HistogramMetricFamily("airpipe_sync_duration_seconds", title, buckets=buckets, sum_value=total)


def _queue_depth() -> Metric:
    waiting = (
        Attempt.select(peewee.fn.COUNT(Attempt.id))
        .join(Job)
        .where(Attempt.status == "running", Attempt.lease_expires_at.is_null(), Attempt.scheduled_at <= now(), Job.status.in_(ACTIVE))
        .scalar()
    )
    depth = GaugeMetricFamily("airpipe_queue_depth", "Attempts due that no worker has taken yet")
    depth.add_metric([], waiting or 0)
    return depth


def _sum(column: peewee.Node) -> peewee.Node:
    return peewee.fn.COALESCE(peewee.fn.SUM(column), 0)


def _row(query: peewee.Select) -> tuple[Any, ...]:
    """The one row of an aggregate query, as plain values."""
    sql, params = query.sql()
    return tuple(db.execute_sql(sql, params).fetchone())
