"""The write loop the SQL destinations share: message lines in, batches of rows committed, STATE out.

::

    stdin lines --decode--> Table.add (rows buffered per table)
                  |  a batch is cut when it holds ``batch_rows`` rows or ``BATCH_BYTES`` of input,
                  |  when the input pauses, or when a state has waited ``COMMIT_INTERVAL``
                  v
            Loader.load(batch): write every table's rows and commit, in one transaction
                  v
            the STATE messages that arrived before the cut are echoed, exactly as they came

Input is read in blocks of whole lines, and a block is decoded in one call where it can be (the
bulk path, ``airpipe.destinations.loading.blocks``): each run of records of one stream is made rows in C
loops and given to ``Table.add_rows`` at once. Any line that is not such a record (a state, a record
of another stream, a record with a value that does not fit) goes through the per-line path
(``Pump.lines``), as does a block that does not decode into one message per line; so errors name
their line as before.

The backend (``Loader``, ``Table``) only buffers rows and writes them; the bookkeeping is here:

- A STATE is echoed only once everything before it is committed. States that cover an
  ``overwrite`` stream (and GLOBAL or LEGACY states, when any stream is overwritten) wait for
  ``Loader.finish``, which swaps the new tables in; of those only the latest per stream is kept.
- With ``background=True`` batches are loaded by a thread while the next one is being decoded
  (at most one batch loads while one waits), so decoding and the database work side by side
  (``airpipe.destinations.loading.committer``).
- End of input commits, unless the process that started us is gone (``lifeline``: then the input
  ended because the sync died); an error or SIGTERM (SystemExit, see the entrypoint) interrupts the load
  in progress and calls ``Loader.abort``, which must leave the tables as the last commit left them.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import IO, Any, Protocol

import msgspec

from airpipe.destinations.loading.blocks import Block, input_blocks
from airpipe.destinations.loading.committer import Committer
from airpipe.destinations.loading.lifeline import check_parent
from airpipe.destinations.loading.messages import decode_message, not_a_message
from airpipe.destinations.loading.rows import Mismatch, RowCodec, source_changes
from airpipe.destinations.loading.sql import StreamSpec
from airpipe.protocol import DestinationSyncMode

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
    spec: StreamSpec
    codec: RowCodec
    table: Any  # a Table


# INPUT: the slow path reads messages with messages.decode_message; the fast paths with RowCodec's decoders


def _float(text: str) -> float | Decimal:
    """JSON has no limit on numbers; a double does. One beyond it (1e400) is kept as a Decimal,
    for rows.py to store where the column can hold it and to note where it cannot."""
    number = float(text)
    return number if math.isfinite(number) else Decimal(text)


_decode_any = msgspec.json.Decoder(float_hook=_float).decode


def write(
    input: IO[bytes],
    targets: list[Target],
    loader: Loader,
    *,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    background: bool = False,
) -> Iterator[bytes]:
    """Load the message lines of ``input`` into the targets' tables; yields the STATE lines to echo."""
    committer = Committer(loader, background=background)
    try:
        yield from Pump(targets, committer, batch_rows).run(input)
        committer.close()
    except BaseException:
        committer.abort()
        raise


