"""sources/*, scheduler/sources/* and web_backend/sources/*: Faker sources, validated against
Faker's spec, soft-deleted, checked and discovered through real connector processes."""

from __future__ import annotations

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


def source_body(**config: Any) -> dict[str, Any]:
    return {"workspaceId": WORKSPACE_ID, "sourceDefinitionId": FAKER_ID, "connectionConfiguration": config, "name": "faker"}


# CREATE, GET, LIST


def test_create_answers_the_source(create_source: Any) -> None:
    source = create_source(5)
    assert source == {
        "sourceDefinitionId": FAKER_ID,
        "createdAt": source["createdAt"],
        "updatedAt": source["createdAt"],
        "createdBy": "anonymous",
        "updatedBy": "anonymous",
        "sourceId": source["sourceId"],
        "workspaceId": WORKSPACE_ID,
        "connectionConfiguration": {"count": 5, "seed": 1},
        "name": "faker",
        "sourceName": "Faker",
    }


def test_get_and_list(call: Any, create_source: Any) -> None:
    first, second = create_source(1, name="one"), create_source(2, name="two")
    assert call("sources/get", {"sourceId": first["sourceId"]}) == first
    listed = call("sources/list", {"workspaceId": WORKSPACE_ID})["sources"]
    assert sorted(listed, key=lambda s: s["name"]) == [first, second]


def test_list_is_per_workspace(call: Any, create_source: Any) -> None:
    create_source()
    other = call("workspaces/create", {"name": "other"})
    assert call("sources/list", {"workspaceId": other["workspaceId"]}) == {"sources": []}
    assert call("sources/list", {"workspaceId": UNKNOWN_ID}, status=404)["message"] == f"Could not find workspace with id {UNKNOWN_ID}"


def test_create_refuses_unknown_workspaces_and_definitions(call: Any) -> None:
    error = call("sources/create", {**source_body(), "workspaceId": UNKNOWN_ID}, status=404)
    assert error == {"message": f"Could not find workspace with id {UNKNOWN_ID}", "id": UNKNOWN_ID}
    error = call("sources/create", {**source_body(), "sourceDefinitionId": UNKNOWN_ID}, status=404)
    assert error == {"message": f"Could not find source_definition with id {UNKNOWN_ID}", "id": UNKNOWN_ID}
    error = call("sources/create", {**source_body(), "sourceDefinitionId": LOCAL_JSON_ID}, status=404)
    assert error["message"] == f"Could not find source_definition with id {LOCAL_JSON_ID}"


def test_unknown_sources_are_404(call: Any) -> None:
    expected = {"message": f"Could not find source with id {UNKNOWN_ID}", "id": UNKNOWN_ID}
    for path in ["sources/get", "sources/delete", "sources/check_connection", "sources/discover_schema"]:
        assert call(path, {"sourceId": UNKNOWN_ID}, status=404) == expected, path
    update = {"sourceId": UNKNOWN_ID, "connectionConfiguration": {}, "name": "x"}
    assert call("sources/update", update, status=404) == expected
    assert call("sources/check_connection_for_update", update, status=404) == expected


# VALIDATION AGAINST THE SPEC


def test_config_of_the_wrong_type_is_422_naming_the_property(call: Any) -> None:
    error = call("sources/create", source_body(count="many"), status=422)
    assert error == {
        "message": INVALID + "$.connectionConfiguration.count: 'many' is not of type 'integer'",
        "validationErrors": [
            {"propertyPath": "$.connectionConfiguration.count", "invalidValue": "many", "message": "'many' is not of type 'integer'"}
        ],
    }
    assert call("sources/list", {"workspaceId": WORKSPACE_ID}) == {"sources": []}


def test_every_failing_property_is_named(call: Any) -> None:
    error = call("sources/create", source_body(count=-1, seed="s"), status=422)
    assert error["validationErrors"] == [
        {"propertyPath": "$.connectionConfiguration.count", "invalidValue": -1, "message": "-1 is less than the minimum of 0"},
        {"propertyPath": "$.connectionConfiguration.seed", "invalidValue": "s", "message": "'s' is not of type 'integer'"},
    ]


