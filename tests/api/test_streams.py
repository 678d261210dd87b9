"""Streams one at a time (connections/streams/*, connections/refresh_schema): with the real Faker
source and Local JSON destination, syncing, resyncing and resetting one stream of three leaves
the other two's files and state as they were."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from suitekit import sync_catalog, users_catalog

from airpipe import models

Call = Any
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
STREAMS = ("users", "products", "purchases")


@pytest.fixture
def three_streams(call: Call, create_source: Call, create_destination: Call) -> Any:
    """A connection of Faker's three streams, each incremental and appended, into /local/streams."""
    source = create_source(10, name="shop")
    destination = create_destination("/local/streams")
    body = {"sourceId": source["sourceId"], "destinationId": destination["destinationId"], "status": "active"}
    connection = call("connections/create", body)  # no catalog: discovered, every stream selected
    patches = [{"streamName": name, "syncMode": "incremental", "destinationSyncMode": "append"} for name in STREAMS]
    call("connections/streams/update", {"connectionId": connection["connectionId"], "streams": patches})
    return connection


def files(root: Path, read_jsonl: Any) -> dict[str, list[Any]]:
    return {name: [r["_airbyte_data"]["id"] for r in read_jsonl(root / "streams" / f"{name}.jsonl")] for name in STREAMS}


def stream_states(call: Call, connection: Any) -> dict[str, Any]:
    state = call("state/get", {"connectionId": connection["connectionId"]})
    return {s["streamDescriptor"]["name"]: s["streamState"] for s in state.get("streamState") or []}


def listed(call: Call, connection: Any) -> dict[str, Any]:
    return {s["streamName"]: s for s in call("connections/streams/list", {"connectionId": connection["connectionId"]})["streams"]}


def job_of(call: Call, verb: str, connection: Any, *names: str) -> Any:
    started = call(f"connections/streams/{verb}", {"connectionId": connection["connectionId"], "streams": [{"name": n} for n in names]})
    return call("jobs/get", {"id": started["job"]["id"]})  # jobs run inline: it has ended


def test_one_stream_of_three_syncs_resyncs_and_resets_alone(call: Call, three_streams: Any, local_root: Path, read_jsonl: Any) -> None:
    first = call("connections/sync", {"connectionId": three_streams["connectionId"]})
    assert call("jobs/get", {"id": first["job"]["id"]})["job"]["status"] == "succeeded"
    synced = files(local_root, read_jsonl)
    assert len(synced["users"]) == 10 and synced["products"] and synced["purchases"]
    states = stream_states(call, three_streams)
    assert set(states) == set(STREAMS)

    reset = job_of(call, "reset", three_streams, "users")
    assert reset["job"]["configType"] == "reset_connection" and reset["job"]["status"] == "succeeded"
    after_reset = files(local_root, read_jsonl)
    assert after_reset == {**synced, "users": []}  # the other streams' files are as they were
    assert stream_states(call, three_streams) == {k: v for k, v in states.items() if k != "users"}
    shown = listed(call, three_streams)
    assert shown["users"]["hasState"] is False and shown["products"]["hasState"] is True
    assert shown["users"]["lastJobId"] == reset["job"]["id"] and shown["products"]["lastJobId"] == first["job"]["id"]

    again = job_of(call, "sync", three_streams, "users")
    assert again["job"]["configType"] == "sync" and again["job"]["status"] == "succeeded"
    assert files(local_root, read_jsonl) == synced  # users read from the start: no state; the others not read
    assert stream_states(call, three_streams) == states

    resync = job_of(call, "resync", three_streams, "products")
    assert resync["job"]["status"] == "succeeded"
    assert files(local_root, read_jsonl) == synced  # overwritten with the same records, not appended twice
    shown = listed(call, three_streams)
    assert shown["products"]["lastJobId"] == resync["job"]["id"] and shown["products"]["recordsLastSync"] == len(synced["products"])
    assert shown["users"]["lastJobId"] == again["job"]["id"] and shown["users"]["lastSyncedAt"] is not None
    assert shown["purchases"]["lastJobId"] == first["job"]["id"]


