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
(``WriteLoop.lines``), as does a block that does not decode into one message per line; so errors name
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
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import IO

import msgspec

from airpipe.destinations.loading.blocks import PER_LINE_BLOCKS, Block, input_blocks
from airpipe.destinations.loading.committer import Committer
from airpipe.destinations.loading.contract import (  # the contract's names, for the destinations that import them from here
    BATCH_BYTES,
    BATCH_SIZE_PROPERTY,
    COMMIT_INTERVAL,
    DEFAULT_BATCH_ROWS,
    Loader,
    StreamKey,
    Table,
    Target,
)
from airpipe.destinations.loading.lifeline import check_parent
from airpipe.destinations.loading.messages import decode_message, not_a_message
from airpipe.destinations.loading.rows import Mismatch, source_changes
from airpipe.destinations.loading.state_gate import StateGate
from airpipe.protocol import DestinationSyncMode

__all__ = ["BATCH_BYTES", "BATCH_SIZE_PROPERTY", "COMMIT_INTERVAL", "DEFAULT_BATCH_ROWS", "Loader", "Table", "Target", "write"]


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
        yield from WriteLoop(targets, committer, batch_rows).run(input)
        committer.close()
    except BaseException:
        committer.abort()
        raise


class WriteLoop:
    """The SQL destinations' write loop: decodes input lines into their tables' rows, cuts batches,
    hands them to the Committer and yields the states to echo (see the module docstring)."""

    def __init__(self, targets: list[Target], committer: Committer, batch_rows: int) -> None:
        self.targets = {t.spec.key: t for t in targets}
        by_name: dict[str, list[Target]] = {}
        for target in targets:
            by_name.setdefault(target.spec.name, []).append(target)
        # a record without the namespace of its stream (or with another) still finds a stream of its name, if only one
        self.by_name = {name: found[0] for name, found in by_name.items() if len(found) == 1}
        self.committer = committer
        self.batch_rows = batch_rows
        self.states = StateGate({t.spec.key for t in targets if t.spec.mode is DestinationSyncMode.overwrite})
        self.slow_stream: StreamKey = (None, "")  # (namespace, stream) as the last record of the slow path named them
        self.rows, self.size = 0, 0.0  # rows and input bytes in the batch
        self.number = 0  # input lines read before the current block
        self.waiting_since = 0.0  # when the first state since the last cut came
        # the stream of the record before, and (namespace, stream) as its records name it: the fast paths' guess
        self.target = next(iter(self.targets.values()), None)
        self.stream: StreamKey = self.target.spec.key if self.target is not None else (None, "")
        self.per_line_blocks = 0  # blocks still to read line by line (``blocks.MAX_SWITCHES``)

    def run(self, input: IO[bytes]) -> Iterator[bytes]:
        committer = self.committer
        for block in input_blocks(input):
            if block is None:  # the input pauses: commit and echo what waits, it costs no throughput
                if self.states.pending:
                    self.cut()
                # the batches in flight too (their states must not wait for more input), unless more comes
                committer.wait(until_readable=input)
                yield from committer.echo()
            elif self.per_line_blocks:
                self.per_line_blocks -= 1
                lines = block.split(b"\n")
                lines.pop()
                yield from self.lines(lines, self.number)
                self.number += len(lines)
            else:
                bulk = Block(block)
                if (yield from bulk.run(self, self.number)):
                    self.per_line_blocks = PER_LINE_BLOCKS
                self.number += bulk.count
        check_parent()  # the input also ends when the worker was killed: then commit nothing more
        self.cut()
        committer.wait()
        committer.loader.finish()
        yield from committer.echo()
        yield from self.states.held_states()

    def room(self) -> int:
        return self.batch_rows - self.rows

    def added(self, rows: int, size: float) -> Iterator[bytes]:
        """Rows were added: cut the batch if it is full."""
        self.rows += rows
        self.size += size
        if self.rows >= self.batch_rows or self.size >= BATCH_BYTES:
            self.cut()
            yield from self.committer.echo()

    def lines(self, lines: Iterable[bytes], before: int) -> Iterator[bytes]:
        """The per-line path for ``lines``, which follow ``before`` input lines (for the line
        numbers of errors). Its loop keeps its state in locals: it runs per line."""
        committer, batch_rows = self.committer, self.batch_rows
        number, rows, size, target = before, self.rows, self.size, self.target
        namespace, name = self.stream
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
                if decoded is not target or (namespace, name) != self.slow_stream:
                    target = self.target = decoded
                    decode, values_of, add = target.codec.decode_message, target.codec.values, target.table.add
                    self.stream = namespace, name = self.slow_stream  # as the records name it (a namespace may be left out)
            elif decoded:  # a state to echo after the next commit: cut only if the first one has waited long
                now = time.monotonic()
                if len(self.states.pending) == 1:
                    self.waiting_since = now
                cut = now - self.waiting_since >= COMMIT_INTERVAL
            if cut:
                self.cut()
                rows = size = 0
                yield from committer.echo()
        self.rows, self.size = rows, size

    def decode(self, line: bytes, number: int) -> Target | bool | None:
        """A record: added to its table, returns its target. A state: kept, returns True if it is
        pending (it waits for the next cut), None if held to the end. Anything else: None."""
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
            self.slow_stream = (record.namespace, record.stream)
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
            return self.states.add(key, line) or None
        return None

    def cut(self) -> None:
        batch = [(t.table, rows) for t in self.targets.values() if (rows := t.table.take()) is not None]
        if batch or self.states.pending:
            self.committer.submit(batch, self.states.take_pending())
        self.rows = self.size = 0
