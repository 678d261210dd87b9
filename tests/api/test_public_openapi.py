"""specs/public-openapi.json: the public API's document, generated from its table, committed,
valid, and in the SDK's names (its operationIds and its path for each operation)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airpipe.api.public_openapi import build_public_spec, public_spec_bytes
from airpipe.api.public_operations import PUBLIC_OPERATIONS

SPEC_FILE = Path(__file__).parents[2] / "specs" / "public-openapi.json"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return build_public_spec()


def test_committed_public_spec_is_current() -> None:
    assert SPEC_FILE.read_bytes() == public_spec_bytes(), "specs/public-openapi.json is out of date: run `make spec`"


def test_public_spec_is_valid_openapi(spec: dict[str, Any]) -> None:
    from openapi_spec_validator import validate

    validate(spec)
    assert json.loads(public_spec_bytes()) == spec


def test_every_operation_is_in_the_document_once(spec: dict[str, Any]) -> None:
    documented = {(path, method.upper()) for path, item in spec["paths"].items() for method in item}
    assert documented == {(o.path, o.method) for o in PUBLIC_OPERATIONS}
    ids = [item[method]["operationId"] for item in spec["paths"].values() for method in item]
    assert len(ids) == len(set(ids))


def test_the_sdk_calls_each_operation_at_the_same_method_and_path() -> None:
    """The airbyte-api SDK's own paths, read from its modules: airpipe's table must hold each
    one the SDK sends for what airpipe serves (the SDK has more: tags, users, permissions...)."""
    import inspect
    import re

    from airbyte_api import connections, jobs, sources, streams, workspaces

    sent = set()
    for module in (connections, jobs, sources, streams, workspaces):
        sent |= set(re.findall(r'method="([A-Z]+)",\s*path="([^"]+)"', inspect.getsource(module)))
    served = {(o.method, o.path) for o in PUBLIC_OPERATIONS}
    assert {call for call in sent if "oauth" not in call[1].lower() and "initiateOAuth" not in call[1]} <= served
