"""Creating jobs: commit the job row first, then enqueue it (the database is the truth, the queue
only delivers). Synchronous jobs (check, discover, spec) are then waited for, bounded."""

from __future__ import annotations

import logging
import time
from typing import Any

import msgspec
import peewee
from huey.exceptions import ResultTimeout as HueyTimeout

from airpipe.errors import OUTAGES, InvalidInput, JobTimeout, NoWorker
from airpipe.models import ABANDONED, ACTIVE, RESET, SYNC, Actor, ActorDefinition, Attempt, Connection, Job, now, record_event, transaction
from airpipe.models.crypto import unseal
from airpipe.schemas.catalog import AirbyteCatalog
from airpipe.services import authorship, catalogs, options
from airpipe.services.secrets import secret_values
from airpipe.worker import job_configs, runner, tasks
from airpipe.worker.job_configs import ConnectorJob, Endpoint, Image, SampleJob, SyncJob
from airpipe.worker.watch import live_workers

logger = logging.getLogger("airpipe")


def image(definition: ActorDefinition) -> Image:
    return Image(repository=definition.docker_repository, tag=definition.docker_image_tag)


def run_synchronous_job(config_type: str, scope: str, config: ConnectorJob) -> Job:
    """Run a check/discover/spec job on a worker and wait for it to end (``JobTimeout`` if not).

    With no live worker it fails at once (``NoWorker``) rather than after the whole wait; a job
    nobody waits for any more is failed, so that no worker runs it later for nobody.
    """
    if options.workers_required and live_workers(options.worker_liveness) == 0:
        raise NoWorker(f"no worker is running to {_VERBS.get(config_type, 'run the job')}: start `airpipe worker`")
    job = _create_job(config_type, scope, config)
    try:
        tasks.enqueue_job(job.id)
        return wait_for(job.id, options.job_wait_timeout)
    except BaseException:
        abandon(job.id)
        raise


_VERBS = {
    "get_spec": "read the connector's spec",
    "check_connection_source": "check the source",
    "check_connection_destination": "check the destination",
    "discover_schema": "discover the schema",
}


def run_sample_job(scope: str, config: SampleJob) -> list[dict[str, Any]]:
    """Run a read_sample job on a worker and wait for its records, which come back through the
    queue's result store (sealed), not the job row: they are never kept. ``JobTimeout`` if it
    does not answer in time; ``InvalidInput`` with the connector's reason if it failed.

    Giving up, it marks the job abandoned and only then removes an answer that came meanwhile;
    the worker removes one that comes later (see ``tasks.run_sample``)."""
    if options.workers_required and live_workers(options.worker_liveness) == 0:
        raise NoWorker("no worker is running to read a sample: start `airpipe worker`")
    job = _create_job("read_sample", scope, config)
    result = None
    try:
        result = tasks.run_sample(job.id)
        # the job's own limit, and then some for starting the connector and the queue's delay
        sealed = result.get(blocking=True, timeout=config.seconds + options.job_wait_timeout, backoff=1.5, max_delay=0.5)
    except BaseException as exc:
        abandon(job.id)
        if result is not None:
            tasks.discard_sample(result)
        if isinstance(exc, HueyTimeout):
            raise JobTimeout(f"read_sample job {job.id} did not finish in time; its logs are in jobs/get") from None
        raise
    if sealed is None:
        raise InvalidInput(f"Reading a sample failed: {failure_message(Job.get_by_id(job.id))} (job {job.id})")
    records: list[dict[str, Any]] = unseal(sealed)
    return records


def wait_for(job_id: int, timeout: float) -> Job:
    deadline = time.monotonic() + timeout
    delay = 0.02
    while True:
        job = Job.get_by_id(job_id)
        if job.is_final:
            return job
        if time.monotonic() >= deadline:
            raise JobTimeout(f"{job.config_type} job {job.id} did not finish within {timeout:g} s; follow it with jobs/get")
        time.sleep(delay)
        delay = min(delay * 1.5, 0.5)


