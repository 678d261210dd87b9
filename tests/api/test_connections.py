"""connections/*: one stored catalog shown two ways, schedules, soft delete, sync and reset."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from suitekit import sync_catalog, users_catalog

WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def deprecated_message(connection: Any) -> dict[str, str]:
    return {"message": f"connection {connection['connectionId']} is deprecated (deleted) and cannot be changed or run"}


def update(call: Any, connection: Any, status: int = 200, **fields: Any) -> Any:
    return call("connections/update", {"connectionId": connection["connectionId"], "status": "active", **fields}, status=status)


# CREATE


def test_create_with_a_sync_catalog_shows_both_views(call: Any, create_source: Any, create_destination: Any) -> None:
    source, destination = create_source(), create_destination()
    body = {
        "sourceId": source["sourceId"],
        "destinationId": destination["destinationId"],
        "status": "active",
        "syncCatalog": users_catalog(),
    }
    connection = call("connections/create", body)
    assert connection == {
        "connectionId": connection["connectionId"],
        "createdAt": connection["createdAt"],
        "updatedAt": connection["createdAt"],
        "createdBy": "anonymous",
        "updatedBy": "anonymous",
        "name": "faker <> json",
        "sourceId": source["sourceId"],
        "destinationId": destination["destinationId"],
        "syncMode": "full_refresh",
        "syncSchema": {
            "streams": [
                {
                    "name": "users",
                    "cleanedName": "users",
                    "fields": [
                        {"name": "id", "cleanedName": "id", "dataType": "number", "selected": True},
                        {"name": "updated_at", "cleanedName": "updated_at", "dataType": "string", "selected": True},
                    ],
                    "supportedSyncModes": ["full_refresh", "incremental"],
                    "sourceDefinedCursor": True,
                    "defaultCursorField": ["updated_at"],
                    "selected": True,
                    "syncMode": "full_refresh",
                    "cursorField": ["updated_at"],
                }
            ]
        },
        "syncCatalog": users_catalog(),
        "scheduleType": "manual",
        "status": "active",
        "prefix": "",
        "namespaceDefinition": "source",
    }
    assert call("connections/get", {"connectionId": connection["connectionId"]}) == connection
    assert call("connections/list", {"workspaceId": WORKSPACE_ID}) == {"connections": [connection]}


def test_create_with_a_sync_schema(call: Any, create_source: Any, create_destination: Any) -> None:
    schema = {
        "streams": [
            {
                "name": "users",
                "fields": [{"name": "id", "dataType": "number", "selected": True}],
                "syncMode": "incremental",
                "cursorField": ["id"],
            },
            {"name": "products", "fields": [{"name": "price", "dataType": "number", "selected": True}], "selected": False},
        ]
    }
    body = {
        "sourceId": create_source()["sourceId"],
        "destinationId": create_destination()["destinationId"],
        "status": "active",
        "syncMode": "full_refresh",
        "syncSchema": schema,
        "name": "by schema",
    }
    connection = call("connections/create", body)
    users, products = connection["syncCatalog"]["streams"]
    assert users["stream"]["jsonSchema"] == {"type": "object", "properties": {"id": {"type": "number"}}}
    assert users["config"] == {
        "syncMode": "incremental",
        "cursorField": ["id"],
        "destinationSyncMode": "append",
        "aliasName": "users",
        "selected": True,
    }
    assert products["config"] == {
        "syncMode": "full_refresh",
        "destinationSyncMode": "overwrite",
        "aliasName": "products",
        "selected": False,
    }
    assert connection["syncMode"] == "incremental"  # the only selected stream is incremental
    assert [s["selected"] for s in connection["syncSchema"]["streams"]] == [True, False]
    assert connection["name"] == "by schema"


def test_create_without_a_catalog_discovers_one(call: Any, create_source: Any, create_destination: Any) -> None:
    body = {"sourceId": create_source()["sourceId"], "destinationId": create_destination()["destinationId"], "status": "inactive"}
    connection = call("connections/create", body)
    assert [s["stream"]["name"] for s in connection["syncCatalog"]["streams"]] == ["users", "products", "purchases"]
    assert all(s["config"]["selected"] for s in connection["syncCatalog"]["streams"])
    assert connection["status"] == "inactive"


def test_create_refuses_unknown_or_deleted_actors(call: Any, create_source: Any, create_destination: Any) -> None:
    source, destination = create_source(), create_destination()
    body = {
        "sourceId": source["sourceId"],
        "destinationId": destination["destinationId"],
        "status": "active",
        "syncCatalog": users_catalog(),
    }
    assert call("connections/create", {**body, "sourceId": UNKNOWN_ID}, status=404) == {
        "message": f"Could not find source with id {UNKNOWN_ID}",
        "id": UNKNOWN_ID,
    }
    assert call("connections/create", {**body, "destinationId": UNKNOWN_ID}, status=404)["message"] == (
        f"Could not find destination with id {UNKNOWN_ID}"
    )
    call("sources/delete", {"sourceId": source["sourceId"]}, status=204)
    call("connections/create", body, status=404)


def test_create_refuses_actors_of_different_workspaces(call: Any, create_source: Any, create_destination: Any) -> None:
    other = call("workspaces/create", {"name": "other"})
    source, destination = create_source(), create_destination(workspace_id=other["workspaceId"])
    body = {
        "sourceId": source["sourceId"],
        "destinationId": destination["destinationId"],
        "status": "active",
        "syncCatalog": users_catalog(),
    }
    assert call("connections/create", body, status=422)["validationErrors"] == [
        {
            "propertyPath": "$.destinationId",
            "invalidValue": destination["destinationId"],
            "message": "the source and the destination belong to different workspaces",
        }
    ]


def test_create_refuses_a_catalog_the_streams_cannot_run(
    call: Any, create_source: Any, create_destination: Any
) -> None:
    catalog = users_catalog(destination_sync_mode="append_dedup")
    catalog["streams"][0]["stream"].update(supportedSyncModes=["full_refresh"], sourceDefinedPrimaryKey=None)
    catalog["streams"][0]["config"].update(syncMode="incremental", primaryKey=None)
    body = {
        "sourceId": create_source()["sourceId"],
        "destinationId": create_destination()["destinationId"],
        "status": "active",
        "syncCatalog": catalog,
    }
    error = call("connections/create", body, status=422)
    assert error == {
        "message": "$.syncCatalog.streams[0].config.syncMode: stream users does not support incremental; "
        "$.syncCatalog.streams[0].config.primaryKey: stream users needs a primary key for append_dedup",
        "validationErrors": [
            {
                "propertyPath": "$.syncCatalog.streams[0].config.syncMode",
                "invalidValue": "incremental",
                "message": "stream users does not support incremental",
            },
            {"propertyPath": "$.syncCatalog.streams[0].config.primaryKey", "message": "stream users needs a primary key for append_dedup"},
        ],
    }
    assert call("connections/list", {"workspaceId": WORKSPACE_ID}) == {"connections": []}


def test_create_validates_the_request(call: Any, create_source: Any, create_destination: Any) -> None:
    body = {"sourceId": create_source()["sourceId"], "destinationId": create_destination()["destinationId"]}
    assert call("connections/create", body, status=422)["validationErrors"] == [{"propertyPath": "$.status", "message": "is required"}]
    bad = {**body, "status": "active", "syncCatalog": {"streams": [{"stream": {"name": "users"}, "config": {"syncMode": "sometimes"}}]}}
    assert call("connections/create", bad, status=422)["validationErrors"] == [
        {
            "propertyPath": "$.syncCatalog.streams[0].config.syncMode",
            "invalidValue": "sometimes",
            "message": "Invalid enum value 'sometimes'",
        }
    ]


# SCHEDULES


def test_a_basic_schedule_reads_back_in_both_shapes(create_connection: Any) -> None:
    connection = create_connection(schedule={"units": 2, "timeUnit": "hours"})
    assert connection["schedule"] == {"units": 2, "timeUnit": "hours"}
    assert connection["scheduleType"] == "basic"
    assert connection["scheduleData"] == {"basicSchedule": {"units": 2, "timeUnit": "hours"}}


def test_a_cron_schedule(call: Any, create_connection: Any) -> None:
    cron = {"cronExpression": "0 0 * * *", "cronTimeZone": "Europe/Paris"}
    connection = create_connection(scheduleType="cron", scheduleData={"cron": cron})
    assert connection["scheduleType"] == "cron"
    assert connection["scheduleData"] == {"cron": cron}
    assert "schedule" not in connection
    assert call("connections/get", {"connectionId": connection["connectionId"]})["scheduleData"] == {"cron": cron}


def test_a_cron_schedule_always_shows_its_time_zone(create_connection: Any) -> None:
    connection = create_connection(scheduleType="cron", scheduleData={"cron": {"cronExpression": "0 0 * * *"}})
    assert connection["scheduleData"] == {"cron": {"cronExpression": "0 0 * * *", "cronTimeZone": "UTC"}}


def test_schedule_errors(call: Any, connection: Any) -> None:
    cases = [
        ({"scheduleType": "cron"}, "$.scheduleData.cron", "is required when scheduleType is cron"),
        ({"scheduleType": "basic"}, "$.scheduleData.basicSchedule", "is required when scheduleType is basic"),
        (
            {"scheduleType": "cron", "scheduleData": {"cron": {"cronExpression": "daily"}}},
            "$.scheduleData.cron.cronExpression",
            "must have 5 fields (minute hour day-of-month month day-of-week) or, in Quartz syntax, "
            "6 or 7 (seconds minute hour day-of-month month day-of-week [year])",
        ),
        (
            {"scheduleType": "cron", "scheduleData": {"cron": {"cronExpression": "0 0 * * *", "cronTimeZone": "Mars/Olympus"}}},
            "$.scheduleData.cron.cronTimeZone",
            "is not a time zone (an IANA name such as UTC or Europe/Paris)",
        ),
        ({"schedule": {"units": 0, "timeUnit": "hours"}}, "$.schedule.units", "Expected `int` >= 1"),
        ({"schedule": {"units": 1, "timeUnit": "fortnights"}}, "$.schedule.timeUnit", "Invalid enum value 'fortnights'"),
    ]
    for fields, path, message in cases:
        error = update(call, connection, 422, **fields)
        assert (error["validationErrors"][0]["propertyPath"], error["validationErrors"][0]["message"]) == (path, message), fields
    assert call("connections/get", {"connectionId": connection["connectionId"]}) == connection


# UPDATE


def test_update_changes_only_what_is_sent(call: Any, create_connection: Any) -> None:
    connection = create_connection(schedule={"units": 1, "timeUnit": "days"})
    renamed = update(call, connection, name="renamed")
    assert renamed == {**connection, "name": "renamed"}
    moved = update(call, connection, prefix="p_", namespaceDefinition="customformat", namespaceFormat="ns_${SOURCE_NAMESPACE}")
    assert moved == {**renamed, "prefix": "p_", "namespaceDefinition": "customformat", "namespaceFormat": "ns_${SOURCE_NAMESPACE}"}
    assert call("connections/get", {"connectionId": connection["connectionId"]}) == moved


def test_a_get_answers_the_connection_as_it_is_now(call: Any, create_connection: Any) -> None:
    # connections/get is remembered by the row it is made of (services.connections.get_connection_json)
    connection = create_connection()
    body = {"connectionId": connection["connectionId"]}
    assert call("connections/get", body) == call("connections/get", body) == connection
    for fields in ({"name": "one"}, {"name": "two"}, {"prefix": "p_"}, {"name": "one"}, {"status": "inactive"}):
        updated = call("connections/update", {**body, "status": "active", **fields})
        assert call("connections/get", body) == call("connections/get", body) == updated
    call("connections/delete", body, status=204)
    assert call("connections/get", body)["status"] == "deprecated"


def test_a_connection_with_a_large_catalog_reads_the_same(call: Any, create_source: Any, create_destination: Any) -> None:
    # catalogs over REMEMBERED_CATALOG_BYTES are not kept between reads (their views are rebuilt)
    from airpipe.services.converters import REMEMBERED_CATALOG_BYTES

    properties = {f"column_{n}": {"type": "string", "description": "d" * 100} for n in range(REMEMBERED_CATALOG_BYTES // 100)}
    body = {"sourceId": create_source()["sourceId"], "destinationId": create_destination()["destinationId"], "status": "active"}
    created = call("connections/create", {**body, "syncCatalog": sync_catalog("users", properties)})
    get = {"connectionId": created["connectionId"]}
    assert call("connections/get", get) == call("connections/get", get) == created
    assert len(created["syncCatalog"]["streams"][0]["stream"]["jsonSchema"]["properties"]) == len(properties)
    renamed = call("connections/update", {**get, "status": "active", "name": "renamed"})
    assert call("connections/get", get) == renamed and renamed["name"] == "renamed"


def test_update_the_schedule(call: Any, create_connection: Any) -> None:
    connection = create_connection(schedule={"units": 1, "timeUnit": "days"})
    cron = update(
        call, connection, scheduleType="cron", scheduleData={"cron": {"cronExpression": "*/5 * * * *", "cronTimeZone": "Europe/Paris"}}
    )
    assert (cron["scheduleType"], "schedule" in cron) == ("cron", False)
    assert update(call, connection, name="kept")["scheduleData"] == cron["scheduleData"]
    basic = update(call, connection, schedule={"units": 3, "timeUnit": "weeks"})
    assert (basic["scheduleType"], basic["schedule"]) == ("basic", {"units": 3, "timeUnit": "weeks"})
    manual = update(call, connection, schedule=None)
    assert manual["scheduleType"] == "manual"
    assert "schedule" not in manual and "scheduleData" not in manual


def test_update_the_catalog_through_either_view(call: Any, connection: Any) -> None:
    catalog = users_catalog(sync_mode="incremental", destination_sync_mode="append_dedup")
    updated = update(call, connection, syncCatalog=catalog)
    assert updated["syncCatalog"] == catalog
    assert updated["syncMode"] == "incremental"
    schema = {
        "streams": [{"name": "users", "fields": [{"name": "id", "dataType": "number", "selected": True}], "syncMode": "full_refresh"}]
    }
    updated = update(call, connection, syncSchema=schema)
    assert updated["syncCatalog"]["streams"][0]["config"]["destinationSyncMode"] == "overwrite"
    assert updated["syncSchema"]["streams"][0]["fields"] == [{"name": "id", "cleanedName": "id", "dataType": "number", "selected": True}]


def test_update_refuses_a_catalog_the_streams_cannot_run(call: Any, connection: Any) -> None:
    catalog = users_catalog()
    catalog["streams"][0]["config"]["syncMode"] = "incremental"
    catalog["streams"][0]["config"]["cursorField"] = None
    catalog["streams"][0]["stream"]["sourceDefinedCursor"] = False
    error = update(call, connection, 422, syncCatalog=catalog)
    assert error["validationErrors"] == [
        {"propertyPath": "$.syncCatalog.streams[0].config.cursorField", "message": "stream users needs a cursor field for incremental sync"}
    ]


def test_update_sets_the_status(call: Any, connection: Any) -> None:
    inactive = call("connections/update", {"connectionId": connection["connectionId"], "status": "inactive"})
    assert inactive["status"] == "inactive"
    assert [c["status"] for c in call("connections/list", {"workspaceId": WORKSPACE_ID})["connections"]] == ["inactive"]


def test_unknown_connections_are_404(call: Any) -> None:
    expected = {"message": f"Could not find connection with id {UNKNOWN_ID}", "id": UNKNOWN_ID}
    for path in ["connections/get", "connections/delete", "connections/sync", "connections/reset"]:
        assert call(path, {"connectionId": UNKNOWN_ID}, status=404) == expected, path
    assert call("connections/update", {"connectionId": UNKNOWN_ID, "status": "active"}, status=404) == expected
    assert call("connections/list", {"workspaceId": UNKNOWN_ID}, status=404)["id"] == UNKNOWN_ID


# DELETE


def test_delete_deprecates_the_connection(client: Any, call: Any, connection: Any) -> None:
    response = client.post("/api/v1/connections/delete", json={"connectionId": connection["connectionId"]})
    assert (response.status_code, response.content) == (204, b"")
    assert call("connections/get", {"connectionId": connection["connectionId"]}) == {**connection, "status": "deprecated"}
    assert call("connections/list", {"workspaceId": WORKSPACE_ID}) == {"connections": []}
    assert update(call, connection, 409, name="x") == deprecated_message(connection)
    assert call("connections/sync", {"connectionId": connection["connectionId"]}, status=409) == deprecated_message(connection)
    assert call("connections/reset", {"connectionId": connection["connectionId"]}, status=409) == deprecated_message(connection)
    assert call("jobs/list", {"configId": connection["connectionId"], "configTypes": ["sync", "reset_connection"]})["totalJobCount"] == 0
    call("connections/delete", {"connectionId": connection["connectionId"]}, status=204)  # deleting again changes nothing


# SYNC AND RESET


def test_sync_writes_every_record_and_counts_them(
    call: Any, create_connection: Any, create_source: Any, local_root: Path, read_jsonl: Any
) -> None:
    connection = create_connection(create_source(7), prefix="p_")
    started = call("connections/sync", {"connectionId": connection["connectionId"]})
    assert started["job"]["configType"] == "sync"
    assert started["job"]["configId"] == connection["connectionId"]
    assert len(started["attempts"]) >= 1
    info = call("jobs/get", {"id": started["job"]["id"]})
    assert info["job"]["status"] == "succeeded"
    [attempt] = info["attempts"]
    assert [path.name for path in (local_root / "out").glob("*.jsonl")] == ["p_users.jsonl"]  # the prefix
    records = read_jsonl(local_root / "out" / "p_users.jsonl")
    assert [r["_airbyte_data"]["id"] for r in records] == [1, 2, 3, 4, 5, 6, 7]
    assert attempt["attempt"]["status"] == "succeeded"
    assert attempt["attempt"]["recordsSynced"] == len(records)
    assert attempt["attempt"]["totalStats"]["recordsCommitted"] == len(records)
    assert attempt["attempt"]["streamStats"] == [
        {"streamName": "users", "stats": {"recordsEmitted": 7, "bytesEmitted": attempt["attempt"]["bytesSynced"]}}
    ]


def test_a_second_sync_while_one_is_active_returns_the_active_job(call: Any, connection: Any, insert_job: Any) -> None:
    active = insert_job(connection["connectionId"], "sync", "running")
    again = call("connections/sync", {"connectionId": connection["connectionId"]})
    assert again["job"]["id"] == active
    assert again["job"]["status"] == "running"
    assert len(again["attempts"]) == 1
    assert call("connections/reset", {"connectionId": connection["connectionId"]})["job"]["id"] == active
    assert call("jobs/list", {"configId": connection["connectionId"], "configTypes": ["sync", "reset_connection"]})["totalJobCount"] == 1


def test_reset_empties_the_streams_and_the_state(call: Any, connection: Any, sync: Any, local_root: Path, read_jsonl: Any) -> None:
    sync(connection)
    assert call("state/get", {"connectionId": connection["connectionId"]})["stateType"] == "stream"
    started = call("connections/reset", {"connectionId": connection["connectionId"]})
    assert started["job"]["configType"] == "reset_connection"
    assert len(started["attempts"]) >= 1
    assert call("jobs/get", {"id": started["job"]["id"]})["job"]["status"] == "succeeded"
    assert read_jsonl(local_root / "out" / "users.jsonl") == []
    assert call("state/get", {"connectionId": connection["connectionId"]}) == {
        "connectionId": connection["connectionId"],
        "stateType": "not_set",
    }


def test_a_sync_that_fails_ends_failed_with_a_failure_summary(
    call: Any, create_source: Any, create_destination: Any, create_connection: Any, sync: Any, local_root: Path
) -> None:
    destination = create_destination("/local/blocked")
    connection = create_connection(create_source(5000), destination)
    local_root.mkdir(parents=True, exist_ok=True)
    (local_root / "blocked").write_text("a file where the destination wants a directory")
    info = sync(connection)
    assert info["job"]["status"] == "failed"
    [attempt] = info["attempts"]
    assert attempt["attempt"]["status"] == "failed"
    assert attempt["attempt"]["totalStats"]["recordsCommitted"] == 0
    [failure] = attempt["attempt"]["failureSummary"]["failures"]
    assert failure["failureType"] == "system_error"
    assert any("Not a directory" in line for line in attempt["logs"]["logLines"])
    assert call("state/get", {"connectionId": connection["connectionId"]})["stateType"] == "not_set"
    wb = call("web_backend/connections/get", {"connectionId": connection["connectionId"]})
    assert ("lastSync" in wb, wb["isSyncing"]) == (False, False)


def test_a_sync_the_destination_cannot_write_blames_the_destination(
    call: Any, create_source: Any, create_destination: Any, create_connection: Any, sync: Any, local_root: Path, seen_local_root: Path
) -> None:
    destination = create_destination("/local/blocked")
    connection = create_connection(create_source(5000), destination)
    local_root.mkdir(parents=True, exist_ok=True)
    (local_root / "blocked").write_text("a file where the destination wants a directory")
    [failure] = sync(connection)["attempts"][0]["attempt"]["failureSummary"]["failures"]
    assert failure["failureOrigin"] == "destination"
    assert failure["externalMessage"] == f"[Errno 20] Not a directory: '{seen_local_root / 'blocked'}'"
