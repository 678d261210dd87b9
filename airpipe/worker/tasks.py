"""The tasks. Tasks take ids, never ORM objects; each opens its own database connection."""

from __future__ import annotations

from huey import crontab

from airpipe.worker import runner
from airpipe.worker.queue import huey


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
    """Every minute: take over attempts of dead workers, re-send lost queue messages, prune."""
    for job_id, delay in runner.tick():
        if delay:
            run_job.schedule(args=(job_id,), delay=delay)
        else:
            run_job(job_id)


@huey.on_startup()
def recover_on_startup() -> None:
    """A worker that (re)starts picks up what a dead one left behind at once, not a minute later."""
    tick.call_local()
