"""Issue 12, end to end: a real `airpipe serve`, a Faker -> data-sink connection synced twice. The
destination runs as a subprocess (sandboxed where bubblewrap works) and reaches the server's API
over HTTP on 127.0.0.1; the sink then holds one entry per user, keyed by id, and the second sync
upserts them rather than adding more."""

from __future__ import annotations

import urllib.error
from collections.abc import Iterator
from typing import Any

import pytest
from suitekit import AirpipeServer, free_port, users_catalog, wait_until

from airpipe.connectors import registry
from airpipe.connectors.sandbox import probe
from airpipe.services.workspaces import DEFAULT_WORKSPACE_ID

pytestmark = pytest.mark.e2e

USERS = 25


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirpipeServer]:
    with AirpipeServer(tmp_path_factory.mktemp("sinks")) as running:
        yield running


def sync(server: AirpipeServer, connection_id: str) -> dict[str, Any]:
    """Start a sync and wait for its end; returns the job as jobs/get reads it."""
    job_id = server.post("connections/sync", {"connectionId": connection_id})["job"]["id"]

    def finished() -> Any:
        job = server.post("jobs/get", {"id": job_id})
        return job if job["job"]["status"] in ("succeeded", "failed", "cancelled", "incomplete") else None

    job: dict[str, Any] = wait_until(finished, 120, f"job {job_id}", interval=0.2)
    return job


def test_a_faker_sync_upserts_users_into_a_data_sink_keyed_by_id(server: AirpipeServer) -> None:
    workspace = str(DEFAULT_WORKSPACE_ID)
    sink = server.post("data_sinks/create", {"workspaceId": workspace, "label": "users", "tags": ["faker"]})
    source = server.post(
        "sources/create",
        {
            "workspaceId": workspace,
            "sourceDefinitionId": str(registry.FAKER.id),
            "name": "users",
            "connectionConfiguration": {"count": USERS, "seed": 3},
        },
    )
    destination = server.post(
        "destinations/create",
        {
            "workspaceId": workspace,
            "destinationDefinitionId": str(registry.DATA_SINK_DESTINATION.id),
            "name": "sink",
            "connectionConfiguration": {"url": server.url, "data_sink_id": sink["dataSinkId"], "batch_size": 10},
        },
    )
    check = server.post("destinations/check_connection", {"destinationId": destination["destinationId"]})
    assert check["status"] == "succeeded", check
    connection = server.post(
        "connections/create",
        {
            "sourceId": source["sourceId"],
            "destinationId": destination["destinationId"],
            "name": "users to sink",
            "status": "active",
            "syncCatalog": users_catalog("full_refresh", "append_dedup"),
        },
    )

    first = sync(server, connection["connectionId"])
    assert first["job"]["status"] == "succeeded", first
    # where bubblewrap works the destination ran inside it, and still reached 127.0.0.1
    logs = server.post("jobs/logs/list", {"jobId": first["job"]["id"]})["logs"]
    confined = probe() is None
    assert any(line["message"].startswith("sandbox: bubblewrap" if confined else "sandbox: off") for line in logs)
    entries = server.post("data_sinks/get", {"dataSinkId": sink["dataSinkId"], "includeEntries": True})["entries"]
    assert sorted(int(e["key"]) for e in entries) == list(range(1, USERS + 1))
    assert all(e["dataType"] == "json" and e["value"]["id"] == int(e["key"]) for e in entries)
    assert {"name", "email"} <= set(entries[0]["value"])
    one = server.post("data_sinks/entries/get", {"dataSinkId": sink["dataSinkId"], "key": "7"})
    assert one["value"]["id"] == 7

    second = sync(server, connection["connectionId"])
    assert second["job"]["status"] == "succeeded", second
    again = server.post("data_sinks/get", {"dataSinkId": sink["dataSinkId"], "includeEntries": True})["entries"]
    assert len(again) == USERS  # upserted, not duplicated
    assert {e["key"]: e["entryId"] for e in again} == {e["key"]: e["entryId"] for e in entries}
    assert [e["value"] for e in again] == [e["value"] for e in entries]


def test_a_sink_that_does_not_exist_fails_the_check_naming_it(server: AirpipeServer) -> None:
    missing = "00000000-0000-4000-8000-000000000000"
    check = server.post(
        "scheduler/destinations/check_connection",
        {
            "destinationDefinitionId": str(registry.DATA_SINK_DESTINATION.id),
            "connectionConfiguration": {"url": server.url, "data_sink_id": missing},
        },
    )
    assert check["status"] == "failed" and missing in check["message"], check


def test_an_unreachable_server_fails_the_check(server: AirpipeServer) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    try:
        check = server.post(
            "scheduler/destinations/check_connection",
            {
                "destinationDefinitionId": str(registry.DATA_SINK_DESTINATION.id),
                "connectionConfiguration": {"url": nowhere, "data_sink_id": "00000000-0000-4000-8000-000000000000"},
            },
        )
    except urllib.error.HTTPError as exc:  # pragma: no cover - shows the server's answer
        raise AssertionError(exc.read()) from None
    assert check["status"] == "failed" and f"cannot reach airpipe at {nowhere}" in check["message"], check
