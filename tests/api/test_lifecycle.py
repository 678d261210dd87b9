"""Authorship and tags, change history with revert, trash with restore, clones, and bulk updates
of sources, destinations and connections."""

from __future__ import annotations

from typing import Any

from starlette.testclient import TestClient
from suitekit import basic

from airpipe import models

Call = Any
WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


# AUTHORSHIP AND TAGS


def test_tags_are_kept_changed_and_filter_lists(call: Call, create_source: Call, create_connection: Call) -> None:
    faker = create_source()  # the spec is cached from here on
    body = {"workspaceId": WORKSPACE_ID, "sourceDefinitionId": faker["sourceDefinitionId"], "connectionConfiguration": {"count": 1}}
    tagged = call("sources/create", {**body, "name": "crm", "tags": ["team-a", "pii"]})
    call("sources/create", {**body, "name": "web", "tags": ["team-b"]})
    assert tagged["tags"] == ["team-a", "pii"] and tagged["createdBy"] == "anonymous"
    listed = call("sources/list", {"workspaceId": WORKSPACE_ID, "tags": ["team-a"]})["sources"]
    assert [s["name"] for s in listed] == ["crm"]
    assert call("sources/list", {"workspaceId": WORKSPACE_ID, "tags": ["team-a", "team-b"]})["sources"] == []
    update = {"sourceId": tagged["sourceId"], "connectionConfiguration": {"count": 5}, "name": "crm"}
    assert call("sources/update", update)["tags"] == ["team-a", "pii"]  # left out: kept
    assert call("sources/update", {**update, "tags": []})["tags"] == []

    connection = create_connection(tags=["nightly"])
    listed_connections = call("connections/list", {"workspaceId": WORKSPACE_ID, "tags": ["nightly"]})["connections"]
    assert [c["connectionId"] for c in listed_connections] == [connection["connectionId"]]
    workspace = call("workspaces/create", {"name": "tagged", "tags": ["eu"]})
    assert [w["name"] for w in call("workspaces/list", {"tags": ["eu"]})["workspaces"]] == ["tagged"]
    assert workspace["tags"] == ["eu"]


def test_changes_are_signed_by_the_key_that_made_them(auth_client: TestClient) -> None:
    admin = basic("ada:open sesame")
    key = auth_client.post("/api/v1/api_keys/create", json={"name": "deployer", "scopes": ["write"]}, headers=admin).json()["key"]
    body = {"name": "w", "email": "x@example.com"}
    workspace = auth_client.post("/api/v1/workspaces/create", json=body, headers=admin).json()
    assert workspace["createdBy"] == "ada"
    update = {"workspaceId": workspace["workspaceId"], "initialSetupComplete": True, "onboardingComplete": True}
    update |= {"anonymousDataCollection": False, "news": False}
    changed = auth_client.post("/api/v1/workspaces/update", json=update, headers={"X-Api-Key": key}).json()
    assert (changed["createdBy"], changed["updatedBy"]) == ("ada", "deployer")


# HISTORY


def test_every_change_is_in_the_history_and_a_revert_puts_one_back(call: Call, create_source: Call) -> None:
    source = create_source(5, name="shop")
    update = {"sourceId": source["sourceId"], "connectionConfiguration": {"count": 9, "seed": 2}, "name": "store"}
    call("sources/update", update)
    entries = call("sources/history/list", {"sourceId": source["sourceId"]})["history"]
    assert [e["action"] for e in entries] == ["updated", "created"] and all("snapshot" not in e for e in entries)
    first = call("sources/history/get", {"historyId": entries[1]["historyId"]})
    assert first["snapshot"]["name"] == "shop" and first["snapshot"]["configuration"] == {"count": 5, "seed": 1}
    assert first["changedBy"] == "anonymous" and first["resourceId"] == source["sourceId"]

    reverted = call("sources/history/revert", {"historyId": entries[1]["historyId"]})
    assert reverted["name"] == "shop" and reverted["connectionConfiguration"] == {"count": 5, "seed": 1}
    actions = [e["action"] for e in call("sources/history/list", {"sourceId": source["sourceId"]})["history"]]
    assert actions == ["reverted", "updated", "created"]
    call("destinations/history/get", {"historyId": entries[1]["historyId"]}, status=404)  # a source's entry
    call("sources/history/get", {"historyId": 987654}, status=404)
    call("sources/history/list", {"sourceId": UNKNOWN_ID}, status=404)


