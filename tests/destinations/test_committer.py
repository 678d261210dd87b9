"""The Committer (``airpipe.destinations.loading.committer``) on its own: batches load in order,
inline or in one background thread; an error or an abort stops the loading. The Loader here only
records what it is asked to do, and can be held in the middle of a load."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from suitekit import wait_until

from airpipe.destinations.loading.committer import Committer


class Loader:
    """Records ("load", batch), ("loaded", batch), ("interrupt", thread name) and ("abort", None).
    While ``gate`` is clear a load waits in the middle (until ``interrupt`` or ``release``)."""

    def __init__(self, *, held: bool = False, fail_on: Any = None) -> None:
        self.events: list[tuple[str, Any]] = []
        self.threads: set[str] = set()
        self.gate = threading.Event()
        if not held:
            self.gate.set()
        self.fail_on = fail_on
        self.interrupted = False

    def load(self, batch: list[tuple[Any, Any]]) -> None:
        self.events.append(("load", batch))
        self.threads.add(threading.current_thread().name)
        if not self.gate.wait(timeout=30):
            raise TimeoutError("the test never released the load")
        if self.interrupted:
            raise InterruptedError("the load was interrupted")
        if batch == self.fail_on:
            raise RuntimeError("disk full")
        self.events.append(("loaded", batch))

    def finish(self) -> None:
        self.events.append(("finish", None))

    def interrupt(self) -> None:
        self.events.append(("interrupt", threading.current_thread().name))
        self.interrupted = True
        self.gate.set()

    def abort(self) -> None:
        self.events.append(("abort", None))

    def release(self) -> None:
        self.gate.set()

    def loads(self) -> int:
        return sum(1 for kind, _ in self.events if kind == "load")


def batch(n: int) -> list[tuple[Any, Any]]:
    return [("users", [n])]


@pytest.fixture
def committers() -> Iterator[list[Committer]]:
    """Committers whose loader thread is stopped after the test, whatever it did."""
    made: list[Committer] = []
    yield made
    for committer in made:
        committer.loader.release()  # type: ignore[attr-defined]
        if committer.thread is not None and committer.thread.is_alive():
            committer.abort()


def background(loader: Loader, committers: list[Committer]) -> Committer:
    committer = Committer(loader, background=True)
    committers.append(committer)
    return committer


# INLINE


def test_inline_loads_in_the_callers_thread_and_commits_at_once() -> None:
    loader = Loader()
    committer = Committer(loader, background=False)
    committer.submit(batch(1), [b"s1"])
    committer.submit([], [b"s2"])  # no rows: nothing to load, the state is committed all the same
    assert loader.events == [("load", batch(1)), ("loaded", batch(1))]
    assert loader.threads == {threading.current_thread().name}
    assert committer.thread is None
    assert list(committer.echo()) == [b"s1", b"s2"]
    assert list(committer.echo()) == []  # each state once


def test_inline_abort_only_aborts_the_loader() -> None:
    loader = Loader()
    committer = Committer(loader, background=False)
    committer.submit(batch(1), [b"s1"])
    committer.abort()
    assert loader.events[-1] == ("abort", None)
    assert not any(kind == "interrupt" for kind, _ in loader.events)


# BACKGROUND


def test_background_loads_in_order_in_one_thread(committers: list[Committer]) -> None:
    loader = Loader()
    committer = background(loader, committers)
    for n in range(5):
        committer.submit(batch(n), [b"s%d" % n])
    committer.wait()
    assert [value for kind, value in loader.events if kind == "loaded"] == [batch(n) for n in range(5)]
    assert loader.threads == {"airpipe-loader"}
    assert list(committer.echo()) == [b"s0", b"s1", b"s2", b"s3", b"s4"]
    committer.close()
    assert committer.thread is not None and not committer.thread.is_alive()


def test_a_state_is_echoed_only_once_its_batch_is_committed(committers: list[Committer]) -> None:
    loader = Loader(held=True)
    committer = background(loader, committers)
    committer.submit(batch(1), [b"s1"])
    wait_until(loader.loads, 10, "the load to start")
    assert list(committer.echo()) == []
    loader.release()
    committer.wait()
    assert list(committer.echo()) == [b"s1"]
    committer.close()


def test_one_batch_loads_while_one_waits_and_a_third_submit_blocks(committers: list[Committer]) -> None:
    loader = Loader(held=True)
    committer = background(loader, committers)
    committer.submit(batch(1), [])
    wait_until(loader.loads, 10, "the first load to start")
    committer.submit(batch(2), [])  # waits in the queue
    third = threading.Thread(target=committer.submit, args=(batch(3), []), daemon=True)
    third.start()
    # a deliberate window: the third submit must still be blocked after it (a condition that
    # cannot be polled for, since it is the absence of progress)
    third.join(timeout=0.2)
    assert third.is_alive()
    assert loader.loads() == 1
    loader.release()
    third.join(timeout=10)
    assert not third.is_alive()
    committer.wait()
    assert [value for kind, value in loader.events if kind == "loaded"] == [batch(1), batch(2), batch(3)]
    committer.close()


def test_wait_returns_when_the_input_has_something_to_read(committers: list[Committer]) -> None:
    loader = Loader(held=True)
    committer = background(loader, committers)
    committer.submit(batch(1), [b"s1"])
    wait_until(loader.loads, 10, "the load to start")
    read_end, write_end = os.pipe()
    with os.fdopen(read_end, "rb") as readable, os.fdopen(write_end, "wb") as writable:
        writable.write(b"{}\n")
        writable.flush()
        committer.wait(until_readable=readable)  # returns though the load is still held
    assert loader.loads() == 1 and ("loaded", batch(1)) not in loader.events
    assert list(committer.echo()) == []
    loader.release()
    committer.wait()
    assert list(committer.echo()) == [b"s1"]
    committer.close()


# ERRORS AND ABORTS


def test_an_error_in_the_thread_is_raised_in_the_caller_and_stops_the_loading(committers: list[Committer]) -> None:
    loader = Loader(fail_on=batch(2))
    committer = background(loader, committers)
    committer.submit(batch(1), [b"s1"])
    committer.submit(batch(2), [b"s2"])
    with pytest.raises(RuntimeError, match="^disk full$"):
        committer.wait()
    with pytest.raises(RuntimeError, match="^disk full$"):
        committer.submit(batch(3), [b"s3"])
    with pytest.raises(RuntimeError, match="^disk full$"):
        list(committer.echo())
    assert [value for kind, value in loader.events if kind == "load"] == [batch(1), batch(2)]
    assert list(committer.committed) == [b"s1"]  # the failed batch's state is never committed
    committer.abort()
    assert loader.events[-1] == ("abort", None)
    assert committer.thread is not None and not committer.thread.is_alive()


def test_abort_interrupts_the_load_drops_what_waits_and_then_aborts(committers: list[Committer]) -> None:
    loader = Loader(held=True)
    committer = background(loader, committers)
    committer.submit(batch(1), [b"s1"])
    wait_until(loader.loads, 10, "the first load to start")
    committer.submit(batch(2), [b"s2"])  # waits, and is never loaded
    committer.abort()
    assert committer.thread is not None and not committer.thread.is_alive()
    assert loader.events == [("load", batch(1)), ("interrupt", threading.current_thread().name), ("abort", None)]
    assert list(committer.committed) == []
    # the abort's reason stays, not the error the interrupted load raised after it
    with pytest.raises(InterruptedError, match="the write was stopped"):
        committer.wait()
    with pytest.raises(InterruptedError, match="the write was stopped"):
        list(committer.echo())


def test_abort_keeps_the_first_error(committers: list[Committer]) -> None:
    loader = Loader(fail_on=batch(1))
    committer = background(loader, committers)
    committer.submit(batch(1), [])
    wait_until(lambda: committer.error, 10, "the load to fail")
    committer.abort()
    with pytest.raises(RuntimeError, match="^disk full$"):
        committer.wait()
    assert loader.events[-1] == ("abort", None)


def test_abort_before_any_submit_only_aborts_the_loader() -> None:
    loader = Loader()
    committer = Committer(loader, background=True)
    committer.abort()
    assert committer.thread is None
    assert loader.events == [("abort", None)]
