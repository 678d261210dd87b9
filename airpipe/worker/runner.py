"""Running one attempt of a job, and keeping every job moving.

The database decides who runs what. A worker takes an attempt by setting its lease in one
conditional UPDATE, so a duplicate queue message or a second worker can never run it twice, and
renews the lease while it works (a heartbeat). ``tick`` finds attempts whose lease expired (their
worker died) and jobs whose queue message was lost, and hands them back to the queue.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import traceback
import uuid
from typing import Any

import msgspec

from airpipe import logs
from airpipe.connectors import rundir
from airpipe.connectors.errors import ConnectorError
from airpipe.models import (
    ABANDONED,
    ACTIVE,
    FINAL,
    RESET,
    SYNC,
    Attempt,
    Connection,
    Job,
    JobEvent,
    LogLine,
    WorkerBeat,
    db,
    now,
    record_event,
    transaction,
)
from airpipe.worker import alerts, job_configs, notifications, sync
from airpipe.worker.attempt_log import AttemptLog
from airpipe.worker.handlers import HANDLERS, Cancelled, Handoff
from airpipe.worker.queue import runner_options

logger = logging.getLogger("airpipe.worker")

#: an attempt that has been due this long (seconds) without any worker taking it lost its queue message
LOST_AFTER = 60
#: unique per process start: a container restarted with the same host name and pid is a new worker
WORKER_ID = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
RETRIED = (SYNC, RESET)


class Failure(msgspec.Struct):
    message: str
    origin: str
    failure_type: str = "system_error"
    #: the message with the connector's last log lines, for whoever debugs the failure
    detail: str | None = None

    @property
    def retryable(self) -> bool:
        return self.failure_type != "config_error"


def run_job(job_id: int) -> float | None:
    """Run the job's current attempt. Returns the delay after which the job must run again (a
    retry was scheduled), or None."""
    with db.connection_context():
        claimed = _claim(job_id)
        if claimed is None:
            return None
        job, attempt = claimed
        connection = job.scope if job.config_type in RETRIED else None
        with logs.job_context(job.id, attempt.number, connection):  # every log line names the job
            logger.info("running %s job %s, attempt %s", job.config_type, job.id, attempt.number)
            return _run_attempt(job, attempt)


def _run_attempt(job: Job, attempt: Attempt) -> float | None:
    try:
        config = job_configs.decode(job.config_type, job.config)
    except job_configs.BadJobConfig as exc:  # a row this version cannot run: the job fails, the worker goes on
        log = AttemptLog(attempt.id, [])
        log.error(str(exc))
        log.close()
        return fail_attempt(job, attempt, Failure(str(exc), "airpipe", "config_error"))
    log = AttemptLog(attempt.id, config.secrets)
    if runner_options.sandbox is not None:
        log.info(runner_options.sandbox.describe())
    with Heartbeat(attempt.id, runner_options.lease_seconds):
        try:
            output = HANDLERS[job.config_type](config, job, attempt, log)
        except Cancelled:
            log.info("the job was cancelled")
            log.close()
            return None
        except ConnectorError as exc:
            log.error(str(exc))
            failure = Failure(log.scrub(exc.message), _origin(job, exc), exc.failure_type or "system_error", log.scrub(str(exc)))
        except Exception as exc:  # our own bug: the traceback goes to the log, not to the API
            logger.exception("job %s failed", job.id)
            log.error(traceback.format_exc())
            failure = Failure(log.scrub(f"airpipe failed to run the job: {exc}"), "airpipe")
        else:
            log.close()
            _succeed(job, attempt, output)
            return None
    log.close()
    return fail_attempt(job, attempt, failure)


def tick(*, reap: bool = True) -> list[tuple[int, float]]:
    """The periodic sweep: ``(job_id, delay)`` for every job to enqueue again (``reap_attempts``); besides,
    finished jobs older than the retention period are deleted with their logs, and run
    directories of connectors whose worker died (configs included) are removed."""
    if runner_options.run_root is not None:
        for path in rundir.sweep(runner_options.run_root):
            logger.info("removed %s, left behind by a worker that died", path)
    due = reap_attempts() if reap else []
    with db.connection_context():
        _prune(now() - runner_options.job_retention_days * 86400)
        with transaction():
            alerts.check_silences()
    return due


def reap_attempts() -> list[tuple[int, float]]:
    """``(job_id, delay)`` for every job to enqueue again (run every few seconds by each worker's
    ``Watch``, and by the minute tick):

    - an attempt whose lease expired and whose worker's beat went stale lost its worker: it
      fails, and is retried if it may be. A worker that still beats was only cut off from the
      database for a while (its lease renewal failed): it keeps its attempt and renews it;
    - an attempt due for a while that no worker took lost its queue message: it is re-sent.
    """
    due: list[tuple[int, float]] = []
    with db.connection_context():
        timestamp = now()
        alive = WorkerBeat.select(WorkerBeat.worker).where(WorkerBeat.beat_at >= timestamp - runner_options.lease_seconds)
        expired = Attempt.select().where(
            Attempt.status == "running", Attempt.lease_expires_at < timestamp, Attempt.worker.not_in(alive)
        )
        for attempt in expired:
            failure = Failure(f"the worker running this attempt ({attempt.worker}) stopped responding", "airpipe")
            delay = fail_attempt(attempt.job, attempt, failure, expected_lease=attempt.lease_expires_at)
            if delay is not None:
                due.append((attempt.job_id, delay))
        lost = (
            Attempt.select(Attempt.job)
            .join(Job)
            .where(
                Attempt.status == "running",
                Attempt.lease_expires_at.is_null(),
                Attempt.scheduled_at < timestamp - LOST_AFTER,
                Job.status.in_(ACTIVE),
            )
        )
        due += [(attempt.job_id, 0.0) for attempt in lost]
    return due


def mark_unsent(job_id: int) -> None:
    """The job's queue message could not be sent (the queue was down): date its waiting attempt
    back so that the next ``reap_attempts`` finds it lost and sends it again."""
    with transaction():
        Attempt.update(scheduled_at=now() - LOST_AFTER - 1).where(
            Attempt.job == job_id, Attempt.status == "running", Attempt.lease_expires_at.is_null()
        ).execute()


def _claim(job_id: int) -> tuple[Job, Attempt] | None:
    timestamp = now()
    with transaction():
        job = Job.get_or_none(Job.id == job_id)
        if job is None or job.status in FINAL:
            return None
        if job.config_type not in RETRIED and job.created_at < timestamp - runner_options.synchronous_job_ttl:
            # the request that wanted this check/discover/spec gave up long ago (or died)
            if Job.update(status="failed", updated_at=timestamp).where(Job.id == job.id, Job.status == "pending").execute():
                record_event(job.id, "failed", reason="nobody waits for its answer any more", at=timestamp)
            return None
        attempt = job.attempts.where(Attempt.status == "running").order_by(Attempt.number.desc()).first()
        if attempt is None or attempt.scheduled_at > timestamp:
            return None  # nothing to run, or a retry whose backoff is not over (its own message will come)
        taken = (
            Attempt.update(lease_expires_at=timestamp + runner_options.lease_seconds, worker=WORKER_ID, updated_at=timestamp)
            .where(Attempt.id == attempt.id, (Attempt.lease_expires_at.is_null()) | (Attempt.lease_expires_at < timestamp))
            .execute()
        )
        if taken != 1:
            return None
        record_event(job.id, "running", attempt=attempt.number, reason=f"taken by worker {WORKER_ID}", at=timestamp)
        Job.update(status="running", updated_at=timestamp).where(Job.id == job.id, Job.status.in_(ACTIVE)).execute()
        if job.status == "pending":  # a retry's job is running already
            record_event(job.id, "running", at=timestamp)
    return Job.get_by_id(job_id), Attempt.get_by_id(attempt.id)


class Heartbeat:
    """Renews an attempt's lease every third of its length, from a thread of its own."""

    def __init__(self, attempt_id: int, lease_seconds: int) -> None:
        self.attempt_id = attempt_id
        self.lease_seconds = lease_seconds
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=f"heartbeat-{attempt_id}", daemon=True)

    def __enter__(self) -> Heartbeat:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stopped.set()
        self.thread.join()

    def _beat(self) -> None:
        while not self.stopped.wait(self.lease_seconds / 3):
            try:
                with db.connection_context():
                    Attempt.update(lease_expires_at=now() + self.lease_seconds).where(
                        Attempt.id == self.attempt_id, Attempt.status == "running"
                    ).execute()
            except Exception:  # a missed beat is retried at the next one; the lease has slack
                logger.warning("heartbeat of attempt %s failed", self.attempt_id, exc_info=True)