def abandon(job_id: int) -> None:
    """Note that the caller of a synchronous job gave up on it (a worker that runs it anyway then
    keeps no answer for nobody), and fail it unless a worker has already taken it."""
    try:
        with transaction():
            record_event(job_id, ABANDONED, reason="the request that waited for it gave up")
            if Job.update(status="failed", updated_at=now()).where(Job.id == job_id, Job.status == "pending").execute():
                record_event(job_id, "failed", reason="nobody waits for its answer any more")
    except OUTAGES:  # the database is down: the worker's claim refuses it later (runner._claim)
        logger.warning("could not mark the abandoned job %s failed", job_id)


def failure_message(job: Job) -> str:
    """What went wrong in a failed job, from its last attempt's failure summary."""
    attempt = job.attempts.order_by(Attempt.number.desc()).first()
    failures = ((attempt.failure_summary or {}).get("failures") or []) if attempt else []
    if failures:
        return failures[0].get("externalMessage") or "the job failed"
    return f"{job.config_type} job {job.id} {job.status}"


StreamKey = tuple[str, str | None]


def start_sync(connection: Connection, config_type: str = SYNC, *, only: set[StreamKey] | None = None, fresh: bool = False) -> Job:
    """Create (or return the already active) sync or reset job of a connection: of all its
    selected streams, or ``only`` those (read from the start, ``fresh``, for a resync)."""
    config = sync_config(connection, only=only, fresh=fresh)
    try:
        job = _create_job(config_type, str(connection.id), config)
    except peewee.IntegrityError:
        # The database refused a second active sync/reset for this connection: hand back the one
        # that is running, as Airbyte's createOrGetActiveSyncJob does.
        active = active_sync_job(connection)
        if active is None:  # it finished between our insert and this read; try once more
            return start_sync(connection, config_type, only=only, fresh=fresh)
        return active
    try:
        tasks.enqueue_job(job.id)
    except OUTAGES as exc:
        # The job is committed: it is accepted. The workers' reaper sends it again once the
        # queue is back (it re-sends attempts due for a while that nobody took: this one now).
        runner.mark_unsent(job.id)
        logger.warning("job %s is stored but could not be queued (%s); it is sent again when the queue is back", job.id, exc)
    return Job.get_by_id(job.id)  # re-read: an immediate-mode queue has already run it


def active_sync_job(connection: Connection) -> Job | None:
    active: Job | None = (
        Job.select().where(Job.scope == str(connection.id), Job.config_type.in_((SYNC, RESET)), Job.status.in_(ACTIVE)).first()
    )
    return active


def sync_config(connection: Connection, *, only: set[StreamKey] | None = None, fresh: bool = False) -> SyncJob:
    """Everything a worker needs to run the connection (``only`` some of its selected streams;
    ``fresh``: without their state, overwriting them), snapshotted into the job."""
    source: Actor = connection.source
    destination: Actor = connection.destination
    catalog = msgspec.convert(connection.catalog, AirbyteCatalog)
    secrets = [
        *secret_values(source.configuration, source.definition.spec or {}),
        *secret_values(destination.configuration, destination.definition.spec or {}),
    ]
    streams = catalogs.configured_streams(
        catalog,
        prefix=connection.prefix,
        namespace_definition=connection.namespace_definition,
        namespace_format=connection.namespace_format,
    )
    if only is not None:
        streams = [s for s in streams if s.key in only]
    if fresh:
        streams = [msgspec.structs.replace(s, destination_sync_mode="overwrite") for s in streams]
    return SyncJob(
        connection_id=str(connection.id),
        secrets=secrets,
        source=Endpoint(image=image(source.definition), config=source.configuration),
        destination=Endpoint(image=image(destination.definition), config=destination.configuration),
        streams=streams,
        partial=only is not None,
        fresh=fresh,
    )


def _create_job(config_type: str, scope: str, config: ConnectorJob | SyncJob | SampleJob) -> Job:
    # Every job is born with its first attempt, so a client polling a pending job already sees
    # one entry in `attempts` (CONTRACT.md); the worker that claims the job runs that attempt.
    with transaction():
        job = Job.create(config_type=config_type, scope=scope, config=job_configs.stored(config), created_by=authorship.by())
        Attempt.create(job=job, number=1)
        record_event(job.id, "pending", reason="created", at=job.created_at)
    return job


def require_success(job: Job, what: str) -> dict[str, Any]:
    if job.status != "succeeded" or job.output is None:
        raise InvalidInput(f"{what} failed: {failure_message(job)} (job {job.id})")
    output: dict[str, Any] = job.output
    return output
