"""state/get: what the destination echoed back is what a connection resumes from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from suitekit import users_catalog

from airpipe import models

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def store_state(connection: Any, state_type: str, state: Any) -> None:
    with models.db.connection_context():
        models.ConnectionState.create(connection=connection["connectionId"], state_type=state_type, state=state)


def test_a_new_connection_has_no_state(call: Any, connection: Any) -> None:
    assert call("state/get", {"connectionId": connection["connectionId"]}) == {
        "connectionId": connection["connectionId"],
        "stateType": "not_set",
    }


def test_unknown_connection_is_404(call: Any) -> None:
    assert call("state/get", {"connectionId": UNKNOWN_ID}, status=404) == {
        "message": f"Could not find connection with id {UNKNOWN_ID}",
        "id": UNKNOWN_ID,
    }


def test_an_incremental_sync_resumes_from_the_state(
    call: Any, create_source: Any, create_connection: Any, sync: Any, local_root: Path, read_jsonl: Any
) -> None:
    source = create_source(5)
    connection = create_connection(source, syncCatalog=users_catalog("incremental", "append"))
    assert sync(connection)["attempts"][0]["attempt"]["recordsSynced"] == 5
    assert call("state/get", {"connectionId": connection["connectionId"]}) == {
        "connectionId": connection["connectionId"],
        "stateType": "stream",
        "streamState": [{"streamDescriptor": {"name": "users"}, "streamState": {"updated_at": "2024-01-01T00:00:05Z"}}],
    }
    call("sources/update", {"sourceId": source["sourceId"], "name": "faker", "connectionConfiguration": {"count": 8, "seed": 1}})
    assert sync(connection)["attempts"][0]["attempt"]["recordsSynced"] == 3
    assert [r["_airbyte_data"]["id"] for r in read_jsonl(local_root / "out" / "users.jsonl")] == [1, 2, 3, 4, 5, 6, 7, 8]
    state = call("state/get", {"connectionId": connection["connectionId"]})
    assert state["streamState"] == [{"streamDescriptor": {"name": "users"}, "streamState": {"updated_at": "2024-01-01T00:00:08Z"}}]


def test_global_state(call: Any, connection: Any) -> None:
    stored = {
        "sharedState": {"lsn": 42},
        "streamStates": [{"streamDescriptor": {"name": "users", "namespace": "public"}, "streamState": {"cursor": 1}}],
    }
    store_state(connection, "global", stored)
    assert call("state/get", {"connectionId": connection["connectionId"]}) == {
        "connectionId": connection["connectionId"],
        "stateType": "global",
        "globalState": stored,
    }


def test_legacy_state(call: Any, connection: Any) -> None:
    store_state(connection, "legacy", {"users": {"updated_at": "x"}})
    assert call("state/get", {"connectionId": connection["connectionId"]}) == {
        "connectionId": connection["connectionId"],
        "stateType": "legacy",
        "state": {"users": {"updated_at": "x"}},
    }


def test_a_deleted_connection_keeps_its_state_readable(call: Any, connection: Any) -> None:
    store_state(connection, "legacy", {"n": 1})
    call("connections/delete", {"connectionId": connection["connectionId"]}, status=204)
    assert call("state/get", {"connectionId": connection["connectionId"]})["state"] == {"n": 1}