def test_history_keeps_secrets_encrypted_and_shows_them_masked(call: Call, cached_specs: None) -> None:
    from suitekit import NOWHERE_ID  # noqa: F401  (the import proves the helper module is shared)

    definitions = call("destination_definitions/list")["destinationDefinitions"]
    postgres = next(d for d in definitions if d["dockerRepository"] == "airpipe/destination-postgres")
    config = {"host": "127.0.0.1", "port": 5432, "database": "nowhere", "username": "u", "password": "hunter2", "schema": "public"}
    body = {"workspaceId": WORKSPACE_ID, "destinationDefinitionId": postgres["destinationDefinitionId"], "name": "pg"}
    destination = call("destinations/create", {**body, "connectionConfiguration": config})
    [entry] = call("destinations/history/list", {"destinationId": destination["destinationId"]})["history"]
    shown = call("destinations/history/get", {"historyId": entry["historyId"]})
    assert shown["snapshot"]["configuration"]["password"] == "**********"
    with models.db.connection_context():
        stored = models.db.execute_sql("SELECT snapshot FROM change_record").fetchone()[0]
    assert "hunter2" not in stored and "127.0.0.1" not in stored


def test_a_connection_reverts_its_settings(call: Call, connection: Any) -> None:
    update = {"connectionId": connection["connectionId"], "status": "inactive", "name": "renamed", "prefix": "p_"}
    call("connections/update", update)
    entries = call("connections/history/list", {"connectionId": connection["connectionId"]})["history"]
    reverted = call("connections/history/revert", {"historyId": entries[-1]["historyId"]})
    assert (reverted["name"], reverted["status"], reverted["prefix"]) == (connection["name"], "active", "")


# TRASH, RESTORE, CLONE


def test_deleted_things_wait_in_the_trash_and_come_back(call: Call, create_connection: Call) -> None:
    connection = create_connection()
    source_id = connection["sourceId"]
    call("sources/delete", {"sourceId": source_id}, status=204)
    [trashed] = call("sources/trash/list", {"workspaceId": WORKSPACE_ID})["sources"]
    assert trashed["sourceId"] == source_id
    [gone] = call("connections/trash/list", {"workspaceId": WORKSPACE_ID})["connections"]
    assert gone["connectionId"] == connection["connectionId"] and gone["status"] == "deprecated"

    refused = call("connections/restore", {"connectionId": connection["connectionId"]}, status=409)
    assert "restore it first" in refused["message"]
    call("connections/history/revert", {"historyId": 1}, status=404)  # entry 1 is the source's, not a connection's
    assert call("sources/restore", {"sourceId": source_id})["sourceId"] == source_id
    call("sources/restore", {"sourceId": source_id}, status=409)  # not in the trash any more
    restored = call("connections/restore", {"connectionId": connection["connectionId"]})
    assert restored["status"] == "inactive"
    assert call("sources/trash/list", {"workspaceId": WORKSPACE_ID})["sources"] == []
    actions = [e["action"] for e in call("sources/history/list", {"sourceId": source_id})["history"]]
    assert actions == ["restored", "deleted", "created"]


def test_clones_copy_settings_and_secrets_server_side(call: Call, connection: Any, local_root: Any) -> None:
    source = call("sources/clone", {"sourceId": connection["sourceId"]})
    original = call("sources/get", {"sourceId": connection["sourceId"]})
    assert source["name"] == f"{original['name']} (copy)" and source["sourceId"] != original["sourceId"]
    assert source["connectionConfiguration"] == original["connectionConfiguration"]
    call("connections/sync", {"connectionId": connection["connectionId"]})
    clone = call("connections/clone", {"connectionId": connection["connectionId"], "name": "twin"})
    assert (clone["name"], clone["status"]) == ("twin", "inactive")
    assert clone["syncCatalog"] == connection["syncCatalog"]
    assert call("state/get", {"connectionId": clone["connectionId"]})["stateType"] == "not_set"
    assert [e["action"] for e in call("connections/history/list", {"connectionId": clone["connectionId"]})["history"]] == ["cloned"]
    call("sources/clone", {"sourceId": UNKNOWN_ID}, status=404)


