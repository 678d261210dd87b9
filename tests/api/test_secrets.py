"""Secrets (CONTRACT.md): properties a connector's spec marks ``airbyte_secret`` are masked by every
read, "**********" on update keeps the stored value, and secrets never reach logs.

The connector is a tiny protocol program of our own, ``source-secretive``, found on PATH the way
any third-party connector is: its spec has a secret at the top level and one inside a ``oneOf``,
and its ``check`` succeeds only for the password "s3cret" (so a check shows which password the
connector was given without the API ever showing it).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from suitekit import users_catalog

from airpipe import models

MASK = "**********"
WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"

SPEC = {
    "type": "object",
    "required": ["user", "password"],
    "properties": {
        "user": {"type": "string"},
        "password": {"type": "string", "airbyte_secret": True},
        "tunnel": {
            "type": "object",
            "oneOf": [
                {"properties": {"method": {"const": "none"}}},
                {"properties": {"method": {"const": "key"}, "key": {"type": "string", "airbyte_secret": True}}},
            ],
        },
    },
}

PROGRAM = """\
#!{python}
import json, sys

def emit(message):
    print(json.dumps(message), flush=True)

verb, args = sys.argv[1], dict(zip(sys.argv[2::2], sys.argv[3::2]))
if verb == "spec":
    emit({{"type": "SPEC", "spec": {{"connectionSpecification": {spec}}}}})
elif verb == "check":
    config = json.load(open(args["--config"]))
    # a careless connector: it logs its whole config, secrets included
    emit({{"type": "LOG", "log": {{"level": "INFO", "message": "logging in with " + json.dumps(config)}}}})
    ok = config["password"] == "s3cret"
    status = {{"status": "SUCCEEDED", "message": "welcome"}} if ok else {{"status": "FAILED", "message": "wrong password"}}
    emit({{"type": "CONNECTION_STATUS", "connectionStatus": status}})
else:
    sys.exit(2)
