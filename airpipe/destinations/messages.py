"""Protocol messages as destinations read them: only as much as routing a line needs. The
record's data stays raw bytes (``msgspec.Raw``) until the destination decides how to store it."""

from __future__ import annotations

from typing import Any

import msgspec


class Record(msgspec.Struct):
    stream: str
    data: msgspec.Raw
    emitted_at: int | float | None = None
    namespace: str | None = None
    meta: Any = None


class Descriptor(msgspec.Struct):
    name: str
    namespace: str | None = None


class StreamState(msgspec.Struct):
    stream_descriptor: Descriptor


class State(msgspec.Struct):
    stream: StreamState | None = None


class Message(msgspec.Struct):
    type: str
    record: Record | None = None
    state: State | None = None


decode_message = msgspec.json.Decoder(Message).decode