def test_streams_list_shows_each_streams_settings(call: Call, three_streams: Any) -> None:
    shown = listed(call, three_streams)
    assert list(shown) == list(STREAMS)
    users = shown["users"]
    assert (users["selected"], users["syncMode"], users["destinationSyncMode"]) == (True, "incremental", "append")
    assert users["primaryKey"] == [["id"]] and users["hasState"] is False and "lastJobId" not in users


def test_update_patches_some_streams_and_names_each_bad_entry(call: Call, three_streams: Any) -> None:
    connection_id = three_streams["connectionId"]
    body = {"connectionId": connection_id, "streams": [{"streamName": "purchases", "selected": False}]}
    assert call("connections/streams/update", body)["streams"][2]["selected"] is False
    stored = call("connections/get", {"connectionId": connection_id})["syncCatalog"]["streams"]
    assert [s["config"]["selected"] for s in stored] == [True, True, False]

    bad = {
        "connectionId": connection_id,
        "streams": [
            {"streamName": "users", "cursorField": ["updated_at"]},
            {"streamName": "users", "cursorField": ["no_such_field"]},
            {"streamName": "nope"},
            {"streamName": "products", "destinationSyncMode": "append_dedup", "primaryKey": [["missing"]]},
        ],
    }
    errors = call("connections/streams/update", bad, status=422)["validationErrors"]
    assert [e["propertyPath"] for e in errors] == ["$.streams[1].cursorField", "$.streams[2].streamName", "$.streams[3].primaryKey"]
    assert [s["config"]["selected"] for s in call("connections/get", {"connectionId": connection_id})["syncCatalog"]["streams"]] == [
        True,
        True,
        False,
    ]  # nothing saved


def test_incremental_fields_come_from_the_stored_schema(call: Call, three_streams: Any) -> None:
    body = {"connectionId": three_streams["connectionId"], "streamName": "users"}
    fields = {f["field"][0]: f for f in call("connections/streams/incremental_fields", body)["fields"]}
    assert fields["updated_at"] == {"field": ["updated_at"], "type": "string", "format": "date-time", "sourceDefined": True}
    assert fields["id"]["type"] == "integer" and "name" not in fields and "email" not in fields
    missing = call("connections/streams/incremental_fields", {**body, "streamName": "nope"}, status=422)
    assert missing["validationErrors"][0]["propertyPath"] == "$.streamName"


def test_subset_jobs_refuse_unknown_unselected_and_unsplittable(call: Call, three_streams: Any) -> None:
    connection_id = three_streams["connectionId"]
    call("connections/streams/update", {"connectionId": connection_id, "streams": [{"streamName": "purchases", "selected": False}]})
    for verb in ("sync", "resync", "reset"):
        body = {"connectionId": connection_id, "streams": [{"name": "users"}, {"name": "nope"}, {"name": "purchases"}]}
        errors = call(f"connections/streams/{verb}", body, status=422)["validationErrors"]
        assert [e["propertyPath"] for e in errors] == ["$.streams[1].name", "$.streams[2].name"], verb
        call(f"connections/streams/{verb}", {"connectionId": connection_id, "streams": []}, status=422)
        call(f"connections/streams/{verb}", {"connectionId": UNKNOWN_ID, "streams": [{"name": "users"}]}, status=404)
    with models.db.connection_context():
        models.ConnectionState.create(connection=connection_id, state_type="legacy", state={"cursor": 1})
    for verb in ("resync", "reset"):
        refused = call(f"connections/streams/{verb}", {"connectionId": connection_id, "streams": [{"name": "users"}]}, status=409)
        assert "reset the whole connection" in refused["message"]
    call("connections/delete", {"connectionId": connection_id}, status=204)
    call("connections/streams/sync", {"connectionId": connection_id, "streams": [{"name": "users"}]}, status=409)


# SCHEMA REFRESH


