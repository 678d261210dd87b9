"""Scrubbing secrets out of what connectors say.

A connector sees its config's secrets in plain text and may repeat them anywhere it writes text:
a LOG message, a stderr traceback, a CONNECTION_STATUS message ("invalid api key <key>"), a TRACE
error. The runner passes every such text through one ``Scrubber`` before it reaches a row or a
response. A secret is rarely repeated verbatim only, so each is masked in every spelling a
connector is likely to produce:

- as is, and stripped of surrounding whitespace (a key pasted with its newline);
- JSON-escaped, once and twice (a config dumped as JSON; such a line quoted in another JSON string);
- in Python's ``repr``/``ascii`` form (a config dict printed, or a traceback showing it);
- URL-encoded, upper- and lower-case hex (a DSN or query string built from it);
- line by line for a multi-line secret (a PEM key or a JSON key file printed one line at a time).

What is masked is the connector's *messages*. Its *data* (a discovered catalog, a spec, records,
states) is passed on untouched: masking a stream or column name that happens to equal a secret
would corrupt the catalog, and the names there are what the connector was asked to describe.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

MASK = "**********"
#: a line of a multi-line secret is masked on its own only from this length: a PEM's dashes or
#: the ``}`` of a key file give nothing away, and masking them everywhere would garble the log
MIN_FRAGMENT = 8

_PERCENT = re.compile("%[0-9A-F]{2}")


class Scrubber:
    """``scrubber(text)``: ``text`` with every spelling of every secret replaced by ``MASK``.

    One compiled alternation, longest spelling first, so a secret that contains another (or an
    escaped form that contains the raw one) is replaced whole, in a single pass over the text.
    """

    def __init__(self, secrets: Iterable[str]) -> None:
        found: set[str] = set()
        for secret in secrets:
            if secret:
                found |= spellings(secret)
        self.spellings = sorted(found, key=lambda s: (-len(s), s))
        self._pattern = re.compile("|".join(map(re.escape, self.spellings))) if self.spellings else None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def __bool__(self) -> bool:
        return self._pattern is not None


def spellings(secret: str) -> set[str]:
    """Every form of ``secret`` the scrubber masks (see the module docstring)."""
    plain = {secret, secret.strip()}
    lines = [line.strip() for line in secret.splitlines()]
    if len(lines) > 1:
        plain |= {line for line in lines if len(line) >= MIN_FRAGMENT}
    found: set[str] = set()
    for text in plain:
        found |= _encodings(text)
    found.discard("")
    return found


def _encodings(text: str) -> set[str]:
    escaped = json.dumps(text)[1:-1]
    forms = {
        text,
        escaped,
        json.dumps(text, ensure_ascii=False)[1:-1],
        json.dumps(escaped)[1:-1],
        repr(text)[1:-1],
        ascii(text)[1:-1],
    }
    for encoded in (quote(text, safe=""), quote(text), quote_plus(text)):
        forms.add(encoded)
        forms.add(_PERCENT.sub(lambda match: match.group().lower(), encoded))
    return forms
