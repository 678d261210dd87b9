"""Moving records in blocks, not lines.

A source writes records of one stream in long runs, each line starting with the same bytes
(``{"type":"RECORD","record":{"stream":"users","data":`` from a compact encoder). A run of such
lines is counted with ``bytes.count`` and written to the destination in one call; only the other
lines (states, logs, traces, records in another layout) go through the per-line path. That keeps
the worker's cost per record far below the connectors' own.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import msgspec

RECORD_HEAD = b'{"type":"RECORD","record":{"stream":'

_encode = msgspec.json.Encoder().encode


class StreamCount:
    """Counts for one stream: what a block added to it."""

    __slots__ = ("records", "bytes")

    def __init__(self) -> None:
        self.records = 0
        self.bytes = 0


def head(stream: str, namespace: str | None = None) -> bytes:
    """How a compact encoder starts a record line of this stream (namespace, if any, before data)."""
    if namespace is None:
        return RECORD_HEAD + _encode(stream) + b',"data":'
    return RECORD_HEAD + _encode(stream) + b',"namespace":' + _encode(namespace) + b',"data":'


class BlockRouter:
    """Splits blocks of whole lines into runs of known record lines and the other lines.

    ``heads`` maps the head of each stream's record lines to ``(run, new_head)``: the counters
    to add to, and the head to write instead (a renamed stream), or None.
    """

    def __init__(self, heads: dict[bytes, tuple[StreamCount, bytes | None]]) -> None:
        self.heads = heads
        # a newline NOT followed by a known head starts an "other" line (the regex engine looks
        # for the newline first, and tries the heads only there)
        alternatives = b"|".join(re.escape(h) for h in self.heads)
        self.other_line_start = re.compile(rb"\n(?!" + alternatives + rb")") if self.heads else re.compile(rb"\n")
        self.records_only = True  # the last block held records only

    def route(self, block: bytes, write: Callable[[bytes], object]) -> Iterator[bytes]:
        """Write the record runs of ``block`` (whole lines) and yield its other lines, in order:
        a yielded line is handled before the next run is written."""
        # Where the block before held records of one stream only, this one likely does too: two
        # counts tell, at memchr speed, and spare the regex's slower pass over the whole block.
        if self.records_only and self._write_one_stream(block, write):
            return
        self.records_only = True
        position = 0
        starts = self.other_line_start.finditer(block)
        start = 0 if not any(block.startswith(h) for h in self.heads) else None
        while True:
            if start is None:
                match = next(starts, None)
                if match is None:
                    break
                if match.end() < position:
                    continue  # inside a line already handled
                start = match.end()
            if start >= len(block):
                break
            if start > position:
                self._write_run(block[position:start], write)
            end = block.index(b"\n", start) + 1
            self.records_only = False
            yield block[start:end]
            position = end
            start = None
            if position < len(block) and not any(block.startswith(h, position) for h in self.heads):
                start = position  # the line after an other line is another other line
        if position < len(block):
            self._write_run(block[position:], write)

    def _write_run(self, run: bytes, write: Callable[[bytes], object]) -> None:
        if not self._write_one_stream(run, write):
            for line in run.splitlines(keepends=True):  # several streams meet in this run
                self._write_one_stream(line, write)

    def _write_one_stream(self, run: bytes, write: Callable[[bytes], object]) -> bool:
        """Write ``run`` and count it, if all its lines are records of one known stream."""
        lines = run.count(b"\n")
        for line_head, (counter, new_head) in self.heads.items():
            if run.startswith(line_head):
                if run.count(b"\n" + line_head) != lines - 1:
                    return False
                counter.records += lines
                counter.bytes += len(run)
                if new_head is not None:
                    run = new_head + run[len(line_head) :].replace(b"\n" + line_head, b"\n" + new_head)
                write(run)
                return True
        return False
