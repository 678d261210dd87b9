"""The loading contract: what a SQL destination gives the write loop (``batching``), and the
batch limits both sides agree on. A leaf: it imports none of the loop's modules, so the loop's
parts (``batching``, ``blocks``, ``committer``) can each depend on it and not on each other."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from airpipe.destinations.loading.rows import RowCodec
from airpipe.destinations.loading.sql import StreamSpec

#: a state waits at most about this long (seconds) for its batch to be cut while input streams in
COMMIT_INTERVAL = 1.0
#: a batch is cut after this much input, whatever its number of rows (bounds the memory)
BATCH_BYTES = 8 << 20
DEFAULT_BATCH_ROWS = 20_000
#: the destinations' ``batch_size`` setting, in their specs
BATCH_SIZE_PROPERTY = {
    "title": "Batch size",
    "description": "Records per transaction (a batch is also cut after 8 MiB of input, or when the input pauses).",
    "type": "integer",
    "minimum": 1,
    "default": DEFAULT_BATCH_ROWS,
}


class Table(Protocol):
    """One stream's destination table, buffering the rows of the batch being built."""

    def add(self, values: Sequence[Any], emitted_at: int | float | None, changes: list[Any] | None) -> None: ...

    def add_rows(self, rows: list[Any], emitted_ats: list[int | float | None], controls: bool) -> None:
        """``add`` for a run of rows without changes, made by ``BulkRows.ready`` (as is ``controls``)."""

    def take(self) -> Any:
        """The rows buffered since the last take (None if there are none), as ``Loader.load`` wants them."""


class Loader(Protocol):
    def load(self, batch: list[tuple[Any, Any]]) -> None:
        """Write each (table, rows) and commit. Runs in the background thread if there is one."""

    def finish(self) -> None:
        """After the last load: swap the overwritten tables in, and commit."""

    def interrupt(self) -> None:
        """Called from the main thread while ``load`` may be running: make it stop soon."""

    def abort(self) -> None:
        """After an error or a kill, once no load is running: roll back, remove staging tables."""


@dataclass
class Target:
    """A stream of the catalog, how its records become rows, and the table they go to."""

    spec: StreamSpec
    codec: RowCodec
    table: Any  # a Table


StreamKey = tuple[str | None, str]  # (namespace, stream) as records name them ("": none yet)


class Feed(Protocol):
    """What the bulk path (``blocks.Block``) needs from the write loop (``batching.WriteLoop``): the
    stream the last record was of, and where to put what it decoded. It changes none of it."""

    target: Target | None
    stream: StreamKey

    def room(self) -> int:
        """Rows the batch being built can still take before it is cut."""

    def added(self, rows: int, size: float) -> Iterator[bytes]:
        """``rows`` were added to ``target``'s table from ``size`` bytes of input; yields states to echo."""

    def lines(self, lines: Iterable[bytes], before: int) -> Iterator[bytes]:
        """The per-line path for ``lines``, which follow ``before`` input lines; yields states to echo."""
