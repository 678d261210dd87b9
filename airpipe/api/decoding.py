"""Request bodies to Structs, with errors that name the field (CONTRACT.md, 422).

Bodies are parsed as JSON whatever the Content-Type says; an empty body is ``{}``. Decoding is
two steps, JSON to builtins then builtins to the Struct, so a failure can quote the offending
value (``invalidValue``) as well as its path.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import msgspec

from airpipe.errors import FieldError, InvalidInput

_decode_json = msgspec.json.Decoder().decode
#: deeper JSON is refused (422): no API body needs it, and past ~1,000 levels the decoder raises
#: RecursionError, which would otherwise be a 500
MAX_DEPTH = 128
_AT = re.compile(r"^(?P<message>.*?)(?: - at `(?P<path>[^`]*)`)?$", re.S)
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`$")
_PATH_PART = re.compile(r"\.([^.\[]+)|\[(\d+)\]")


def decode_body(body: bytes, request_type: type | None) -> Any:
    if not body.strip():
        raw: Any = {}
    else:
        try:
            raw = _decode_json(body)
        except msgspec.DecodeError as exc:
            raise InvalidInput.field("$", f"Malformed JSON: {exc}") from None
        except RecursionError:
            raise _too_deep() from None
    if request_type is None:
        return None
    if not isinstance(raw, dict):
        raise InvalidInput.field("$", f"Expected a JSON object, got {type(raw).__name__}", raw)
    _refuse_nul(raw, "$")
    missing = _missing_fields(raw, request_type)
    if missing:  # all of them at once, not the first only (msgspec stops at the first)
        raise InvalidInput("; ".join(f"{e.path}: {e.message}" for e in missing), missing)
    try:
        return msgspec.convert(raw, request_type)
    except msgspec.ValidationError as exc:
        raise _invalid(str(exc), raw) from None


@functools.cache
def _required(request_type: type) -> tuple[str, ...]:
    """The request's required top-level fields, as sent: msgspec.structs.fields reads the
    class's annotations anew on each call, which cost a tenth of a short request."""
    return tuple(field.encode_name for field in msgspec.structs.fields(request_type) if field.required)


def _missing_fields(raw: dict[str, Any], request_type: type) -> list[FieldError]:
    """The body's missing top-level fields: the required ones, and a choice of which one must be
    given (``__one_of__`` on the Struct: ``(("configType", "configTypes"),)``)."""
    errors = [FieldError(f"$.{name}", "is required") for name in _required(request_type) if name not in raw]
    for names in getattr(request_type, "__one_of__", ()):
        if not any(raw.get(name) for name in names):
            errors.append(FieldError(f"$.{names[-1]}", f"one of {' or '.join(names)} is required"))
    return errors


def _too_deep() -> InvalidInput:
    return InvalidInput.field("$", f"JSON is nested deeper than {MAX_DEPTH} levels")


def _refuse_nul(value: Any, path: str, depth: int = 0) -> None:
    """NUL cannot be stored in a PostgreSQL text column, so no string field may contain one.
    The same walk refuses nesting deeper than MAX_DEPTH."""
    if depth > MAX_DEPTH:
        raise _too_deep()
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput.field(path, "must not contain NUL (\\u0000) characters", value.replace("\x00", "\\u0000"))
    elif isinstance(value, dict):
        for key, item in value.items():
            _refuse_nul(item, f"{path}.{key}", depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_nul(item, f"{path}[{index}]", depth + 1)


def _invalid(text: str, raw: Any) -> InvalidInput:
    match = _AT.match(text)
    assert match is not None  # the pattern matches any string
    message, path = match["message"], match["path"] or "$"
    missing = _MISSING.match(message)
    if missing:
        path = f"{path}.{missing['field']}"
        error = FieldError(path, "is required")
    else:
        error = FieldError(path, message, _lookup(raw, path))
    return InvalidInput(f"{error.path}: {error.message}", [error])


def _lookup(raw: Any, path: str) -> Any:
    for name, index in _PATH_PART.findall(path[1:]):
        try:
            raw = raw[name] if name else raw[int(index)]
        except (KeyError, IndexError, TypeError):
            return None
    return raw