def test_a_config_that_is_not_an_object_is_422(call: Any) -> None:
    body = {**source_body(), "connectionConfiguration": [1]}
    assert call("sources/create", body, status=422)["validationErrors"] == [
        {"propertyPath": "$.connectionConfiguration", "invalidValue": [1], "message": "Expected `object`, got `array`"}
    ]


# UPDATE


def test_update_replaces_name_and_config(call: Any, create_source: Any) -> None:
    source = create_source(5)
    updated = call("sources/update", {"sourceId": source["sourceId"], "name": "renamed", "connectionConfiguration": {"count": 7}})
    assert updated == {**source, "name": "renamed", "connectionConfiguration": {"count": 7}}
    assert call("sources/get", {"sourceId": source["sourceId"]}) == updated


def test_an_invalid_update_changes_nothing(call: Any, create_source: Any) -> None:
    source = create_source(5)
    body = {"sourceId": source["sourceId"], "name": "renamed", "connectionConfiguration": {"count": "x"}}
    error = call("sources/update", body, status=422)
    assert error["validationErrors"][0]["propertyPath"] == "$.connectionConfiguration.count"
    assert call("sources/get", {"sourceId": source["sourceId"]}) == source


# DELETE


def test_delete_hides_the_source_and_deprecates_its_connections(client: Any, call: Any, create_source: Any, create_connection: Any) -> None:
    source = create_source()
    connection = create_connection(source)
    response = client.post("/api/v1/sources/delete", json={"sourceId": source["sourceId"]})
    assert (response.status_code, response.content) == (204, b"")
    assert (
        call("sources/get", {"sourceId": source["sourceId"]}, status=404)["message"]
        == f"Could not find source with id {source['sourceId']}"
    )
    assert call("sources/list", {"workspaceId": WORKSPACE_ID}) == {"sources": []}
    assert call("connections/get", {"connectionId": connection["connectionId"]})["status"] == "deprecated"
    assert call("connections/list", {"workspaceId": WORKSPACE_ID}) == {"connections": []}
    call("sources/delete", {"sourceId": source["sourceId"]}, status=404)
    call("sources/check_connection", {"sourceId": source["sourceId"]}, status=404)


# CHECK AND DISCOVER


def test_check_connection_runs_a_check_job(call: Any, create_source: Any) -> None:
    source = create_source()
    assert call("sources/check_connection", {"sourceId": source["sourceId"]}) == {"status": "succeeded"}
    [job] = call("jobs/list", {"configId": source["sourceId"], "configType": "check_connection_source"})["jobs"]
    assert job["job"]["status"] == "succeeded"
    assert [a["status"] for a in job["attempts"]] == ["succeeded"]


def test_check_connection_for_update_checks_without_saving(call: Any, create_source: Any) -> None:
    source = create_source(5)
    body = {"sourceId": source["sourceId"], "name": "other", "connectionConfiguration": {"count": 9}}
    assert call("sources/check_connection_for_update", body) == {"status": "succeeded"}
    assert call("sources/get", {"sourceId": source["sourceId"]}) == source
    bad = {**body, "connectionConfiguration": {"count": -5}}
    assert call("sources/check_connection_for_update", bad, status=422)["validationErrors"] == [
        {"propertyPath": "$.connectionConfiguration.count", "invalidValue": -5, "message": "-5 is less than the minimum of 0"}
    ]


