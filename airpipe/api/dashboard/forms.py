"""A connector's spec (JSON Schema) as form fields, and a submitted form back as its config.

Top-level properties only, each by type: string (``airbyte_secret`` as a password input), integer,
number, boolean, enum; anything else (objects, arrays, oneOf) is a JSON text area. Values are
converted as far as their type allows and otherwise sent as typed, so that the service's
validation against the spec says what is wrong with them, naming the field.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from airpipe.errors import FieldError

#: the name a form gives a config property: apart from the form's own fields (name, workspace)
PREFIX = "config."


@dataclass
class Field:
    name: str  # the property's name in the config
    title: str
    kind: str  # text, password, integer, number, boolean, enum, json
    required: bool
    description: str = ""
    options: list[str] = field(default_factory=list)
    value: str = ""  # as the input shows it
    placeholder: str = ""  # the spec's first example
    error: str = ""

    @property
    def input_name(self) -> str:
        return PREFIX + self.name


def fields(spec: dict[str, Any], values: dict[str, str] | None = None) -> list[Field]:
    """The form for ``spec`` (a ConnectorSpecification's ``connectionSpecification``), filled with
    what was submitted (``values``, by input name) or else the spec's defaults."""
    properties: dict[str, Any] = spec.get("properties") or {}
    required = set(spec.get("required") or [])
    ordered = sorted(properties.items(), key=lambda item: (item[1].get("order", 1_000_000), item[0]))
    result = []
    for name, schema in ordered:
        if not isinstance(schema, dict):
            continue
        kind = _kind(schema)
        shown = Field(
            name=name,
            title=str(schema.get("title") or name),
            kind=kind,
            required=name in required,
            description=str(schema.get("description") or ""),
            options=[str(option) for option in schema.get("enum") or []],
            placeholder=_example(schema),
        )
        if values is not None:
            shown.value = values.get(shown.input_name, "")
        elif "default" in schema and kind != "password":
            default = schema["default"]
            shown.value = json.dumps(default) if kind == "json" else str(default).lower() if kind == "boolean" else str(default)
        result.append(shown)
    return result


def _example(schema: dict[str, Any]) -> str:
    examples = schema.get("examples")
    if not isinstance(examples, list) or not examples or schema.get("airbyte_secret") is True:
        return ""
    return examples[0] if isinstance(examples[0], str) else json.dumps(examples[0])


def _kind(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return "enum"
    kind = schema.get("type")
    if kind == "string":
        return "password" if schema.get("airbyte_secret") is True else "text"
    if kind in ("integer", "number", "boolean"):
        return str(kind)
    return "json"


def config(form_fields: list[Field], values: dict[str, str]) -> dict[str, Any]:
    """The connector config a submitted form describes. An empty optional input is left out (the
    connector's default applies); an empty required one too, so that validation says it is required."""
    result: dict[str, Any] = {}
    for shown in form_fields:
        raw = values.get(shown.input_name, "")
        if shown.kind == "boolean":
            result[shown.name] = raw in ("true", "on", "1")
            continue
        if raw == "":
            continue
        result[shown.name] = _typed(shown.kind, raw)
    return result


def _typed(kind: str, raw: str) -> Any:
    try:
        if kind == "integer":
            return int(raw)
        if kind == "number":
            return int(raw) if raw.lstrip("-").isdigit() else float(raw)
        if kind == "json":
            return json.loads(raw)
    except ValueError:
        pass  # sent as typed: validation names the field and says what type it wants
    return raw


def attach_errors(form_fields: list[Field], errors: list[FieldError], field_name: str = "connectionConfiguration") -> list[FieldError]:
    """Each error about a config property onto its field; the errors about no field are returned."""
    by_name = {shown.name: shown for shown in form_fields}
    prefix = f"$.{field_name}."
    others = []
    for error in errors:
        name = error.path[len(prefix) :].split(".")[0] if error.path.startswith(prefix) else None
        if name in by_name:
            by_name[name].error = error.message
        else:
            others.append(error)
    return others
