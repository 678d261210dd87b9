"""The tasks. Tasks take ids, never ORM objects; each opens its own database connection."""

from __future__ import annotations

import logging
from collections.abc import Callable

from huey import crontab

from airpipe.worker import runner
from airpipe.worker.queue import huey

logger = logging.getLogger("airpipe.worker")

#: more work for the periodic tick, registered by the layers above (the worker imports no
#: services): each is called once a tick, and one that raises is logged and does not stop the rest
periodic_hooks: list[Callable[[], object]] = []


@huey.task(name="airpipe.run_job")
def run_job(job_id: int) -> None:
    delay = runner.run_job(job_id)
    if delay is not None:
        run_job.schedule(args=(job_id,), delay=delay)


def enqueue_job(job_id: int) -> None:
    """Called by the services after the job row is committed."""
    run_job(job_id)


@huey.periodic_task(crontab(minute="*"), name="airpipe.tick")
def tick() -> None:
    """Every minute: take over attempts of dead workers, re-send lost queue messages, prune;
    then run the ``periodic_hooks`` (start the scheduled syncs)."""
    try:
        for job_id, delay in runner.tick():
            if delay:
                run_job.schedule(args=(job_id,), delay=delay)
            else:
                run_job(job_id)
    finally:
        for hook in list(periodic_hooks):
            try:
                hook()
            except Exception:
                logger.exception("periodic hook %r failed", hook)


@huey.on_startup()
def recover_on_startup() -> None:
    """A worker that (re)starts picks up what a dead one left behind at once, not a minute later."""
    tick.call_local()