def _succeed(job: Job, attempt: Attempt, output: Any) -> None:
    if isinstance(output, Handoff):
        _handoffs[job.id] = output.value
        output = None
    timestamp = now()
    with transaction():
        if Attempt.update(status="succeeded", ended_at=timestamp, updated_at=timestamp, lease_expires_at=None).where(
            Attempt.id == attempt.id, Attempt.status == "running"
        ).execute():
            record_event(job.id, "succeeded", attempt=attempt.number, at=timestamp)
        # `status == running`: a job cancelled meanwhile stays cancelled
        if Job.update(status="succeeded", output=output, updated_at=timestamp).where(Job.id == job.id, Job.status == "running").execute():
            record_event(job.id, "succeeded", at=timestamp)
            _announce(job, "sync_succeeded", {"recordsSynced": Attempt.get_by_id(attempt.id).records_synced}, succeeded=True)


def fail_attempt(job: Job, attempt: Attempt, failure: Failure, *, expected_lease: int | None = None) -> float | None:
    """Fail the attempt; then either create the next one (returns its backoff delay) or fail the job.

    ``expected_lease`` (from the sweep) makes this a no-op if the attempt's worker renewed the
    lease in the meantime: it was slow, not dead.
    """
    timestamp = now()
    summary = {
        "failures": [
            {
                "failureOrigin": failure.origin,
                "failureType": failure.failure_type,
                "externalMessage": failure.message,
                "internalMessage": failure.detail,
                "retryable": failure.retryable,
                "timestamp": timestamp,
            }
        ]
    }
    retry = failure.retryable and job.config_type in RETRIED and attempt.number < runner_options.max_attempts
    delay = runner_options.retry_backoff * 2 ** (attempt.number - 1) if retry else None
    with transaction():
        condition = (Attempt.id == attempt.id) & (Attempt.status == "running")
        if expected_lease is not None:
            condition &= Attempt.lease_expires_at == expected_lease
        updated = (
            Attempt.update(status="failed", ended_at=timestamp, updated_at=timestamp, lease_expires_at=None, failure_summary=summary)
            .where(condition)
            .execute()
        )
        if updated != 1:
            return None  # already handled by someone else
        record_event(job.id, "failed", attempt=attempt.number, reason=failure.message, at=timestamp)
        if Job.select(Job.status).where(Job.id == job.id).scalar() != "running":
            return None  # cancelled
        if delay is not None:
            # the job keeps reading `running` between attempts (CONTRACT.md)
            Attempt.create(job=job.id, number=attempt.number + 1, scheduled_at=timestamp + int(delay))
            record_event(job.id, "pending", attempt=attempt.number + 1, reason=f"a retry, in {delay:g} s", at=timestamp)
            Job.update(updated_at=timestamp).where(Job.id == job.id).execute()
        else:
            Job.update(status="failed", updated_at=timestamp).where(Job.id == job.id, Job.status == "running").execute()
            record_event(job.id, "failed", reason=failure.message, at=timestamp)
            _announce(job, "sync_failed", {"message": failure.message, "failureOrigin": failure.origin}, succeeded=False)
    if delay is not None:
        logger.info("job %s attempt %s failed (%s); retrying in %g s", job.id, attempt.number, failure.message, delay)
    return delay