def test_refresh_schema_adds_new_streams_unselected_drops_gone_ones_and_keeps_settings(
    call: Call, create_source: Call, create_destination: Call
) -> None:
    source, destination = create_source(name="shop"), create_destination()
    catalog = users_catalog("incremental", "append")
    gone = sync_catalog("gone", {"id": {"type": "integer"}})["streams"][0]
    catalog["streams"][0]["stream"]["jsonSchema"]["properties"]["gone_field"] = {"type": "string"}
    body = {"sourceId": source["sourceId"], "destinationId": destination["destinationId"], "status": "active"}
    connection = call("connections/create", {**body, "syncCatalog": {"streams": [*catalog["streams"], gone]}})

    refreshed = call("connections/refresh_schema", {"connectionId": connection["connectionId"]})
    transforms = {(t["transformType"], t["streamDescriptor"]["name"]): t for t in refreshed["catalogDiff"]["transforms"]}
    assert set(transforms) == {
        ("add_stream", "products"),
        ("add_stream", "purchases"),
        ("remove_stream", "gone"),
        ("update_stream", "users"),
    }
    fields = {(f["transformType"], f["fieldName"][0]): f for f in transforms[("update_stream", "users")]["updateStream"]}
    assert fields[("add_field", "email")]["newSchema"] == {"type": "string"}  # the catalog sent lacked it
    assert fields[("remove_field", "gone_field")]["oldSchema"] == {"type": "string"}
    changed = fields[("update_field_schema", "updated_at")]
    assert (changed["oldSchema"], changed["newSchema"]) == ({"type": "string"}, {"type": "string", "format": "date-time"})
    streams = {s["stream"]["name"]: s["config"] for s in refreshed["connection"]["syncCatalog"]["streams"]}
    assert set(streams) == {"users", "products", "purchases"}
    assert (streams["users"]["selected"], streams["users"]["syncMode"]) == (True, "incremental")  # kept
    assert streams["products"]["selected"] is False and streams["purchases"]["selected"] is False
    stored = call("connections/get", {"connectionId": connection["connectionId"]})["syncCatalog"]
    assert stored == refreshed["connection"]["syncCatalog"]


def test_web_backend_get_with_refreshed_catalog_answers_the_merge_without_saving_it(
    call: Call, create_source: Call, create_destination: Call
) -> None:
    source, destination = create_source(name="shop"), create_destination()
    body = {"sourceId": source["sourceId"], "destinationId": destination["destinationId"], "status": "active"}
    connection = call("connections/create", {**body, "syncCatalog": users_catalog()})
    plain = call("web_backend/connections/get", {"connectionId": connection["connectionId"]})
    assert "catalogDiff" not in plain
    view = call("web_backend/connections/get", {"connectionId": connection["connectionId"], "withRefreshedCatalog": True})
    added = {t["streamDescriptor"]["name"] for t in view["catalogDiff"]["transforms"] if t["transformType"] == "add_stream"}
    assert added == {"products", "purchases"}
    assert [s["stream"]["name"] for s in view["syncCatalog"]["streams"]] == ["users", "products", "purchases"]
    assert [s["name"] for s in view["syncSchema"]["streams"]] == ["users", "products", "purchases"]
    assert call("connections/get", {"connectionId": connection["connectionId"]})["syncCatalog"] == connection["syncCatalog"]


def test_a_sync_catalog_naming_a_stream_the_source_lacks_is_422(call: Call, create_source: Call, create_destination: Call) -> None:
    source, destination = create_source(name="shop"), create_destination()
    call("sources/discover_schema", {"sourceId": source["sourceId"]})
    body = {"sourceId": source["sourceId"], "destinationId": destination["destinationId"], "status": "active"}
    catalog = {"streams": [*users_catalog()["streams"], *sync_catalog("nope", {"id": {"type": "integer"}})["streams"]]}
    errors = call("connections/create", {**body, "syncCatalog": catalog}, status=422)["validationErrors"]
    assert errors == [
        {
            "propertyPath": "$.syncCatalog.streams[1].stream.name",
            "invalidValue": "nope",
            "message": "the source has no such stream (sources/discover_schema lists them)",
        }
    ]
    connection = call("connections/create", {**body, "syncCatalog": users_catalog()})
    update = {"connectionId": connection["connectionId"], "status": "active", "syncCatalog": catalog}
    assert call("connections/update", update, status=422)["validationErrors"][0]["propertyPath"] == "$.syncCatalog.streams[1].stream.name"