"""


@pytest.fixture
def secretive_definition(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, call: Any) -> Any:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    program = bin_dir / "source-secretive"
    program.write_text(PROGRAM.format(python=sys.executable, spec=repr(SPEC)))
    program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    body = {"name": "Secretive", "dockerRepository": "example/source-secretive", "dockerImageTag": "1.0"}
    return call("source_definitions/create", body)


@pytest.fixture
def create_secretive(call: Any, secretive_definition: Any) -> Any:
    def create(password: str = "s3cret", **config: Any) -> Any:
        body = {
            "workspaceId": WORKSPACE_ID,
            "sourceDefinitionId": secretive_definition["sourceDefinitionId"],
            "connectionConfiguration": {"user": "ada", "password": password, **config},
            "name": "secretive",
        }
        return call("sources/create", body)

    return create


def stored_configuration(source_id: str) -> dict[str, Any]:
    with models.db.connection_context():
        return models.Actor.get_by_id(source_id).configuration


def update_body(source: dict[str, Any], **config: Any) -> dict[str, Any]:
    return {"sourceId": source["sourceId"], "name": source["name"], "connectionConfiguration": {"user": "ada", **config}}


def test_the_program_speaks_the_protocol(call: Any, secretive_definition: Any) -> None:
    spec = call("source_definition_specifications/get", {"sourceDefinitionId": secretive_definition["sourceDefinitionId"]})
    assert spec["connectionSpecification"] == SPEC


def test_create_answers_the_secret_masked_and_stores_it_clear(create_secretive: Any) -> None:
    source = create_secretive(tunnel={"method": "key", "key": "k3y"})
    assert source["connectionConfiguration"] == {"user": "ada", "password": MASK, "tunnel": {"method": "key", "key": MASK}}
    assert stored_configuration(source["sourceId"]) == {"user": "ada", "password": "s3cret", "tunnel": {"method": "key", "key": "k3y"}}


def test_every_read_masks_the_secret(call: Any, create_secretive: Any, create_destination: Any) -> None:
    source = create_secretive(tunnel={"method": "key", "key": "k3y"})
    masked = {"user": "ada", "password": MASK, "tunnel": {"method": "key", "key": MASK}}
    assert call("sources/get", {"sourceId": source["sourceId"]})["connectionConfiguration"] == masked
    [listed] = call("sources/list", {"workspaceId": WORKSPACE_ID})["sources"]
    assert listed["connectionConfiguration"] == masked

    destination = create_destination()
    connection = call(
        "connections/create",
        {"sourceId": source["sourceId"], "destinationId": destination["destinationId"], "status": "active", "syncCatalog": users_catalog()},
    )
    wb = call("web_backend/connections/get", {"connectionId": connection["connectionId"]})
    assert wb["source"]["connectionConfiguration"] == masked
    [wb_listed] = call("web_backend/connections/list", {"workspaceId": WORKSPACE_ID})["connections"]
    assert wb_listed["source"]["connectionConfiguration"] == masked


def test_the_stored_secret_is_what_the_connector_gets(call: Any, create_secretive: Any) -> None:
    assert call("sources/check_connection", {"sourceId": create_secretive()["sourceId"]}) == {"status": "succeeded", "message": "welcome"}
    assert call("sources/check_connection", {"sourceId": create_secretive("nope")["sourceId"]}) == {
        "status": "failed",
        "message": "wrong password",
    }


def test_update_with_the_mask_keeps_the_stored_secret(call: Any, create_secretive: Any) -> None:
    source = create_secretive()
    updated = call("sources/update", update_body(source, password=MASK))
    assert updated["connectionConfiguration"] == {"user": "ada", "password": MASK}
    assert stored_configuration(source["sourceId"])["password"] == "s3cret"
    assert call("sources/check_connection", {"sourceId": source["sourceId"]})["status"] == "succeeded"


def test_update_with_a_new_value_replaces_the_secret(call: Any, create_secretive: Any) -> None:
    source = create_secretive()
    call("sources/update", update_body(source, password="changed"))
    assert stored_configuration(source["sourceId"])["password"] == "changed"
    assert call("sources/check_connection", {"sourceId": source["sourceId"]}) == {"status": "failed", "message": "wrong password"}


def test_nested_secret_inside_one_of_is_kept_by_the_mask(call: Any, create_secretive: Any) -> None:
    source = create_secretive(tunnel={"method": "key", "key": "k3y"})
    call("sources/update", update_body(source, password=MASK, tunnel={"method": "key", "key": MASK}))
    assert stored_configuration(source["sourceId"]) == {"user": "ada", "password": "s3cret", "tunnel": {"method": "key", "key": "k3y"}}


def test_check_for_update_sees_the_kept_secret_and_stores_nothing(call: Any, create_secretive: Any) -> None:
    source = create_secretive()
    assert call("sources/check_connection_for_update", update_body(source, password=MASK))["status"] == "succeeded"
    assert call("sources/check_connection_for_update", update_body(source, password="other")) == {
        "status": "failed",
        "message": "wrong password",
    }
    assert stored_configuration(source["sourceId"])["password"] == "s3cret"


def test_a_secret_that_fails_validation_is_not_echoed(call: Any, secretive_definition: Any) -> None:
    body = {
        "workspaceId": WORKSPACE_ID,
        "sourceDefinitionId": secretive_definition["sourceDefinitionId"],
        "connectionConfiguration": {"user": "ada", "password": 12345},
        "name": "secretive",
    }
    error = call("sources/create", body, status=422)
    [field] = error["validationErrors"]
    assert field["propertyPath"] == "$.connectionConfiguration.password"
    assert field["invalidValue"] == MASK


def test_a_secret_that_fails_validation_is_not_quoted_in_the_message(call: Any, secretive_definition: Any) -> None:
    for config, leaked in [({"password": 12345}, "12345"), ({"password": "s3cret", "tunnel": {"method": "bogus", "key": "k3y"}}, "k3y")]:
        body = {
            "workspaceId": WORKSPACE_ID,
            "sourceDefinitionId": secretive_definition["sourceDefinitionId"],
            "connectionConfiguration": {"user": "ada", **config},
            "name": "secretive",
        }
        error = call("sources/create", body, status=422)
        assert leaked not in json.dumps(error), error


def test_secrets_never_reach_the_job_logs(call: Any, create_secretive: Any) -> None:
    source = create_secretive(tunnel={"method": "key", "key": "k3y"})
    call("sources/check_connection", {"sourceId": source["sourceId"]})
    jobs = call("jobs/list", {"configId": source["sourceId"], "configType": "check_connection_source"})["jobs"]
    info = call("jobs/get", {"id": jobs[0]["job"]["id"]})
    lines = [line for attempt in info["attempts"] for line in attempt["logs"]["logLines"]]
    assert any("logging in with" in line for line in lines)
    text = json.dumps(info)
    assert "s3cret" not in text and "k3y" not in text
    assert MASK in text