def _announce(job: Job, event: str, details: dict[str, Any], *, succeeded: bool) -> None:
    """A sync's or reset's end, to the notification channels that want it and to the alert
    rules (in the caller's transaction)."""
    if job.config_type not in RETRIED or not _is_uuid(job.scope):
        return
    connection = Connection.get_or_none(Connection.id == job.scope)
    if connection is not None:
        notifications.queue_event(event, connection, {"jobId": job.id, "jobType": job.config_type, **details})
        alerts.after_sync(connection, succeeded, details.get("recordsSynced") or 0)


def _is_uuid(text: str) -> bool:
    """A sync's scope names its connection; a row written by hand (or by a test) may not."""
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


def _prune(before: int) -> None:
    with transaction():
        old = Job.select(Job.id).where(Job.status.in_(FINAL), Job.updated_at < before)
        attempts = Attempt.select(Attempt.id).where(Attempt.job.in_(old))
        LogLine.delete().where(LogLine.attempt.in_(attempts)).execute()
        JobEvent.delete().where(JobEvent.job.in_(old)).execute()
        Attempt.delete().where(Attempt.job.in_(old)).execute()
        Job.delete().where(Job.id.in_(old)).execute()


def _origin(job: Job, exc: ConnectorError) -> str:
    if isinstance(exc, sync.SyncFailure):
        return exc.origin
    return "destination" if job.config_type == "check_connection_destination" else "source"


#: job id -> what its handler handed off, until the task that ran it takes it (same process)
_handoffs: dict[int, Any] = {}


def take_handoff(job_id: int) -> Any:
    return _handoffs.pop(job_id, None)


def nobody_waits(job_id: int) -> bool:
    """Whether the request that waited for this synchronous job's answer gave up on it."""
    with db.connection_context():
        return bool(JobEvent.select().where(JobEvent.job == job_id, JobEvent.status == ABANDONED).exists())