class Pump:
    def __init__(self, targets: list[Target], committer: Committer, batch_rows: int) -> None:
        self.targets = {t.spec.key: t for t in targets}
        by_name: dict[str, list[Target]] = {}
        for target in targets:
            by_name.setdefault(target.spec.name, []).append(target)
        # a record without the namespace of its stream (or with another) still finds a stream of its name, if only one
        self.by_name = {name: found[0] for name, found in by_name.items() if len(found) == 1}
        self.overwritten = {t.spec.key for t in targets if t.spec.mode is DestinationSyncMode.overwrite}
        self.committer = committer
        self.batch_rows = batch_rows
        self.pending: list[bytes] = []  # states received since the last cut
        self.held: dict[Any, bytes] = {}  # states that wait for Loader.finish (latest per stream)
        self.record_key: tuple[str | None, str] | None = None  # (namespace, stream) of the last record decoded slowly
        self.rows = self.size = 0  # rows and input bytes in the batch
        self.number = 0  # input lines read
        self.waiting_since = 0.0  # when the first state since the last cut came
        # the stream of the record before, and (namespace, stream) as its records name it: the fast paths' guess
        self.target = next(iter(self.targets.values()), None)
        self.key: tuple[str | None, str | None] = self.target.spec.key if self.target is not None else (None, None)
        self.per_line_blocks = 0

    def run(self, input: IO[bytes]) -> Iterator[bytes]:
        committer = self.committer
        for block in input_blocks(input):
            if block is None:  # the input pauses: commit and echo what waits, it costs no throughput
                if self.pending:
                    self.cut()
                # the batches in flight too (their states must not wait for more input), unless more comes
                committer.wait(until_readable=input)
                yield from committer.echo()
            elif self.per_line_blocks:
                self.per_line_blocks -= 1
                yield from self.lines(block.split(b"\n")[:-1])
            else:
                yield from Block(self, block).run()
        check_parent()  # the input also ends when the worker was killed: then commit nothing more
        self.cut()
        committer.wait()
        committer.loader.finish()
        yield from committer.echo()
        yield from self.held.values()

    def added(self, rows: int, size: float) -> Iterator[bytes]:
        """Rows were added: cut the batch if it is full."""
        self.rows += rows
        self.size += size
        if self.rows >= self.batch_rows or self.size >= BATCH_BYTES:
            self.cut()
            yield from self.committer.echo()

    def lines(self, lines: Iterable[bytes]) -> Iterator[bytes]:
        """The per-line path (its loop keeps its state in locals: it runs per line)."""
        committer, batch_rows = self.committer, self.batch_rows
        number, rows, size, target = self.number, self.rows, self.size, self.target
        namespace, name = self.key
        if target is not None:
            decode, values_of, add = target.codec.decode_message, target.codec.values, target.table.add
        else:  # no streams: every record is an error, found on the slow path
            decode = decode_message
        for line in lines:
            number += 1
            # the fast path: a record of the same stream as the one before, every value of the type of its column
            if b"\\u0000" not in line:
                try:
                    record = decode(line).record
                except msgspec.DecodeError:
                    record = None
                if record is not None and record.stream == name and record.namespace == namespace:
                    try:
                        values = values_of(record.data)
                    except Mismatch:
                        values = None
                    if values is not None:
                        add(values, record.emitted_at, None if record.meta is None else source_changes(record.meta))
                        rows += 1
                        size += len(line)
                        if rows >= batch_rows or size >= BATCH_BYTES:
                            self.cut()
                            rows = size = 0
                            yield from committer.echo()
                        continue
            # the slow path: any other message, another stream, or a value to convert
            decoded, cut = self.decode(line, number), False
            if isinstance(decoded, Target):
                rows += 1
                size += len(line)
                cut = rows >= batch_rows or size >= BATCH_BYTES
                if decoded is not target or (namespace, name) != self.record_key:
                    target = self.target = decoded
                    decode, values_of, add = target.codec.decode_message, target.codec.values, target.table.add
                    assert self.record_key is not None
                    self.key = namespace, name = self.record_key  # as the records name it (a namespace may be left out)
            elif decoded:  # a state to echo after the next commit: cut only if the first one has waited long
                now = time.monotonic()
                if len(self.pending) == 1:
                    self.waiting_since = now
                cut = now - self.waiting_since >= COMMIT_INTERVAL
            if cut:
                self.cut()
                rows = size = 0
                yield from committer.echo()
        self.number, self.rows, self.size = number, rows, size

    def decode(self, line: bytes, number: int) -> Target | bool | None:
        """A record: added to its table, returns its target. A state: kept, returns True. Else None."""
        try:
            message = decode_message(line)
        except msgspec.DecodeError as exc:
            if not line.strip():
                return None
            raise not_a_message(line, number, exc) from None
        record = message.record
        if record is not None and message.type == "RECORD":
            target = self.targets.get((record.namespace, record.stream)) or self.by_name.get(record.stream)
            if target is None:
                raise ValueError(f"input line {number} is a record of stream {record.stream!r}, which is not in the catalog")
            self.record_key = (record.namespace, record.stream)
            values, changes = target.codec.convert(_decode_any(record.data))
            source = source_changes(record.meta)
            target.table.add(values, record.emitted_at, source + changes if source else changes or None)
            return target
        if message.type == "STATE" and message.state is not None:
            stream = message.state.stream
            key = (stream.stream_descriptor.namespace, stream.stream_descriptor.name) if stream is not None else None
            if key is not None and key not in self.targets and stream is not None:
                found = self.by_name.get(stream.stream_descriptor.name)
                key = found.spec.key if found is not None else key
            if (key in self.overwritten) if key is not None else bool(self.overwritten):
                self.held.pop(key, None)
                self.held[key] = line + b"\n"
                return None
            self.pending.append(line + b"\n")
            return True
        return None

    def cut(self) -> None:
        batch = [(t.table, rows) for t in self.targets.values() if (rows := t.table.take()) is not None]
        if batch or self.pending:
            self.committer.submit(batch, self.pending)
            self.pending = []
        self.rows = self.size = 0
