"""Protocol messages as destinations read them: only as much as routing a line needs. The
record's data stays raw bytes (``msgspec.Raw``) until the destination decides how to store it.

The Structs are not tracked by the garbage collector (``gc=False``: they hold only strings,
numbers and decoded JSON, never themselves): a destination decodes millions of them, and
tracking made decoding a block of lines several times slower.

Every destination holds to one rule (``airpipe.connectors.stream.bad_record``): a record whose
text is not valid Unicode fails the write, naming its stream and field. msgspec rejects a lone
surrogate escape (``\\ud800``) as it decodes; bytes that are not UTF-8 it does not look at inside
raw data, so ``checked_text`` looks at every input block for them (``input_blocks`` calls it).
"""

from __future__ import annotations

from typing import Any

import msgspec

from airpipe.connectors.stream import BadRecord, bad_record, quote


class Record(msgspec.Struct, gc=False):
    stream: str
    data: msgspec.Raw
    emitted_at: int | float | None = None
    namespace: str | None = None
    meta: Any = None


class Descriptor(msgspec.Struct, gc=False):
    name: str
    namespace: str | None = None


class StreamState(msgspec.Struct, gc=False):
    stream_descriptor: Descriptor


class State(msgspec.Struct, gc=False):
    stream: StreamState | None = None


class Message(msgspec.Struct, gc=False):
    type: str
    record: Record | None = None
    state: State | None = None


_decoder = msgspec.json.Decoder(Message)
decode_message = _decoder.decode
#: a block of lines at once; it skips blank lines (and takes two messages on one line)
decode_lines = _decoder.decode_lines


def not_a_message(line: bytes, number: int, exc: msgspec.DecodeError) -> ValueError:
    """The error for input line ``number`` that failed to decode: BadRecord for a record whose
    text is not Unicode, else a ValueError quoting msgspec's reason."""
    problem = bad_record(line)
    if problem is not None:
        return BadRecord(f"input line {number}: {problem}")
    return ValueError(f"input line {number} is not a protocol message: {exc}")


def checked_text(block: bytes) -> bytes:
    """``block``, if it is UTF-8; else BadRecord (ValueError for a line that is no record).

    ASCII is checked at memory speed; other blocks are decoded in C, once per block, never per
    record. Records are passed on as the bytes they arrived as, so without this a destination
    could write bytes that are not UTF-8 into its files or tables.
    """
    if block.isascii():
        return block
    try:
        block.decode("utf-8")
    except UnicodeDecodeError as exc:
        start = block.rfind(b"\n", 0, exc.start) + 1
        end = block.find(b"\n", exc.start)
        line = block[start : end if end != -1 else None]
        problem = bad_record(line)
        if problem is not None:
            raise BadRecord(problem) from None
        raise ValueError(f"an input line is not UTF-8 ({exc.reason}): {quote(line)}") from None
    return block
