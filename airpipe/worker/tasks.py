"""The tasks. Tasks take ids, never ORM objects; each opens its own database connection."""

from __future__ import annotations

from huey import crontab

from airpipe.worker import runner
from airpipe.worker.queue import huey


@huey.task(name="airpipe.run_job")
def run_job(job_id: int) -> None:
    runner.run_job(job_id)


def enqueue_job(job_id: int) -> None:
    """Called by the services after the job row is committed."""
    run_job(job_id)


@huey.periodic_task(crontab(minute="*"), name="airpipe.requeue_lost_jobs")
def requeue_lost_jobs() -> None:
    """A lost queue message must never lose a job: anything still pending a while after it was
    created is enqueued again. Claiming is atomic, so a duplicate message is harmless."""
    for job_id in runner.lost_job_ids():
        run_job(job_id)
