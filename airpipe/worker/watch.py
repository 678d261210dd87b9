"""A worker process's pulse: every third of a lease it records that it is alive (``WorkerBeat``)
and takes over the attempts of workers that are not (``runner.reap_attempts``).

The reaping runs this often, not once a minute with the tick, so that a dead worker's attempt is
taken over about one lease after it died. It waits until this process has reached the database
for a whole beat: after a database outage every live worker first beats again, so none of them
is mistaken for dead because its beat went stale while nobody could write one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from airpipe.models import WorkerBeat, db, now
from airpipe.worker import runner

logger = logging.getLogger("airpipe.worker")


class Watch:
    def __init__(self, interval: float, enqueue: Callable[[int, float], None], worker: str = runner.WORKER_ID) -> None:
        self.interval = interval
        self.enqueue = enqueue
        self.worker = worker
        #: since when (monotonic) every beat has reached the database; None: the last one failed
        self.connected_since: float | None = None
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="airpipe-watch", daemon=True)

    def start(self) -> Watch:
        self.thread.start()
        return self

    def stop(self) -> None:
        """Stop beating and say so: health stops counting this worker at once."""
        self.stopped.set()
        self.thread.join()
        try:
            with db.connection_context():
                WorkerBeat.delete().where(WorkerBeat.worker == self.worker).execute()
        except Exception:  # the row goes stale and is pruned instead
            logger.warning("could not remove the beat of %s", self.worker, exc_info=True)

    @property
    def steady(self) -> bool:
        """Has this process reached the database for at least one whole beat?"""
        return self.connected_since is not None and time.monotonic() - self.connected_since >= self.interval

    def _run(self) -> None:
        while True:
            self.step()
            if self.stopped.wait(self.interval):
                return

    def step(self) -> None:
        try:
            self.beat()
        except Exception as exc:  # the database is unreachable: try again at the next beat
            if self.connected_since is not None:
                logger.warning("worker %s cannot record its beat: %s", self.worker, exc)
            self.connected_since = None
            return
        if self.connected_since is None:
            self.connected_since = time.monotonic()
        if not self.steady:
            return
        try:
            for job_id, delay in runner.reap_attempts():
                self.enqueue(job_id, delay)
        except Exception:  # a queue or database outage: the next beat tries again
            logger.warning("worker %s could not take over abandoned attempts", self.worker, exc_info=True)

    def beat(self) -> None:
        timestamp = now()
        with db.connection_context():
            updated = WorkerBeat.update(beat_at=timestamp).where(WorkerBeat.worker == self.worker).execute()
            if not updated:
                WorkerBeat.insert(worker=self.worker, started_at=timestamp, beat_at=timestamp).on_conflict_ignore().execute()
            # rows of workers gone for a day: nobody asks about them any more
            WorkerBeat.delete().where(WorkerBeat.beat_at < timestamp - 86400).execute()



def live_workers(within: float) -> int:
    """Worker processes that beat in the last ``within`` seconds."""
    return WorkerBeat.select().where(WorkerBeat.beat_at >= now() - within).count()
