"""Airbyte's public API (/api/public/v1) over the same services: workspaces, sources,
destinations, connections and stream properties in the public API's shapes, lists that page with
next/previous links, and the 404/422 answers of each endpoint."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from airpipe.api.public_operations import PREFIX, PUBLIC_OPERATIONS

WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"

Rest = Callable[..., Any]


@pytest.fixture
def rest(client: TestClient, cached_specs: None) -> Rest:
    """``rest("GET", "/sources/...")``: a request under /api/public/v1; asserts the status and
    returns the JSON body (None for 204)."""

    def request(method: str, path: str, body: Any = None, *, status: int = 200, **params: Any) -> Any:
        expected = status
        response = client.request(method, PREFIX + path, json=body, params=params or None)
        assert response.status_code == expected, response.text
        return response.json() if response.content else None

    return request


@pytest.fixture
def source(rest: Rest) -> Any:
    body = {"name": "shop", "workspaceId": WORKSPACE_ID, "configuration": {"sourceType": "faker", "count": 20, "seed": 1}}
    return rest("POST", "/sources", body)


@pytest.fixture
def destination(rest: Rest) -> Any:
    body = {
        "name": "files",
        "workspaceId": WORKSPACE_ID,
        "configuration": {"destinationType": "local-json", "destination_path": "/local/pub"},
    }
    return rest("POST", "/destinations", body)


# WORKSPACES


def test_workspaces_create_get_rename_list_and_delete(rest: Rest) -> None:
    created = rest("POST", "/workspaces", {"name": "analytics"})
    assert created == {"workspaceId": created["workspaceId"], "name": "analytics", "dataResidency": "auto", "notifications": {}}
    workspace = created["workspaceId"]
    assert rest("PATCH", f"/workspaces/{workspace}", {"name": "bi"})["name"] == "bi"
    assert rest("GET", f"/workspaces/{workspace}")["name"] == "bi"
    assert {w["name"] for w in rest("GET", "/workspaces")["data"]} == {"default", "bi"}
    assert [w["name"] for w in rest("GET", "/workspaces", workspaceIds=workspace)["data"]] == ["bi"]
    assert rest("DELETE", f"/workspaces/{workspace}", status=204) is None
    rest("GET", f"/workspaces/{workspace}", status=404)
    assert [w["name"] for w in rest("GET", "/workspaces")["data"]] == ["default"]
    assert len(rest("GET", "/workspaces", includeDeleted="true")["data"]) == 2


def test_lists_page_with_next_and_previous_links(rest: Rest, client: TestClient) -> None:
    for n in range(4):
        rest("POST", "/workspaces", {"name": f"w{n}"})
    first = rest("GET", "/workspaces", limit=2)
    assert [w["name"] for w in first["data"]] == ["default", "w0"] and "previous" not in first
    assert first["next"] == f"http://testserver{PREFIX}/workspaces?limit=2&offset=2"
    second = client.get(first["next"]).json()
    assert [w["name"] for w in second["data"]] == ["w1", "w2"]
    third = client.get(second["next"]).json()
    assert [w["name"] for w in third["data"]] == ["w3"] and "next" not in third
    assert client.get(third["previous"]).json() == second


# SOURCES AND DESTINATIONS


def test_a_source_is_named_by_its_type_or_its_definition(rest: Rest, source: Any, call: Any) -> None:
    assert source["sourceType"] == "faker" and source["name"] == "shop" and source["workspaceId"] == WORKSPACE_ID
    assert source["configuration"] == {"count": 20, "seed": 1, "sourceType": "faker"}
    stored = call("sources/get", {"sourceId": source["sourceId"]})  # the same source, through the Configuration API
    assert stored["connectionConfiguration"] == {"count": 20, "seed": 1} and stored["sourceDefinitionId"] == source["definitionId"]
    by_definition = {"name": "b", "workspaceId": WORKSPACE_ID, "definitionId": source["definitionId"], "configuration": {"count": 3}}
    assert rest("POST", "/sources", by_definition)["sourceType"] == "faker"


def test_a_source_without_a_known_type_is_422_naming_the_field(rest: Rest) -> None:
    unknown = rest("POST", "/sources", {"name": "x", "workspaceId": WORKSPACE_ID, "configuration": {"sourceType": "nope"}}, status=422)
    assert unknown["validationErrors"][0]["propertyPath"] == "$.configuration.sourceType"
    untyped = rest("POST", "/sources", {"name": "x", "workspaceId": WORKSPACE_ID, "configuration": {}}, status=422)
    assert untyped["validationErrors"][0]["propertyPath"] == "$.definitionId"
    invalid = {"name": "x", "workspaceId": WORKSPACE_ID, "configuration": {"sourceType": "faker", "count": "many"}}
    assert "count" in rest("POST", "/sources", invalid, status=422)["message"]
    missing = rest("POST", "/sources", {"configuration": {}}, status=422)
    assert {e["propertyPath"] for e in missing["validationErrors"]} == {"$.name", "$.workspaceId"}


def test_patch_merges_the_configuration_and_put_replaces_it(rest: Rest, source: Any) -> None:
    path = f"/sources/{source['sourceId']}"
    patched = rest("PATCH", path, {"configuration": {"count": 7}})
    assert patched["name"] == "shop" and patched["configuration"] == {"count": 7, "seed": 1, "sourceType": "faker"}
    put = rest("PUT", path, {"name": "store", "configuration": {"count": 9}})
    assert put["name"] == "store" and put["configuration"] == {"count": 9, "sourceType": "faker"}


def test_sources_list_by_workspace_and_delete(rest: Rest, source: Any) -> None:
    other = rest("POST", "/workspaces", {"name": "other"})["workspaceId"]
    assert [s["sourceId"] for s in rest("GET", "/sources", workspaceIds=WORKSPACE_ID)["data"]] == [source["sourceId"]]
    assert rest("GET", "/sources", workspaceIds=other)["data"] == []
    rest("DELETE", f"/sources/{source['sourceId']}", status=204)
    rest("GET", f"/sources/{source['sourceId']}", status=404)
    assert rest("GET", "/sources")["data"] == []
    assert len(rest("GET", "/sources", includeDeleted="true")["data"]) == 1


def test_destinations_create_get_patch_and_delete(rest: Rest, destination: Any) -> None:
    assert destination["destinationType"] == "local-json"
    assert destination["configuration"] == {"destination_path": "/local/pub", "destinationType": "local-json"}
    path = f"/destinations/{destination['destinationId']}"
    assert rest("PATCH", path, {"name": "lake"})["name"] == "lake"
    assert [d["name"] for d in rest("GET", "/destinations")["data"]] == ["lake"]
    rest("DELETE", path, status=204)
    rest("GET", path, status=404)


# CONNECTIONS AND STREAMS


def test_stream_properties_name_the_modes_source_and_destination_share(rest: Rest, source: Any, destination: Any) -> None:
    streams = rest("GET", "/streams", sourceId=source["sourceId"], destinationId=destination["destinationId"])
    users = next(s for s in streams if s["streamName"] == "users")
    assert users["syncModes"] == ["full_refresh_overwrite", "full_refresh_append", "incremental_append", "incremental_deduped_history"]
    assert users["sourceDefinedPrimaryKey"] == [["id"]] and users["defaultCursorField"] == ["updated_at"]
    assert ["email"] in users["propertyFields"]
    rest("GET", "/streams", sourceId=UNKNOWN_ID, status=404)
    assert rest("GET", "/streams", status=422)["validationErrors"][0]["propertyPath"] == "$.sourceId"


def test_a_connection_syncs_the_streams_it_names(rest: Rest, source: Any, destination: Any, call: Any) -> None:
    body = {
        "sourceId": source["sourceId"],
        "destinationId": destination["destinationId"],
        "name": "shop to files",
        "configurations": {"streams": [{"name": "users", "syncMode": "incremental_deduped_history"}]},
        "schedule": {"scheduleType": "cron", "cronExpression": "0 0 12 * * ?"},
    }
    created = rest("POST", "/connections", body)
    assert created["status"] == "active" and created["workspaceId"] == WORKSPACE_ID and created["tags"] == []
    assert created["schedule"] == {"scheduleType": "cron", "cronExpression": "0 0 12 * * ?"}
    assert created["configurations"]["streams"] == [
        {"name": "users", "syncMode": "incremental_deduped_history", "cursorField": ["updated_at"], "primaryKey": [["id"]]}
    ]
    stored = call("connections/get", {"connectionId": created["connectionId"]})
    selected = {s["stream"]["name"]: s["config"]["selected"] for s in stored["syncCatalog"]["streams"]}
    assert selected["users"] is True and not any(on for name, on in selected.items() if name != "users")


def test_a_connection_without_configurations_takes_every_stream(rest: Rest, source: Any, destination: Any) -> None:
    created = rest("POST", "/connections", {"sourceId": source["sourceId"], "destinationId": destination["destinationId"]})
    assert {s["name"] for s in created["configurations"]["streams"]} >= {"users", "products"}
    assert created["schedule"] == {"scheduleType": "manual"} and created["name"] == "shop <> files"


def test_unknown_streams_and_unsupported_values_are_422_naming_the_entry(rest: Rest, source: Any, destination: Any) -> None:
    base = {"sourceId": source["sourceId"], "destinationId": destination["destinationId"]}
    streams = [{"name": "users"}, {"name": "nope"}]
    unknown = rest("POST", "/connections", {**base, "configurations": {"streams": streams}}, status=422)
    assert unknown["validationErrors"] == [
        {"propertyPath": "$.configurations.streams[1].name", "invalidValue": "nope", "message": "the source has no such stream"}
    ]
    locked = rest("POST", "/connections", {**base, "status": "locked"}, status=422)
    assert locked["validationErrors"][0]["propertyPath"] == "$.status"
    cron = rest("POST", "/connections", {**base, "schedule": {"scheduleType": "cron"}}, status=422)
    assert cron["validationErrors"][0]["propertyPath"] == "$.schedule.cronExpression"
    rest("POST", "/connections", {**base, "sourceId": UNKNOWN_ID}, status=404)


def test_patch_a_connection_and_delete_it(rest: Rest, source: Any, destination: Any) -> None:
    created = rest("POST", "/connections", {"sourceId": source["sourceId"], "destinationId": destination["destinationId"]})
    path = f"/connections/{created['connectionId']}"
    patched = rest("PATCH", path, {"status": "inactive", "name": "nightly", "configurations": {"streams": [{"name": "products"}]}})
    assert (patched["status"], patched["name"]) == ("inactive", "nightly")
    assert [s["name"] for s in patched["configurations"]["streams"]] == ["products"]
    assert rest("GET", "/connections", workspaceIds=WORKSPACE_ID)["data"][0]["connectionId"] == created["connectionId"]
    rest("DELETE", path, status=204)
    assert rest("GET", path)["status"] == "deprecated"  # as connections/get shows a deleted one
    assert rest("GET", "/connections")["data"] == []
    assert len(rest("GET", "/connections", includeDeleted="true")["data"]) == 1


# EVERY ENDPOINT'S 404 AND 422


def _with_ids(path: str, value: str) -> str:
    return re.sub(r"\{\w+\}", value, path)


def test_every_endpoint_with_a_path_parameter_answers_404_for_an_unknown_id(rest: Rest) -> None:
    bodies = {"PATCH": {}, "PUT": {"name": "x", "configuration": {}}}
    for operation in PUBLIC_OPERATIONS:
        if operation.path_parameters:
            unknown = "987654" if "{jobId}" in operation.path else UNKNOWN_ID
            answer = rest(operation.method, _with_ids(operation.path, unknown), bodies.get(operation.method), status=404)
            assert answer["message"].startswith("Could not find"), operation.operation_id


def test_every_endpoint_with_a_path_parameter_answers_422_for_a_malformed_one(rest: Rest) -> None:
    for operation in PUBLIC_OPERATIONS:
        if operation.path_parameters:
            answer = rest(operation.method, _with_ids(operation.path, "not-an-id"), {"name": "x", "configuration": {}}, status=422)
            assert answer["validationErrors"][0]["propertyPath"] == f"$.{operation.path_parameters[0]}", operation.operation_id


def test_every_endpoint_with_a_body_answers_422_for_malformed_json(client: TestClient) -> None:
    for operation in PUBLIC_OPERATIONS:
        if operation.body is not None:
            path = PREFIX + _with_ids(operation.path, UNKNOWN_ID)
            response = client.request(operation.method, path, content=b"{oops", headers={"Content-Type": "application/json"})
            assert response.status_code == 422, operation.operation_id
            assert response.json()["validationErrors"][0]["propertyPath"] == "$"


def test_query_parameters_of_the_wrong_type_are_422_naming_them(rest: Rest) -> None:
    for path, params, name in [
        ("/jobs", {"limit": "0"}, "limit"),
        ("/jobs", {"orderBy": "name|UP"}, "orderBy"),
        ("/jobs", {"jobType": "rebuild"}, "jobType"),
        ("/sources", {"workspaceIds": "nope"}, "workspaceIds"),
        ("/workspaces", {"offset": "-1"}, "offset"),
    ]:
        answer = rest("GET", path, status=422, **params)
        assert answer["validationErrors"][0]["propertyPath"] == f"$.{name}", (path, params)


def test_unknown_paths_and_methods_answer_json(client: TestClient) -> None:
    assert client.get(f"{PREFIX}/nothing").status_code == 404
    response = client.put(f"{PREFIX}/jobs")
    assert response.status_code == 405 and "message" in response.json()
