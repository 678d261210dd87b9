from __future__ import annotations

from typing import Any

import pytest

from airpipe.connectors.stream import QUOTE_LIMIT, parse_line, peek_type, quote
from airpipe.protocol import MessageType


def test_a_message_is_returned_and_nothing_logged(logs: Any) -> None:
    message = parse_line(b'{"type":"LOG","log":{"level":"WARN","message":"hi"}}\n', logs)
    assert message is not None and message.type is MessageType.LOG
    assert logs == []  # LOG messages are the caller's to route


def test_a_non_json_line_is_logged_as_info(logs: Any) -> None:
    assert parse_line(b"Starting connector v1.2.3\n", logs) is None
    assert logs == [("INFO", "Starting connector v1.2.3")]


def test_an_invalid_message_is_dropped_with_an_error(logs: Any) -> None:
    assert parse_line(b'{"type":"NOPE"}\n', logs) is None
    assert logs == [("ERROR", 'invalid message dropped (Invalid enum value \'NOPE\' - at `$.type`): {"type":"NOPE"}')]


@pytest.mark.parametrize("line", [b"", b"\n", b"   \r\n"])
def test_blank_lines_are_skipped_silently(line: bytes, logs: Any) -> None:
    assert parse_line(line, logs) is None
    assert logs == []


def test_bad_lines_are_quoted_short(logs: Any) -> None:
    parse_line(b"x" * 100_000, logs)
    assert logs == [("INFO", "x" * QUOTE_LIMIT + "...")]
    assert quote(b"caf\xc3\xa9 \xff\n") == "café \ufffd"


def test_peek_finds_a_records_stream_without_its_data() -> None:
    assert peek_type(b'{"type":"RECORD","record":{"stream":"users","data":{"id":1},"emitted_at":1}}\n') == ("RECORD", "users", None)
    assert peek_type(b'{"record":{"namespace":"public","stream":"users","data":{}},"type":"RECORD"}') == ("RECORD", "users", "public")
    # data is skipped, not validated: peek is for lines passed on as they are
    assert peek_type(b'{"type":"RECORD","record":{"stream":"s","data":5}}') == ("RECORD", "s", None)


def test_peek_other_messages() -> None:
    assert peek_type(b'{"type":"STATE","state":{"data":{}}}') == ("STATE", None, None)
    assert peek_type(b'{"type":"SOMETHING_NEW"}') == ("SOMETHING_NEW", None, None)


@pytest.mark.parametrize(
    "line",
    [b"not json", b"[1]", b'{"no_type":1}', b'{"type":"RECORD"}', b'{"type":"RECORD","record":{"data":{}}}', b'{"type":5}'],
)
def test_peek_gives_up_on_what_parse_must_report(line: bytes) -> None:
    assert peek_type(line) is None
