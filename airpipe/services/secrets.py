"""Secret masking: properties marked ``airbyte_secret`` in a connector spec never leave the server.

Reads replace them with ``MASK``; an update that sends ``MASK`` keeps the stored value. A URL that
is itself a credential (a notification channel's webhook) reads back through ``mask_url``.
"""

from __future__ import annotations

import hashlib
import urllib.parse
from typing import Any

MASK = "**********"


def digest(secret: str) -> str:
    """How a secret that is only ever compared is stored (API keys, application secrets and
    tokens): sha256, enough for random values this long, which need no salt or stretching."""
    return hashlib.sha256(secret.encode()).hexdigest()


def mask_url(url: str) -> str:
    """``url`` as reads show it: enough to recognise, not enough to use.

    Whoever has a Slack incoming-webhook URL (``https://hooks.slack.com/services/T…/B…/…``) can
    post with it, and other services put their token in the path or the query just the same. So
    the scheme, host and port stay; of the path only the first segment stays, and only when more
    follow (the last segment is where such tokens sit); userinfo, the rest of the path, the query
    and the fragment each become MASK::

        https://hooks.slack.com/services/T0/B0/XXXX  ->  https://hooks.slack.com/services/**********
        https://user:pw@example.org/hook?token=abc   ->  https://**********@example.org/**********?**********
    """
    parts = urllib.parse.urlsplit(url)
    userinfo, at, host = parts.netloc.rpartition("@")
    shown = f"{parts.scheme}://{MASK + at if userinfo else ''}{host}"
    segments = parts.path.split("/")[1:]  # "/a/b" -> ["a", "b"]; "" -> []
    if len(segments) > 1:
        shown += f"/{segments[0]}/{MASK}"
    elif segments and segments[0]:
        shown += f"/{MASK}"
    elif segments:
        shown += "/"
    if parts.query:
        shown += f"?{MASK}"
    if parts.fragment:
        shown += f"#{MASK}"
    return shown


def secret_paths(spec: dict[str, Any]) -> set[tuple[str, ...]]:
    """Every property path a connector spec marks secret, at any depth, through
    oneOf/anyOf/allOf/items. ``spec`` is the connector's `spec` output; the JSON Schema walked
    is its ``connectionSpecification``.

    Array items share their parent's path: a secret inside a list is masked in every element.
    """
    found: set[tuple[str, ...]] = set()

    def walk(schema: Any, path: tuple[str, ...]) -> None:
        if not isinstance(schema, dict):
            return
        if schema.get("airbyte_secret") is True and path:
            found.add(path)
        for name, sub in (schema.get("properties") or {}).items():
            walk(sub, (*path, name))
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in schema.get(key) or []:
                walk(sub, path)
        if isinstance(schema.get("items"), dict):
            walk(schema["items"], path)

    walk(spec.get("connectionSpecification") or {}, ())
    return found


def mask(config: Any, spec: dict[str, Any]) -> Any:
    """A copy of ``config`` with every secret value replaced by MASK."""
    return _map_secrets(config, secret_paths(spec), (), lambda value, path: MASK)


def keep_masked(new: Any, old: Any, spec: dict[str, Any]) -> Any:
    """``new`` with each secret that was sent as MASK replaced by its stored value in ``old``
    (walked side by side, so an element of a list is restored from the same element)."""
    secrets = secret_paths(spec)

    def walk(value: Any, stored: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, dict):
            before = stored if isinstance(stored, dict) else {}
            return {key: walk(item, before.get(key, _MISSING), (*path, key)) for key, item in value.items()}
        if isinstance(value, list):
            earlier = stored if isinstance(stored, list) else []
            return [walk(item, earlier[i] if i < len(earlier) else _MISSING, path) for i, item in enumerate(value)]
        if path in secrets and value == MASK and stored is not _MISSING:
            return stored
        return value

    return walk(new, old, ())


def secret_values(config: Any, spec: dict[str, Any]) -> list[str]:
    """The secret strings in a config, for scrubbing them out of log lines."""
    values: list[str] = []

    def collect(value: Any, path: tuple[str, ...]) -> Any:
        if isinstance(value, (str, int, float)) and str(value):
            values.append(str(value))
        return value

    _map_secrets(config, secret_paths(spec), (), collect)
    return values


_MISSING = object()


def _map_secrets(value: Any, secrets: set[tuple[str, ...]], path: tuple[str, ...], fn: Any) -> Any:
    if path in secrets and not isinstance(value, (dict, list)):
        return fn(value, path)
    if isinstance(value, dict):
        return {key: _map_secrets(item, secrets, (*path, key), fn) for key, item in value.items()}
    if isinstance(value, list):
        return [_map_secrets(item, secrets, path, fn) for item in value]
    return value


def _lookup(config: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(config, dict) or key not in config:
            return _MISSING
        config = config[key]
    return config
