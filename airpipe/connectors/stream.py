"""Reading a connector's stdout, one line at a time, the way Airbyte's DefaultAirbyteStreamFactory does.

Each line is one of:

- a protocol message: returned;
- not JSON at all (a stray ``print``, a library banner): logged at INFO and skipped;
- JSON that is not a valid message (unknown type, missing field): logged at ERROR and dropped;
- a RECORD whose text is not valid Unicode (a lone surrogate such as the escape ``\\ud800``, or
  bytes that are not UTF-8): ``BadRecord`` is raised. Such a record can be neither decoded nor
  stored, and dropping it would lose data silently; replacing the bad characters would too.
  ``bad_record`` is the rule, used by the sync engine and by every built-in destination alike.

Log callbacks take ``(level, message)`` where level is one of Airbyte's log levels, upper case:
"FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE".

The sync engine moves records without decoding them: ``peek_type`` reads only the message type
and the record's stream (msgspec skips the unknown ``data`` field without building it), so a
RECORD line can be counted and passed on to the destination as the raw bytes it arrived as.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import msgspec

from airpipe.protocol import AirbyteMessage, decode_message

#: ``on_log(level, message)``; see the module docstring for the levels
LogCallback = Callable[[str, str], None]

#: how much of a bad line is quoted in the log: enough to recognise it, never a whole record
QUOTE_LIMIT = 1000


class BadRecord(ValueError):
    """A RECORD that cannot be passed on: its text is not valid Unicode (see ``bad_record``)."""


def parse_line(line: bytes, on_log: LogCallback | None = None) -> AirbyteMessage | None:
    """The message on ``line``, or None for a blank, non-JSON or invalid line (reported to ``on_log``).

    LOG messages are returned like any other: the caller decides where they go. Raises BadRecord
    for a RECORD whose text is not valid Unicode.
    """
    try:
        return decode_message(line)
    except msgspec.ValidationError as exc:
        if on_log is not None:
            on_log("ERROR", f"invalid message dropped ({exc}): {quote(line)}")
    except msgspec.DecodeError:
        problem = bad_record(line)  # only lines that failed to decode pay for this look
        if problem is not None:
            raise BadRecord(problem) from None
        if on_log is not None and line.strip():
            on_log("INFO", quote(line))
    return None


def bad_record(line: bytes) -> str | None:
    """Why the RECORD on ``line`` cannot be passed on, naming its stream and field; None if the line
    is no RECORD or its text is valid Unicode.

    The one rule for records whose text is not Unicode, which msgspec rejects (a lone surrogate
    escape, ``"\\ud800"``) or which would otherwise reach a destination unchecked (bytes that are not
    UTF-8, which msgspec does not look at in a value it skips). It is slow (the line is decoded
    by the standard library, which accepts both): call it only for a line that failed to decode.
    """
    try:
        text = line.decode("utf-8")
        what = "a lone surrogate"
    except UnicodeDecodeError:
        text = line.decode("utf-8", "surrogateescape")  # each bad byte becomes a lone surrogate
        what = "bytes that are not UTF-8"
    try:
        message = json.loads(text)
    except (ValueError, RecursionError):
        return None
    record = message.get("record") if isinstance(message, dict) and message.get("type") == "RECORD" else None
    if not isinstance(record, dict):
        return None
    stream = record.get("stream")
    try:
        where = next(_bad_text(record.get("data"), ""), None)
        elsewhere = where is None and next(_bad_text(record, ""), None) is not None
    except RecursionError:  # nested too deeply to walk: msgspec refused it for that, as before
        return None
    if where is None:
        if not elsewhere:
            return None  # a line that failed to decode for another reason
        where = "outside its data"
    else:
        where = f"in field '{quote(where.encode())}'" if where else "in its data"
    return f"a record of stream {_printable(stream)} holds text that is not valid Unicode ({what}) {where}: it cannot be passed on"


def _bad_text(value: Any, path: str) -> Iterator[str]:
    """The paths (``a.b[2]``) of strings and keys in ``value`` that hold a lone surrogate."""
    if isinstance(value, str):
        if not _is_text(value):
            yield path
    elif isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{_printable(key, quoted=False)}" if path else _printable(key, quoted=False)
            if not _is_text(key):
                yield here
            yield from _bad_text(item, here)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _bad_text(item, f"{path}[{i}]")


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _printable(value: Any, *, quoted: bool = True) -> str:
    """A name from the record for a message: lone surrogates shown as escapes (\\ud800)."""
    if isinstance(value, str):
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
        return f"'{value}'" if quoted else value
    return repr(value)


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
