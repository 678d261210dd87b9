"""destinations/*, scheduler/destinations/* and web_backend/destinations/*: Local JSON
destinations, whose path must stay inside the local root."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from airpipe.connectors import registry

#: builders and direct calls alike find Faker's and Local JSON's specs cached (no get_spec process)
pytestmark = pytest.mark.usefixtures("cached_specs")

WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
FAKER_ID = str(registry.FAKER.id)
LOCAL_JSON_ID = str(registry.LOCAL_JSON.id)
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
INVALID = "The provided configuration does not fulfill the specification. Errors: "


def destination_body(path: Any = "/local/out", **fields: Any) -> dict[str, Any]:
    config = {"destination_path": path}
    return {
        "workspaceId": WORKSPACE_ID,
        "destinationDefinitionId": LOCAL_JSON_ID,
        "connectionConfiguration": config,
        "name": "json",
        **fields,
    }


def test_create_get_and_list(call: Any, create_destination: Any) -> None:
    destination = create_destination("/local/out")
    assert destination == {
        "destinationDefinitionId": LOCAL_JSON_ID,
        "createdAt": destination["createdAt"],
        "updatedAt": destination["createdAt"],
        "createdBy": "anonymous",
        "updatedBy": "anonymous",
        "destinationId": destination["destinationId"],
        "workspaceId": WORKSPACE_ID,
        "connectionConfiguration": {"destination_path": "/local/out"},
        "name": "json",
        "destinationName": "Local JSON",
    }
    assert call("destinations/get", {"destinationId": destination["destinationId"]}) == destination
    assert call("destinations/list", {"workspaceId": WORKSPACE_ID}) == {"destinations": [destination]}


def test_create_refuses_unknown_workspaces_and_definitions(call: Any) -> None:
    error = call("destinations/create", destination_body(workspaceId=UNKNOWN_ID), status=404)
    assert error == {"message": f"Could not find workspace with id {UNKNOWN_ID}", "id": UNKNOWN_ID}
    error = call("destinations/create", destination_body(destinationDefinitionId=FAKER_ID), status=404)
    assert error == {"message": f"Could not find destination_definition with id {FAKER_ID}", "id": FAKER_ID}


def test_unknown_destinations_are_404(call: Any) -> None:
    expected = {"message": f"Could not find destination with id {UNKNOWN_ID}", "id": UNKNOWN_ID}
    for path in ["destinations/get", "destinations/delete", "destinations/check_connection"]:
        assert call(path, {"destinationId": UNKNOWN_ID}, status=404) == expected, path
    update = {"destinationId": UNKNOWN_ID, "connectionConfiguration": {"destination_path": "x"}, "name": "x"}
    assert call("destinations/update", update, status=404) == expected
    assert call("destinations/check_connection_for_update", update, status=404) == expected
    assert call("destinations/list", {"workspaceId": UNKNOWN_ID}, status=404)["id"] == UNKNOWN_ID


def test_a_missing_path_is_422_naming_it(call: Any) -> None:
    body = {**destination_body(), "connectionConfiguration": {}}
    assert call("destinations/create", body, status=422) == {
        "message": INVALID + "$.connectionConfiguration.destination_path: is required",
        "validationErrors": [{"propertyPath": "$.connectionConfiguration.destination_path", "message": "is required"}],
    }


def test_a_path_of_the_wrong_type_is_422(call: Any) -> None:
    error = call("destinations/create", destination_body(5), status=422)
    assert error["validationErrors"] == [
        {"propertyPath": "$.connectionConfiguration.destination_path", "invalidValue": 5, "message": "5 is not of type 'string'"}
    ]


def test_a_path_that_escapes_the_local_root_is_422(call: Any, local_root: Path) -> None:
    root = local_root.resolve()
    for path in ["../outside", "/local/../../etc", "/local/a/../../.."]:
        error = call("destinations/create", destination_body(path), status=422)
        message = f"the path {path!r} leads outside the local root {root}"
        assert error == {
            "message": INVALID + "$.connectionConfiguration.destination_path: " + message,
            "validationErrors": [{"propertyPath": "$.connectionConfiguration.destination_path", "invalidValue": path, "message": message}],
        }
    assert call("destinations/list", {"workspaceId": WORKSPACE_ID}) == {"destinations": []}


def test_a_symlink_out_of_the_local_root_is_422(call: Any, local_root: Path, tmp_path: Path) -> None:
    local_root.mkdir(parents=True, exist_ok=True)
    (local_root / "link").symlink_to(tmp_path)
    error = call("destinations/create", destination_body("/local/link/out"), status=422)
    assert error["validationErrors"][0]["propertyPath"] == "$.connectionConfiguration.destination_path"


def test_paths_inside_the_root_are_accepted_in_every_spelling(call: Any) -> None:
    for path in ["/local/a", "/b", "c/d", "/local", "e/../f"]:
        call("destinations/create", destination_body(path))
    assert len(call("destinations/list", {"workspaceId": WORKSPACE_ID})["destinations"]) == 5


def test_update_is_validated_too(call: Any, create_destination: Any) -> None:
    destination = create_destination("/local/out")
    body = {
        "destinationId": destination["destinationId"],
        "name": "moved",
        "connectionConfiguration": {"destination_path": "/local/elsewhere"},
    }
    updated = call("destinations/update", body)
    assert updated == {**destination, "name": "moved", "connectionConfiguration": {"destination_path": "/local/elsewhere"}}
    escape = {**body, "connectionConfiguration": {"destination_path": "../.."}}
    assert call("destinations/update", escape, status=422)["validationErrors"][0]["invalidValue"] == "../.."
    assert call("destinations/check_connection_for_update", escape, status=422)["validationErrors"][0]["invalidValue"] == "../.."
    assert call("destinations/get", {"destinationId": destination["destinationId"]}) == updated


def test_delete_hides_the_destination_and_deprecates_its_connections(
    client: Any, call: Any, create_destination: Any, create_connection: Any
) -> None:
    destination = create_destination()
    connection = create_connection(destination=destination)
    response = client.post("/api/v1/destinations/delete", json={"destinationId": destination["destinationId"]})
    assert (response.status_code, response.content) == (204, b"")
    call("destinations/get", {"destinationId": destination["destinationId"]}, status=404)
    assert call("destinations/list", {"workspaceId": WORKSPACE_ID}) == {"destinations": []}
    assert call("connections/get", {"connectionId": connection["connectionId"]})["status"] == "deprecated"
    call("connections/sync", {"connectionId": connection["connectionId"]}, status=409)


# CHECKS


def test_check_connection_makes_the_directory(call: Any, create_destination: Any, local_root: Path) -> None:
    destination = create_destination("/local/made/here")
    assert call("destinations/check_connection", {"destinationId": destination["destinationId"]}) == {"status": "succeeded"}
    assert (local_root / "made" / "here").is_dir()
    [job] = call("jobs/list", {"configId": destination["destinationId"], "configType": "check_connection_destination"})["jobs"]
    assert job["job"]["status"] == "succeeded"


def test_check_connection_fails_where_it_cannot_write(call: Any, create_destination: Any, local_root: Path, seen_local_root: Path) -> None:
    local_root.mkdir(parents=True, exist_ok=True)
    (local_root / "file").write_text("not a directory")
    destination = create_destination("/local/file/out")
    result = call("destinations/check_connection", {"destinationId": destination["destinationId"]})
    assert result["status"] == "failed"
    assert result["message"].startswith(f"cannot write to {seen_local_root / 'file' / 'out'}: ")


def test_check_connection_for_update_checks_without_saving(call: Any, create_destination: Any, local_root: Path) -> None:
    destination = create_destination("/local/out")
    body = {"destinationId": destination["destinationId"], "name": "x", "connectionConfiguration": {"destination_path": "/local/new"}}
    assert call("destinations/check_connection_for_update", body) == {"status": "succeeded"}
    assert (local_root / "new").is_dir()
    assert call("destinations/get", {"destinationId": destination["destinationId"]}) == destination


def test_scheduler_check_of_an_unsaved_config(call: Any, local_root: Path) -> None:
    body = {"destinationDefinitionId": LOCAL_JSON_ID, "connectionConfiguration": {"destination_path": "/local/unsaved"}}
    assert call("scheduler/destinations/check_connection", body) == {"status": "succeeded"}
    assert (local_root / "unsaved").is_dir()
    escape = {**body, "connectionConfiguration": {"destination_path": "/local/../../x"}}
    assert call("scheduler/destinations/check_connection", escape, status=422)["validationErrors"][0]["propertyPath"] == (
        "$.connectionConfiguration.destination_path"
    )
    unknown = {**body, "destinationDefinitionId": UNKNOWN_ID}
    assert call("scheduler/destinations/check_connection", unknown, status=404)["id"] == UNKNOWN_ID


# WEB BACKEND


def test_web_backend_create_and_recreate(call: Any, create_connection: Any) -> None:
    assert call("web_backend/destinations/create", destination_body("/local/.."), status=422)["validationErrors"][0]["propertyPath"] == (
        "$.connectionConfiguration.destination_path"
    )
    old = call("web_backend/destinations/create", destination_body("/local/old"))
    assert call("destinations/get", {"destinationId": old["destinationId"]}) == old
    connection = create_connection(destination=old)
    new = call("web_backend/destinations/recreate", {**destination_body("/local/new"), "destinationId": old["destinationId"]})
    assert new["destinationId"] != old["destinationId"]
    assert new["connectionConfiguration"] == {"destination_path": "/local/new"}
    call("destinations/get", {"destinationId": old["destinationId"]}, status=404)
    assert call("connections/get", {"connectionId": connection["connectionId"]})["status"] == "deprecated"
    unknown = {**destination_body(), "destinationId": UNKNOWN_ID}
    assert call("web_backend/destinations/recreate", unknown, status=404)["message"] == f"Could not find destination with id {UNKNOWN_ID}"
    escape = {**destination_body(".."), "destinationId": new["destinationId"]}
    call("web_backend/destinations/recreate", escape, status=422)
    assert call("destinations/get", {"destinationId": new["destinationId"]}) == new