# BULK


def test_a_bulk_update_changes_all_or_none(call: Call, create_connection: Call) -> None:
    first, second = create_connection(), create_connection()
    ids = [first["connectionId"], second["connectionId"]]
    cron = {"cron": {"cronExpression": "0 0 * * *", "cronTimeZone": "UTC"}}
    changed = call("connections/bulk_update", {"connectionIds": ids, "status": "inactive", "scheduleType": "cron", "scheduleData": cron})
    assert [(c["status"], c["scheduleType"]) for c in changed["connections"]] == [("inactive", "cron")] * 2

    refused = call("connections/bulk_update", {"connectionIds": [*ids, UNKNOWN_ID], "status": "active", "tags": ["x"]}, status=404)
    assert refused["id"] == UNKNOWN_ID
    assert all(call("connections/get", {"connectionId": i})["status"] == "inactive" for i in ids)  # none changed
    bad = call("connections/bulk_update", {"connectionIds": ids, "scheduleType": "cron"}, status=422)
    assert bad["validationErrors"][0]["propertyPath"] == "$.scheduleData.cron"
    call("connections/bulk_update", {"connectionIds": []}, status=422)


# EVERY NEW VERB'S 404 AND 422

UNKNOWN_BODIES = {
    "sources/history/list": {"sourceId": UNKNOWN_ID},
    "destinations/history/list": {"destinationId": UNKNOWN_ID},
    "connections/history/list": {"connectionId": UNKNOWN_ID},
    "sources/history/get": {"historyId": 987654},
    "destinations/history/get": {"historyId": 987654},
    "connections/history/get": {"historyId": 987654},
    "sources/history/revert": {"historyId": 987654},
    "destinations/history/revert": {"historyId": 987654},
    "connections/history/revert": {"historyId": 987654},
    "sources/trash/list": {"workspaceId": UNKNOWN_ID},
    "destinations/trash/list": {"workspaceId": UNKNOWN_ID},
    "connections/trash/list": {"workspaceId": UNKNOWN_ID},
    "sources/restore": {"sourceId": UNKNOWN_ID},
    "destinations/restore": {"destinationId": UNKNOWN_ID},
    "connections/restore": {"connectionId": UNKNOWN_ID},
    "sources/clone": {"sourceId": UNKNOWN_ID},
    "destinations/clone": {"destinationId": UNKNOWN_ID},
    "connections/clone": {"connectionId": UNKNOWN_ID},
    "connections/bulk_update": {"connectionIds": [UNKNOWN_ID], "status": "inactive"},
    "connections/streams/list": {"connectionId": UNKNOWN_ID},
    "connections/streams/update": {"connectionId": UNKNOWN_ID, "streams": [{"streamName": "users"}]},
    "connections/streams/incremental_fields": {"connectionId": UNKNOWN_ID, "streamName": "users"},
    "connections/refresh_schema": {"connectionId": UNKNOWN_ID},
    "sources/read_sample": {"sourceId": UNKNOWN_ID, "streamName": "users"},
    "api_keys/delete": {"apiKeyId": UNKNOWN_ID},
}


def test_every_new_verb_answers_404_for_unknown_ids_and_422_for_a_missing_field(call: Call) -> None:
    for path, body in UNKNOWN_BODIES.items():
        assert "id" in call(path, body, status=404), path
        missing = call(path, {}, status=422)
        assert missing["validationErrors"] and missing["validationErrors"][0]["message"] == "is required", path


def test_a_deleted_connection_cannot_be_refreshed_reverted_or_cloned(call: Call, connection: Any) -> None:
    [created] = call("connections/history/list", {"connectionId": connection["connectionId"]})["history"]
    call("connections/delete", {"connectionId": connection["connectionId"]}, status=204)
    for path, body in [
        ("connections/refresh_schema", {"connectionId": connection["connectionId"]}),
        ("connections/history/revert", {"historyId": created["historyId"]}),
        ("connections/clone", {"connectionId": connection["connectionId"]}),
        ("connections/bulk_update", {"connectionIds": [connection["connectionId"]], "status": "active"}),
    ]:
        assert "deprecated" in call(path, body, status=409)["message"], path
