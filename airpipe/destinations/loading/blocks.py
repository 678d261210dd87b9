"""The bulk path of ``airpipe.destinations.loading.batching``: a block of whole input lines decoded in one
call, and each run of records of one stream added to its table at once.

Lines are decoded from the first not yet taken with the current stream's decoder
(``BulkRows.block_decoder``), which takes only records of that stream whose values fit their
columns. Where decoding stops at a line (msgspec names the message: "at ``$[12]``"), the lines
before it are decoded again alone, that line takes the per-line path (``WriteLoop.lines``), and the lines
after it are decoded together again. So does a line among the decoded ones that is no record, or a
record whose source reported changes: the per-line path handles it in its place, and keeps the
order of rows and states. A block that does not decode into exactly one message per line
(decode_lines skips blank lines and takes two messages on one line) takes the per-line path from
there on, which names the bad line. (Only malformed lines that make up for each other, as two
messages on one line and a blank line, or one message split over two lines, would be taken as
they decode, where the per-line path would fail on the first.)
"""

from __future__ import annotations

import io
import re
import select
from collections.abc import Generator, Iterator
from itertools import accumulate
from operator import attrgetter
from typing import IO, Any, cast

import msgspec

from airpipe.destinations.loading.contract import Feed
from airpipe.destinations.loading.in_c import next_not_none
from airpipe.destinations.loading.messages import checked_text
from airpipe.destinations.loading.rows import source_changes

#: a block whose records change stream more often than this is read line by line from there on,
#: and so are the next PER_LINE_BLOCKS blocks: each change costs a decoding that fails and a record
#: through the slow path, more than the bulk path saves when streams are interleaved
MAX_SWITCHES = 2
PER_LINE_BLOCKS = 8
#: the most read at once, and so the size of a block: the objects of a block of 64 KiB fit in a
#: core's L2 cache, and blocks of 1 MiB took 20% more CPU while PostgreSQL ran beside us (a pipe
#: gives at most 64 KiB a read by default anyway)
CHUNK_BYTES = 1 << 16

_RECORD, _META, _DATA, _EMITTED_AT = map(attrgetter, ("record", "meta", "data", "emitted_at"))
#: "at `$[12]`": where decoding a block failed, as msgspec says it
_FAILED_AT = re.compile(r" - at `\$\[(\d+)\]")


def _lined_up(messages: list[Any], lines: int) -> list[Any] | None:
    return messages if len(messages) == lines else None


class _NotARecord:
    """Stands in the bulk path's list of records for a message that is not one."""

    meta = "not a record"


