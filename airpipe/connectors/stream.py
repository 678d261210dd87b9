"""Reading a connector's stdout, one line at a time, the way Airbyte's DefaultAirbyteStreamFactory does.

Each line is one of:

- a protocol message: returned;
- not JSON at all (a stray ``print``, a library banner): logged at INFO and skipped;
- JSON that is not a valid message (unknown type, missing field): logged at ERROR and dropped.

Log callbacks take ``(level, message)`` where level is one of Airbyte's log levels, upper case:
"FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE".

The sync engine moves records without decoding them: ``peek_type`` reads only the message type
and the record's stream (msgspec skips the unknown ``data`` field without building it), so a
RECORD line can be counted and passed on to the destination as the raw bytes it arrived as.
"""

from __future__ import annotations

from collections.abc import Callable

import msgspec

from airpipe.protocol import AirbyteMessage, decode_message

#: ``on_log(level, message)``; see the module docstring for the levels
LogCallback = Callable[[str, str], None]

#: how much of a bad line is quoted in the log: enough to recognise it, never a whole record
QUOTE_LIMIT = 1000


def parse_line(line: bytes, on_log: LogCallback | None = None) -> AirbyteMessage | None:
    """The message on ``line``, or None for a blank, non-JSON or invalid line (reported to ``on_log``).

    LOG messages are returned like any other: the caller decides where they go.
    """
    try:
        return decode_message(line)
    except msgspec.ValidationError as exc:
        if on_log is not None:
            on_log("ERROR", f"invalid message dropped ({exc}): {quote(line)}")
    except msgspec.DecodeError:
        if on_log is not None and line.strip():
            on_log("INFO", quote(line))
    return None


class _PeekRecord(msgspec.Struct):
    stream: str
    namespace: str | None = None


class _Peek(msgspec.Struct):
    # str, not MessageType: a new message type must reach parse_line to be reported, not fail here
    type: str
    record: _PeekRecord | None = None


_decode_peek = msgspec.json.Decoder(_Peek).decode


def peek_type(line: bytes) -> tuple[str, str | None, str | None] | None:
    """``(type, stream, namespace)`` of the message on ``line`` without decoding record data.

    ``stream`` and ``namespace`` are None unless the message is a RECORD. Returns None when the line
    is not a JSON object with a string ``type`` (or a RECORD without a stream); hand such lines
    to ``parse_line`` so they are reported. A line that peeks fine may still be an invalid message:
    peek only what you pass through as raw bytes, parse everything else.
    """
    try:
        peek = _decode_peek(line)
    except msgspec.DecodeError:
        return None
    record = peek.record
    if record is None:
        if peek.type == "RECORD":
            return None
        return peek.type, None, None
    return peek.type, record.stream, record.namespace


def quote(line: bytes) -> str:
    """A line as text for a log, decoded leniently and cut to QUOTE_LIMIT characters."""
    text = line[: QUOTE_LIMIT * 4].decode("utf-8", "replace").rstrip("\r\n")
    if len(text) > QUOTE_LIMIT:
        return text[:QUOTE_LIMIT] + "..."
    return text
