"""The secret scrubber: every spelling a connector is likely to print, masked; nothing else touched."""

from __future__ import annotations

import json
import re
from urllib.parse import quote, quote_plus

import pytest

from airpipe.worker.attempt_log import AttemptLog
from airpipe.worker.scrubbing import MASK, Scrubber

#: quotes, a slash, a backslash, &, +, a space and a non-ASCII letter: every escape differs from it
KEY = "sk_live/\"Zq+8&é\\w'9 x"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nAb=\n-----END PRIVATE KEY-----\n"


@pytest.mark.parametrize(
    "spelling",
    [
        pytest.param(KEY, id="raw"),
        pytest.param(json.dumps(KEY), id="json"),
        pytest.param(json.dumps(KEY, ensure_ascii=False), id="json-utf8"),
        pytest.param(json.dumps(json.dumps(KEY)), id="json-twice"),
        pytest.param(repr(KEY), id="repr"),
        pytest.param(ascii(KEY), id="ascii"),
        pytest.param(repr({"api_key": KEY}), id="repr-of-a-dict"),
        pytest.param(quote(KEY, safe=""), id="url"),
        pytest.param(quote(KEY), id="url-path"),
        pytest.param(quote_plus(KEY), id="url-form"),
        pytest.param(re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(KEY, safe="")), id="url-lower-hex"),
    ],
)
def test_each_spelling_of_a_secret_is_masked(spelling: str) -> None:
    text = Scrubber([KEY])(f"connecting with {spelling} failed")
    assert text.startswith("connecting with ") and text.endswith(" failed")
    assert MASK in text
    for leaked in (KEY, "Zq+8", "Zq%2B8", "Zq%2b8"):
        assert leaked not in text


def test_a_multi_line_secret_is_masked_whole_and_line_by_line() -> None:
    scrub = Scrubber([PEM])
    assert scrub(f"key: {PEM}end") == f"key: {MASK}end"
    assert scrub(f"key: {json.dumps(PEM)}") == f'key: "{MASK}"'
    # a traceback or a logger printing the key one line at a time
    lines = [scrub(line) for line in PEM.splitlines()]
    assert lines[1] == lines[2] == lines[0] == MASK
    assert "MIIEvQIBADANBgkq" not in "\n".join(lines)
    # a line too short to give anything away is not masked wherever it appears
    assert scrub("Ab=") == "Ab="


def test_a_secret_with_surrounding_whitespace_is_masked_without_it() -> None:
    assert Scrubber(["  t0ken-value\n"])("token t0ken-value used") == f"token {MASK} used"


def test_the_longest_secret_wins_and_text_without_secrets_is_unchanged() -> None:
    scrub = Scrubber(["abc", "abcdef"])
    assert scrub("x abcdef y abc z") == f"x {MASK} y {MASK} z"
    assert scrub("nothing to hide") == "nothing to hide"
    assert Scrubber([])("abc") == "abc"
    assert not Scrubber(["", ""])


def test_a_secret_that_contains_the_mask_is_replaced_once() -> None:
    assert Scrubber(["*"])("a*b") == f"a{MASK}b"


def test_the_attempt_log_uses_the_scrubber() -> None:
    log = AttemptLog(1, [KEY])
    assert log.scrub(f"config {json.dumps({'key': KEY})}") == f'config {{"key": "{MASK}"}}'
    log("INFO", f"with {quote(KEY, safe='')}")
    assert log.last == [f"with {MASK}"]
