"""Connector configs are checked against their definition's JSON-Schema spec before they are saved.

jsonschema does the checking (it is the reference implementation of the standard the specs are
written in); this module turns its errors into 422s that name each failing property.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airpipe.connectors.local_paths import resolve_local_path
from airpipe.errors import FieldError, InvalidInput
from airpipe.services import options
from airpipe.services.secrets import mask

if TYPE_CHECKING:
    import jsonschema

#: the custom format a connector spec gives a path that must stay inside the local root
LOCAL_PATH_FORMAT = "local-path"


def validate_config(config: dict[str, Any], spec: dict[str, Any], *, field: str = "connectionConfiguration") -> None:
    import jsonschema  # here, not at the top: its import is a tenth of the server's start

    schema = spec.get("connectionSpecification") or {}
    checker = jsonschema.FormatChecker(formats=())
    checker.checks(LOCAL_PATH_FORMAT, raises=ValueError)(_inside_local_root)
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    try:
        validator_class.check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise InvalidInput(f"the connector's spec is not valid JSON Schema: {exc.message}") from None
    validator = validator_class(schema, format_checker=checker)
    shown = mask(config, spec)  # a secret that fails validation is not echoed back
    errors = []
    for error in sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path)):
        path = [str(part) for part in error.absolute_path]
        if error.validator == "required":
            missing = [name for name in error.validator_value if name not in (error.instance or {})]
            path.append(missing[0] if missing else "")
            message = "is required"
            value = None
        else:
            # jsonschema quotes the value in its message: quote the masked one instead
            message = _describe(error).replace(repr(error.instance), repr(_lookup(shown, path)))
            value = _lookup(shown, path)
        errors.append(FieldError("$." + ".".join([field, *path]), message, value))
    if errors:
        summary = "; ".join(f"{e.path}: {e.message}" for e in errors)
        raise InvalidInput(f"The provided configuration does not fulfill the specification. Errors: {summary}", errors)


def _inside_local_root(value: object) -> bool:
    if isinstance(value, str):
        resolve_local_path(value, options.local_root)
    return True


def _describe(error: jsonschema.ValidationError) -> str:
    if error.validator == "format" and error.cause is not None:
        return str(error.cause)
    return str(error.message)


def _lookup(config: Any, path: list[str]) -> Any:
    for key in path:
        if isinstance(config, dict):
            config = config.get(key)
        elif isinstance(config, list) and key.isdigit() and int(key) < len(config):
            config = config[int(key)]
        else:
            return None
    return config
