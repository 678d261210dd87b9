"""Protocol messages as destinations read them: only as much as routing a line needs. The
record's data stays raw bytes (``msgspec.Raw``) until the destination decides how to store it.

The Structs are not tracked by the garbage collector (``gc=False``: they hold only strings,
numbers and decoded JSON, never themselves): a destination decodes millions of them, and
tracking made decoding a block of lines several times slower."""

from __future__ import annotations

from typing import Any

import msgspec


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
