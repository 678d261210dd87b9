"""A connector spec as form fields, and a submitted form back as a config (dashboard/forms.py)."""

from __future__ import annotations

from airpipe.api.dashboard import forms
from airpipe.errors import FieldError

SPEC = {
    "type": "object",
    "required": ["host", "mode"],
    "properties": {
        "port": {"type": "integer", "default": 5432, "order": 1},
        "host": {"type": "string", "title": "Host", "description": "where", "examples": ["db.internal"], "order": 0},
        "password": {"type": "string", "airbyte_secret": True, "default": "never shown", "order": 2},
        "ratio": {"type": "number", "order": 3},
        "verbose": {"type": "boolean", "default": True, "order": 4},
        "mode": {"type": "string", "enum": ["fast", "safe"], "order": 5},
        "schemas": {"type": "array", "items": {"type": "string"}, "default": ["public"], "order": 6},
    },
}


def test_each_property_becomes_a_field_of_its_kind_in_the_spec_order() -> None:
    fields = forms.fields(SPEC)
    assert [(f.name, f.kind, f.required) for f in fields] == [
        ("host", "text", True),
        ("port", "integer", False),
        ("password", "password", False),
        ("ratio", "number", False),
        ("verbose", "boolean", False),
        ("mode", "enum", True),
        ("schemas", "json", False),
    ]
    by_name = {f.name: f for f in fields}
    assert by_name["host"].title == "Host" and by_name["host"].description == "where"
    assert by_name["host"].placeholder == "db.internal" and by_name["port"].placeholder == ""
    assert by_name["port"].title == "port" and by_name["port"].value == "5432"
    assert by_name["password"].value == ""  # a secret's default is never put in the page
    assert by_name["verbose"].value == "true"
    assert by_name["mode"].options == ["fast", "safe"]
    assert by_name["schemas"].value == '["public"]'
    assert by_name["port"].input_name == "config.port"


def test_a_form_becomes_a_typed_config() -> None:
    submitted = {
        "config.host": "db",
        "config.port": "6543",
        "config.password": "s3cret",
        "config.ratio": "0.5",
        "config.verbose": "false",
        "config.mode": "safe",
        "config.schemas": '["a", "b"]',
    }
    config = forms.config(forms.fields(SPEC), submitted)
    assert config == {
        "host": "db", "port": 6543, "password": "s3cret", "ratio": 0.5, "verbose": False, "mode": "safe", "schemas": ["a", "b"]
    }  # fmt: skip


def test_empty_inputs_are_left_out_and_untypable_ones_sent_as_typed() -> None:
    submitted = {"config.host": "", "config.port": "many", "config.ratio": "3", "config.verbose": "true", "config.schemas": "[oops"}
    config = forms.config(forms.fields(SPEC), submitted)
    assert config == {"port": "many", "ratio": 3, "verbose": True, "schemas": "[oops"}


def test_errors_go_onto_their_fields() -> None:
    fields = forms.fields(SPEC, {"config.port": "many"})
    errors = [
        FieldError("$.connectionConfiguration.port", "'many' is not of type 'integer'"),
        FieldError("$.connectionConfiguration.host", "is required"),
        FieldError("$.name", "Expected `str` of length <= 256"),
    ]
    assert forms.attach_errors(fields, errors) == [errors[2]]
    by_name = {f.name: f for f in fields}
    assert by_name["port"].error == "'many' is not of type 'integer'" and by_name["port"].value == "many"
    assert by_name["host"].error == "is required"
