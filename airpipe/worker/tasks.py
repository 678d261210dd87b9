"""The tasks. Tasks take ids, never ORM objects; each opens its own database connection."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from huey import crontab

from airpipe.errors import OUTAGES
from airpipe.models.crypto import seal
from airpipe.worker import notifications, runner
from airpipe.worker.queue import huey, runner_options
from airpipe.worker.watch import Watch

logger = logging.getLogger("airpipe.worker")

#: more work for the periodic tick, registered by the layers above (the worker imports no
#: services): each is called once a tick, and one that raises is logged and does not stop the rest
periodic_hooks: list[Callable[[], object]] = []


@huey.task(name="airpipe.run_job")
def run_job(job_id: int) -> None:
    delay = runner.run_job(job_id)
    if delay is not None:
        run_job.schedule(args=(job_id,), delay=delay)
    _send_notifications()  # what the job's end announced


@huey.task(name="airpipe.run_sample", context=True)
def run_sample(job_id: int, task: Any) -> None:
    """A read_sample job. Its answer (the records sealed, that is encrypted, or None if it failed)
    goes into the queue's result store under this task's id, where the API waits for it and takes
    it (huey deletes a result once it is read).

    The API may give up first (``scheduler.run_sample_job``): it then notes that on the job and
    removes any answer already there (``discard_sample``). Here the answer is put first and the
    note looked for after: whichever way the two sides interleave, one of them sees the other's
    step, so no answer stays in the store for nobody (huey keeps results forever, on Redis too).
    Hence also no return value and no exception, which huey would store itself."""
    try:
        runner.run_job(job_id)
    except Exception:  # the database is down, say: the job row tells no more, the caller hears None
        logger.exception("read_sample job %s failed", job_id)
    records = runner.take_handoff(job_id)
    huey.put_result(task.id, None if records is None else seal(records))
    try:
        nobody_waits = runner.nobody_waits(job_id)
    except OUTAGES:  # unknowable now: the caller (if any) times out rather than the answer staying
        nobody_waits = True
    if nobody_waits:
        huey.delete(task.id)


def discard_sample(result: Any) -> None:
    """Remove the answer of a ``run_sample`` that its caller gave up on, if it came already; call
    it after the job was marked abandoned (see ``run_sample``)."""
    try:
        huey.delete(result.id)
    except OUTAGES:
        logger.warning("could not remove the answer of an abandoned read_sample task %s", result.id)


@huey.task(name="airpipe.send_notifications")
def send_notifications() -> None:
    """Send the notifications that are due (enqueued by the services after an event they wrote)."""
    _send_notifications()


def notify_soon() -> None:
    """Have a worker send the notifications just written (the next tick would, a minute later).
    The events are committed: if the queue is down, that tick still sends them."""
    try:
        send_notifications()
    except OUTAGES:
        logger.warning("could not queue the sending of notifications; the next tick sends them")


def _send_notifications() -> None:
    try:
        notifications.send_due()
    except Exception:  # a tick or a job must not fail for it: the next one sends them
        logger.exception("sending notifications failed")


def enqueue_job(job_id: int) -> None:
    """Called by the services after the job row is committed."""
    run_job(job_id)


def _enqueue(job_id: int, delay: float) -> None:
    if delay:
        run_job.schedule(args=(job_id,), delay=delay)
    else:
        run_job(job_id)


#: this process's Watch, when it runs jobs (``start_watch``)
watch: Watch | None = None


def start_watch() -> Watch:
    """Beat and reap every third of a lease, from a thread of this worker process."""
    global watch
    watch = Watch(max(runner_options.lease_seconds / 3, 0.5), _enqueue).start()
    return watch


def stop_watch() -> None:
    global watch
    if watch is not None:
        watch.stop()
        watch = None


@huey.periodic_task(crontab(minute="*"), name="airpipe.tick")
def tick() -> None:
    """Every minute: take over attempts of dead workers, re-send lost queue messages, prune;
    then run the ``periodic_hooks`` (start the scheduled syncs)."""
    try:
        # right after a database outage the reaping waits for the Watch (see airpipe.worker.watch)
        for job_id, delay in runner.tick(reap=watch is None or watch.steady):
            _enqueue(job_id, delay)
        _send_notifications()  # and the retries of those that failed
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