def test_discover_schema_shows_both_views(call: Any, create_source: Any) -> None:
    discovered = call("sources/discover_schema", {"sourceId": create_source()["sourceId"]})
    assert [s["name"] for s in discovered["schema"]["streams"]] == ["users", "products", "purchases"]
    users = discovered["schema"]["streams"][0]
    assert {f["name"]: f["dataType"] for f in users["fields"]} == {
        "id": "number",
        "name": "string",
        "email": "string",
        "age": "number",
        "city": "string",
        "is_active": "boolean",
        "updated_at": "string",
    }
    assert users["supportedSyncModes"] == ["full_refresh", "incremental"]
    assert (users["sourceDefinedCursor"], users["defaultCursorField"]) == (True, ["updated_at"])
    assert (users["selected"], users["syncMode"]) == (True, "full_refresh")
    stream = discovered["catalog"]["streams"][0]
    assert stream["stream"]["name"] == "users"
    assert stream["stream"]["sourceDefinedPrimaryKey"] == [["id"]]
    assert stream["config"] == {
        "syncMode": "full_refresh",
        "cursorField": ["updated_at"],
        "destinationSyncMode": "overwrite",
        "primaryKey": [["id"]],
        "aliasName": "users",
        "selected": True,
    }


# SCHEDULER: UNSAVED CONFIGS


def test_scheduler_check_of_an_unsaved_config(call: Any) -> None:
    body = {"sourceDefinitionId": FAKER_ID, "connectionConfiguration": {"count": 1}}
    assert call("scheduler/sources/check_connection", body) == {"status": "succeeded"}
    [job] = call("jobs/list", {"configId": FAKER_ID, "configType": "check_connection_source"})["jobs"]
    assert job["job"]["status"] == "succeeded"


def test_scheduler_validates_before_running_anything(call: Any) -> None:
    for path in ["scheduler/sources/check_connection", "scheduler/sources/discover_schema"]:
        error = call(path, {"sourceDefinitionId": FAKER_ID, "connectionConfiguration": {"count": "x"}}, status=422)
        assert error["validationErrors"][0]["propertyPath"] == "$.connectionConfiguration.count"
        error = call(path, {"sourceDefinitionId": UNKNOWN_ID, "connectionConfiguration": {}}, status=404)
        assert error["message"] == f"Could not find source_definition with id {UNKNOWN_ID}"
    assert call("jobs/list", {"configId": FAKER_ID, "configTypes": ["check_connection_source", "discover_schema"]})["totalJobCount"] == 0


def test_scheduler_discover_of_an_unsaved_config(call: Any) -> None:
    discovered = call("scheduler/sources/discover_schema", {"sourceDefinitionId": FAKER_ID, "connectionConfiguration": {}})
    assert [s["stream"]["name"] for s in discovered["catalog"]["streams"]] == ["users", "products", "purchases"]


# WEB BACKEND


def test_web_backend_create_is_sources_create(call: Any) -> None:
    source = call("web_backend/sources/create", source_body(count=3))
    assert call("sources/get", {"sourceId": source["sourceId"]}) == source
    assert call("web_backend/sources/create", source_body(count="x"), status=422)["validationErrors"][0]["propertyPath"] == (
        "$.connectionConfiguration.count"
    )


def test_web_backend_recreate_replaces_the_source(call: Any, create_source: Any, create_connection: Any) -> None:
    old = create_source(5)
    connection = create_connection(old)
    body = {**source_body(count=6), "sourceId": old["sourceId"], "name": "again"}
    new = call("web_backend/sources/recreate", body)
    assert new["sourceId"] != old["sourceId"]
    assert (new["name"], new["connectionConfiguration"]) == ("again", {"count": 6})
    call("sources/get", {"sourceId": old["sourceId"]}, status=404)
    assert call("sources/list", {"workspaceId": WORKSPACE_ID})["sources"] == [new]
    assert call("connections/get", {"connectionId": connection["connectionId"]})["status"] == "deprecated"


def test_web_backend_recreate_errors(call: Any, create_source: Any) -> None:
    body = {**source_body(), "sourceId": UNKNOWN_ID}
    assert call("web_backend/sources/recreate", body, status=404)["message"] == f"Could not find source with id {UNKNOWN_ID}"
    old = create_source()
    call("web_backend/sources/recreate", {**source_body(count="x"), "sourceId": old["sourceId"]}, status=422)
    assert call("sources/get", {"sourceId": old["sourceId"]}) == old