class Block:
    """The bulk path through one block of whole lines (see the module docstring)."""

    def __init__(self, block: bytes) -> None:
        self.block = block
        # as block.count(b"\n"), which looks at each byte in turn: replace finds them with memchr, 7 times faster
        self.count = len(block) - len(block.replace(b"\n", b""))
        self.width = len(block) / self.count  # input bytes per line, for BATCH_BYTES
        self._lines: list[bytes] | None = None
        self._starts: list[int] | None = None

    def run(self, feed: Feed, before: int) -> Generator[bytes, None, bool]:
        """Give the block's records to ``feed`` (the block follows ``before`` input lines); yields
        the states to echo, returns whether its records changed stream more than MAX_SWITCHES times."""
        start, switches = 0, 0
        while start < self.count and switches <= MAX_SWITCHES:
            target = feed.target
            bulk = target.codec.bulk if target is not None else None
            if bulk is None:
                break
            decode = bulk.block_decoder(*feed.stream)
            messages, bad = self._decode(decode, start)
            if messages is None:
                break
            done = yield from self._messages(feed, messages, start, before)
            start += done
            if done == len(messages) and bad is not None:  # the line that failed, alone
                yield from feed.lines([self._line(start)], before + start)
                start += 1
            if feed.target is not target or done < len(messages):
                switches += 1
        if start < self.count:
            yield from feed.lines(self._split()[start:], before + start)
        return switches > MAX_SWITCHES

    def _decode(self, decode: Any, start: int) -> tuple[list[Any] | None, int | None]:
        """The messages of the lines from ``start`` on, or (when the line ``bad`` did not decode
        with the others: a value that does not fit) of the lines before it, and ``bad``. None when
        the lines do not decode into one message each."""
        try:
            return _lined_up(decode(self._part(start)), self.count - start), None
        except msgspec.ValidationError as exc:
            found = _FAILED_AT.search(str(exc))
        except msgspec.DecodeError:
            return None, None
        bad = start + int(found.group(1)) if found is not None else self.count
        if bad >= self.count:  # not a message of its own line: some line holds more than one
            return None, None
        try:
            return _lined_up(decode(self._part(start, bad)) if bad > start else [], bad - start), bad
        except msgspec.DecodeError:  # and ValidationError
            return None, None

    def _messages(self, feed: Feed, messages: list[Any], start: int, before: int) -> Generator[bytes, None, int]:
        """Add the runs of records of the current stream among ``messages`` (the block's lines
        from ``start``; ``before`` input lines came before the block), and the other lines one by
        one; returns how many it took: all, unless a line changed the stream (the lines after it
        were decoded as the stream before)."""
        target, stream = feed.target, feed.stream
        assert target is not None and target.codec.bulk is not None  # as run() found them
        bulk = target.codec.bulk
        records = list(map(_RECORD, messages))
        if None in records:
            records = [_NotARecord if r is None else r for r in records]
        # where runs end: a message that is no record, or a record with changes (a source reported)
        stops = list(map(_META, records))
        if stops.count(None) != len(stops):
            stops = [m if m is None or m is _NotARecord.meta else source_changes(m) for m in stops]
        i, n = 0, len(records)
        whole = stops.count(None) == n
        while i < n:
            end = n if whole else next_not_none(stops, i, n)
            while i < end:  # the run, in pieces that fill the batch
                piece = records[i : i + min(end - i, max(feed.room(), 1))]
                rows, controls = bulk.ready(list(map(_DATA, piece)))
                if rows:
                    target.table.add_rows(rows, list(map(_EMITTED_AT, piece[: len(rows)])), controls)
                    i += len(rows)
                    yield from feed.added(len(rows), len(rows) * self.width)
                if len(rows) < len(piece):  # the next is for the slow path
                    break
            if i < n:
                yield from feed.lines([self._line(start + i)], before + start + i)
                i += 1
                if feed.target is not target or feed.stream != stream:
                    return i
        return n

    def _split(self) -> list[bytes]:
        if self._lines is None:
            self._lines = self.block.split(b"\n")
            self._lines.pop()
        return self._lines

    def _line(self, index: int) -> bytes:
        return self._split()[index]

    def _part(self, start: int, end: int | None = None) -> bytes | memoryview:
        """Lines ``start`` to ``end`` (default: the last) of the block, without copying them."""
        if start == 0 and end is None:
            return self.block
        if self._starts is None:
            self._starts = list(accumulate(map((1).__add__, map(len, self._split())), initial=0))
        return memoryview(self.block)[self._starts[start] : self._starts[end] if end is not None else None]


def input_blocks(input: IO[bytes]) -> Iterator[bytes | None]:
    """``input`` in blocks of whole lines (each ending with a newline), read ``CHUNK_BYTES`` at a
    time, and None whenever the next read would wait for the writer (nothing is ready on the pipe).
    A block that is not UTF-8 raises BadRecord or ValueError (``messages.checked_text``)."""
    read1 = cast(io.BufferedIOBase, input).read1  # stdin.buffer, a pipe: buffered readers, which read1
    fd, parts = input.fileno(), []  # the start of a line longer than a read, in pieces (joined once)
    while True:
        if not select.select([fd], [], [], 0)[0]:
            yield None
        chunk = read1(CHUNK_BYTES)
        if not chunk:
            break
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            parts.append(chunk)
            continue
        yield checked_text(b"".join((*parts, chunk[:cut])) if parts else chunk[:cut])
        parts = [chunk[cut:]] if cut < len(chunk) else []
    if parts:
        yield checked_text(b"".join(parts) + b"\n")
