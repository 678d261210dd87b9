"""The job handlers: one per job config type, each given the job's decoded config (the Struct
job_configs.CONFIGS names for its type) and returning its output; and the launcher they run
connectors with, as this worker is configured (runner_options)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec

from airpipe.connectors.launcher import Launcher
from airpipe.connectors.registry import is_builtin, resolve
from airpipe.models import Attempt, ConnectionState, Job, transaction
from airpipe.worker import checkpoints, sampling, sync
from airpipe.worker.attempt_log import AttemptLog
from airpipe.worker.job_configs import ConnectorJob, Image, SampleJob, SyncJob
from airpipe.worker.queue import runner_options


class Cancelled(Exception):
    """The job was cancelled while it ran; the cancel already wrote its status."""


def launcher(image: Image, log: AttemptLog) -> Launcher:
    command = resolve(image.repository, image.tag, search_dirs=runner_options.connector_dirs)
    sandbox = runner_options.sandbox
    if sandbox is not None and is_builtin(image.repository):
        sandbox = sandbox.for_builtin()
    return Launcher(
        command,
        env=runner_options.connector_env,
        timeout=runner_options.connector_timeout,
        on_log=log,
        run_root=runner_options.run_root,
        sandbox=sandbox,
    )


def _get_spec(config: ConnectorJob, job: Job, attempt: Attempt, log: AttemptLog) -> Any:
    return msgspec.to_builtins(launcher(config.image, log).spec())


def _check(config: ConnectorJob, job: Job, attempt: Attempt, log: AttemptLog) -> Any:
    status = launcher(config.image, log).check(config.config or {})
    # the status message is the connector's own words ("invalid api key <key>"): it becomes the
    # job's output and the API's answer, so it is scrubbed as a log line is
    message = log.scrub(status.message) if status.message else status.message
    return {"status": "succeeded" if status.status.value == "SUCCEEDED" else "failed", "message": message}


def _discover(config: ConnectorJob, job: Job, attempt: Attempt, log: AttemptLog) -> Any:
    # a catalog is data, not a message: it is not scrubbed (see airpipe.worker.scrubbing)
    return msgspec.to_builtins(launcher(config.image, log).discover(config.config or {}))


def _sync(config: SyncJob, job: Job, attempt: Attempt, log: AttemptLog) -> Any:
    stored = ConnectionState.get_or_none(ConnectionState.connection == config.connection_id)
    run = sync.SyncRun(
        job_id=job.id,
        attempt_id=attempt.id,
        connection_id=config.connection_id,
        streams=config.streams,
        state=None if config.fresh else sync.state_input(stored),
        log=log,
        silence_timeout=runner_options.source_silence_timeout,
    )
    source, destination = config.source, config.destination
    run.execute(launcher(source.image, log), source.config, launcher(destination.image, log), destination.config)
    if run.cancelled:
        raise Cancelled
    return None


def _reset(config: SyncJob, job: Job, attempt: Attempt, log: AttemptLog) -> Any:
    """Empty the destination streams (an overwrite with no records) and forget the state."""
    streams = [msgspec.structs.replace(s, sync_mode="full_refresh", destination_sync_mode="overwrite") for s in config.streams]
    run = sync.SyncRun(job_id=job.id, attempt_id=attempt.id, connection_id=config.connection_id, streams=streams, state=None, log=log)
    run.execute(None, None, launcher(config.destination.image, log), config.destination.config)
    if run.cancelled:
        raise Cancelled
    if config.partial:
        checkpoints.forget(config.connection_id, [s.key for s in config.streams])
    else:
        with transaction():
            ConnectionState.delete().where(ConnectionState.connection == config.connection_id).execute()
    return None


class Handoff(msgspec.Struct):
    """A handler's output for its caller only: the job succeeds with no output stored, and the
    task that ran it takes the value (``take_handoff``) to answer with."""

    value: Any


def _read_sample(config: SampleJob, job: Job, attempt: Attempt, log: AttemptLog) -> Any:
    records = sampling.read_sample(launcher(config.image, log), config)
    log.info(f"read {len(records)} sample records of stream {config.stream['name']} (handed back, not kept)")
    return Handoff(records)


HANDLERS: dict[str, Callable[[Any, Job, Attempt, AttemptLog], Any]] = {
    "get_spec": _get_spec,
    "check_connection_source": _check,
    "check_connection_destination": _check,
    "discover_schema": _discover,
    "sync": _sync,
    "reset_connection": _reset,
    "read_sample": _read_sample,
}
