"""Running one job: claim it in the database, run its current attempt, record how it ended.

The database decides who runs what: a job is claimed by flipping it from pending to running in
one UPDATE, so a duplicate queue message, or two workers, can never run it twice.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

import msgspec

from airpipe.connectors.errors import ConnectorError
from airpipe.connectors.launcher import Launcher
from airpipe.connectors.registry import resolve
from airpipe.models import Attempt, ConnectionState, Job, db, now, transaction
from airpipe.worker import sync
from airpipe.worker.attempt_log import AttemptLog
from airpipe.worker.queue import runner_options

logger = logging.getLogger("airpipe.worker")

#: a pending job this old (seconds) whose queue message was never delivered is enqueued again
LOST_AFTER = 60


class Cancelled(Exception):
    """The job was cancelled while it ran; the cancel already wrote its status."""


def run_job(job_id: int) -> None:
    with db.connection_context():
        if not _claim(job_id):
            return
        job = Job.get_by_id(job_id)
        attempt = _current_attempt(job)
        log = AttemptLog(attempt.id, job.config.get("secrets") or [])
        try:
            output = HANDLERS[job.config_type](job, attempt, log)
        except Cancelled:
            log.info("the job was cancelled")
            log.close()
            return
        except ConnectorError as exc:
            log.error(str(exc))
            _fail(job, attempt, log, exc.message, origin=_origin(job, exc), failure_type=exc.failure_type or "system_error")
        except Exception as exc:  # anything else is our bug: keep the traceback in the log, not in the API
            logger.exception("job %s failed", job_id)
            log.error(traceback.format_exc())
            _fail(job, attempt, log, f"airpipe failed to run the job: {exc}", origin="airpipe", failure_type="system_error")
        else:
            _succeed(job, attempt, log, output)


def _origin(job: Job, exc: ConnectorError) -> str:
    if isinstance(exc, sync.SyncFailure):
        return exc.origin
    return "destination" if job.config_type == "check_connection_destination" else "source"


def lost_job_ids() -> list[int]:
    with db.connection_context():
        query = Job.select(Job.id).where(Job.status == "pending", Job.created_at < now() - LOST_AFTER)
        return [job.id for job in query]


def _claim(job_id: int) -> bool:
    with transaction():
        return Job.update(status="running", updated_at=now()).where(Job.id == job_id, Job.status == "pending").execute() == 1


def _current_attempt(job: Job) -> Attempt:
    attempt = job.attempts.where(Attempt.status == "running").order_by(Attempt.number.desc()).first()
    if attempt is None:
        with transaction():
            attempt = Attempt.create(job=job, number=job.attempts.count() + 1)
    return attempt


def _succeed(job: Job, attempt: Attempt, log: AttemptLog, output: Any) -> None:
    log.close()
    timestamp = now()
    with transaction():
        Attempt.update(status="succeeded", ended_at=timestamp, updated_at=timestamp).where(
            Attempt.id == attempt.id, Attempt.status == "running"
        ).execute()
        # `status == running`: a job cancelled meanwhile stays cancelled
        Job.update(status="succeeded", output=output, updated_at=timestamp).where(Job.id == job.id, Job.status == "running").execute()


def _fail(job: Job, attempt: Attempt, log: AttemptLog, message: str, *, origin: str, failure_type: str) -> None:
    log.close()
    timestamp = now()
    failure = {
        "failures": [
            {
                "failureOrigin": origin,
                "failureType": failure_type,
                "externalMessage": message,
                "retryable": failure_type != "config_error",
                "timestamp": timestamp,
            }
        ]
    }
    with transaction():
        Attempt.update(status="failed", ended_at=timestamp, updated_at=timestamp, failure_summary=failure).where(
            Attempt.id == attempt.id, Attempt.status == "running"
        ).execute()
        Job.update(status="failed", updated_at=timestamp).where(Job.id == job.id, Job.status == "running").execute()


def launcher(image: dict[str, str], log: AttemptLog) -> Launcher:
    command = resolve(image["repository"], image["tag"], search_dirs=runner_options.connector_dirs)
    return Launcher(command, env=runner_options.connector_env, timeout=runner_options.connector_timeout, on_log=log)


# HANDLERS: one per job config type; each returns the job's output


def _get_spec(job: Job, attempt: Attempt, log: AttemptLog) -> Any:
    return msgspec.to_builtins(launcher(job.config["image"], log).spec())


def _check(job: Job, attempt: Attempt, log: AttemptLog) -> Any:
    status = launcher(job.config["image"], log).check(job.config["config"])
    return {"status": "succeeded" if status.status.value == "SUCCEEDED" else "failed", "message": status.message}


def _discover(job: Job, attempt: Attempt, log: AttemptLog) -> Any:
    return msgspec.to_builtins(launcher(job.config["image"], log).discover(job.config["config"]))


def _sync(job: Job, attempt: Attempt, log: AttemptLog) -> Any:
    config = job.config
    stored = ConnectionState.get_or_none(ConnectionState.connection == config["connection_id"])
    run = sync.SyncRun(
        job_id=job.id,
        attempt_id=attempt.id,
        connection_id=config["connection_id"],
        streams=config["streams"],
        state=sync.state_input(stored),
        log=log,
    )
    run.execute(launcher(config["source"]["image"], log), config["source"]["config"],
                launcher(config["destination"]["image"], log), config["destination"]["config"])
    if run.cancelled:
        raise Cancelled
    return None


def _reset(job: Job, attempt: Attempt, log: AttemptLog) -> Any:
    """Empty the destination streams (an overwrite with no records) and forget the state."""
    config = job.config
    streams = [{**s, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"} for s in config["streams"]]
    run = sync.SyncRun(job_id=job.id, attempt_id=attempt.id, connection_id=config["connection_id"], streams=streams, state=None, log=log)
    run.execute(None, None, launcher(config["destination"]["image"], log), config["destination"]["config"])
    if run.cancelled:
        raise Cancelled
    with transaction():
        ConnectionState.delete().where(ConnectionState.connection == config["connection_id"]).execute()
    return None


HANDLERS: dict[str, Callable[[Job, Attempt, AttemptLog], Any]] = {
    "get_spec": _get_spec,
    "check_connection_source": _check,
    "check_connection_destination": _check,
    "discover_schema": _discover,
    "sync": _sync,
    "reset_connection": _reset,
}
