from __future__ import annotations

from typing import Any

import pytest

from airpipe.connectors.stream import QUOTE_LIMIT, BadRecord, bad_record, parse_line, peek_type, quote
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


# RECORDS WHOSE TEXT IS NOT UNICODE (issue 9, item 4): never logged as junk and dropped


def record(data: bytes, stream: bytes = b'"users"') -> bytes:
    return b'{"type": "RECORD", "record": {"stream": ' + stream + b', "data": ' + data + b', "emitted_at": 1}}\n'


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        (record(b'{"name": "a\\ud800b"}'), "(a lone surrogate) in field 'name'"),
        (record(b'{"a": {"b": [1, "\\udc00"]}}'), "(a lone surrogate) in field 'a.b[1]'"),
        (record(b'{"k\\ud800": 1}'), "(a lone surrogate) in field 'k\\ud800'"),
        (record(b'{"city": "Z\xfcrich"}'), "(bytes that are not UTF-8) in field 'city'"),
        (record(b'"\\ud800"'), "(a lone surrogate) in its data"),
        (record(b"{}", stream=b'"us\\ud800"'), "(a lone surrogate) outside its data"),
    ],
)
def test_a_record_whose_text_is_not_unicode_is_named_by_stream_and_field(line: bytes, reason: str) -> None:
    stream = "'users'" if b'"users"' in line else "'us\\ud800'"
    expected = f"a record of stream {stream} holds text that is not valid Unicode {reason}: it cannot be passed on"
    assert bad_record(line) == expected


def test_parse_line_raises_for_a_record_it_cannot_pass_on(logs: Any) -> None:
    with pytest.raises(BadRecord, match=r"^a record of stream 'users' .* in field 'name': it cannot be passed on$"):
        parse_line(record(b'{"name": "a\\ud800b"}'), logs)
    assert logs == []


@pytest.mark.parametrize(
    "line",
    [
        record(b'{"name": "fine \xc3\xa9 \\ud83d\\ude00"}'),  # valid: bad_record is for lines that failed to decode
        b'{"type": "RECORD", "record": {"stream": "users", "data": {"name": "a\\ud800b"}',  # cut short: not a record
        b'{"type": "LOG", "log": {"level": "INFO", "message": "\\ud800"}}',  # no record: parse_line logs it
        b"junk \xed\xa0\x80 \xff",
    ],
)
def test_bad_record_is_none_for_other_lines(line: bytes) -> None:
    assert bad_record(line) is None
