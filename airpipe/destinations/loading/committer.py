"""Runs ``Loader.load`` on the batches ``airpipe.destinations.loading.batching`` cuts, in order: in a
background thread (so that decoding the next batch and the database work side by side) or inline.
At most one batch loads while one waits. The states of a committed batch are collected for ``echo``.
"""

from __future__ import annotations

import queue
import select
import threading
from collections import deque
from collections.abc import Iterator
from typing import IO, Any

from airpipe.destinations.loading.contract import Loader


class Committer:
    """Runs ``Loader.load`` on batches in order, in a background thread or inline, and collects
    the states of committed batches for ``echo``."""

    def __init__(self, loader: Loader, *, background: bool) -> None:
        self.loader = loader
        self.committed: deque[bytes] = deque()
        self.error: BaseException | None = None
        self.queue: queue.Queue[tuple[list[tuple[Any, Any]], list[bytes]] | None] | None = queue.Queue(maxsize=1) if background else None
        self.thread: threading.Thread | None = None

    def submit(self, batch: list[tuple[Any, Any]], states: list[bytes]) -> None:
        if self.queue is None:
            if batch:
                self.loader.load(batch)
            self.committed.extend(states)
            return
        self._raise()
        if self.thread is None:
            self.thread = threading.Thread(target=self._work, name="airpipe-loader", daemon=True)
            self.thread.start()
        self.queue.put((batch, states))  # waits while one batch loads and another waits already

    def echo(self) -> Iterator[bytes]:
        """The states of the batches committed so far, once each."""
        self._raise()
        while self.committed:
            yield self.committed.popleft()

    def wait(self, until_readable: IO[bytes] | None = None) -> None:
        """Until every batch submitted is committed, or ``until_readable`` has input to read."""
        if self.queue is not None and until_readable is None:
            self.queue.join()
        elif self.queue is not None and until_readable is not None:
            while self.queue.unfinished_tasks and not select.select([until_readable], [], [], 0.02)[0]:
                pass
        self._raise()

    def close(self) -> None:
        if self.thread is not None and self.queue is not None:
            self.queue.put(None)
            self.thread.join()

    def abort(self) -> None:
        if self.thread is not None and self.queue is not None and self.thread.is_alive():
            self.error = self.error or InterruptedError("the write was stopped")
            self.loader.interrupt()
            while True:  # whatever still waits will not be loaded
                try:
                    self.queue.get_nowait()
                    self.queue.task_done()
                except queue.Empty:
                    break
            self.queue.put(None)
            self.thread.join(timeout=30)
        self.loader.abort()

    def _work(self) -> None:
        assert self.queue is not None
        while True:
            item = self.queue.get()
            try:
                if item is None:
                    return
                if self.error is None:
                    batch, states = item
                    if batch:
                        self.loader.load(batch)
                    self.committed.extend(states)
            except BaseException as exc:
                if self.error is None:  # the first error is the cause: an abort's interrupt follows from it
                    self.error = exc
            finally:
                self.queue.task_done()

    def _raise(self) -> None:
        if self.error is not None:
            raise self.error
