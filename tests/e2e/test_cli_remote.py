"""The CLI against a real server: list connections, sync one and wait for it, read its jobs and
logs, cancel, list and check sources and destinations; tables by default, JSON with --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from suitekit import AirpipeServer, free_port

from airpipe.connectors import registry
from airpipe.services.workspaces import DEFAULT_WORKSPACE_ID

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirpipeServer]:
    with AirpipeServer(tmp_path_factory.mktemp("cli")) as running:
        yield running


def airpipe(server: AirpipeServer, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRPIPE_")}
    env["AIRPIPE_URL"] = server.url
    return subprocess.run([sys.executable, "-m", "airpipe.cli", *args], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def connection(server: AirpipeServer) -> dict[str, Any]:
    workspace = str(DEFAULT_WORKSPACE_ID)
    source = server.post(
        "sources/create",
        {"workspaceId": workspace, "sourceDefinitionId": str(registry.FAKER.id), "name": "shop", "connectionConfiguration": {"count": 50}},
    )
    destination = server.post(
        "destinations/create",
        {
            "workspaceId": workspace,
            "destinationDefinitionId": str(registry.LOCAL_JSON.id),
            "name": "files",
            "connectionConfiguration": {"destination_path": "/local/cli"},
        },
    )
    body = {"sourceId": source["sourceId"], "destinationId": destination["destinationId"], "name": "shop to files", "status": "active"}
    return server.post("connections/create", body)  # type: ignore[no-any-return]


def test_sync_by_name_waits_and_sums_up(server: AirpipeServer, connection: dict[str, Any]) -> None:
    result = airpipe(server, "sync", "shop to files", "--wait")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("job ") and " succeeded: " in result.stdout and "attempt" in result.stdout

    listed = airpipe(server, "connections", "list")
    assert listed.returncode == 0 and listed.stdout.splitlines()[0].split() == [
        "ID",
        "NAME",
        "STATUS",
        "SCHEDULE",
        "LAST",
        "JOB",
        "NEXT",
        "RUN",
    ]
    [row] = [line for line in listed.stdout.splitlines() if connection["connectionId"] in line]
    assert "shop to files" in row and "active" in row and "succeeded" in row
    as_json = json.loads(airpipe(server, "connections", "list", "--json").stdout)
    assert [c["connectionId"] for c in as_json] == [connection["connectionId"]]

    jobs = airpipe(server, "jobs", "list", connection["connectionId"])
    assert jobs.returncode == 0 and "succeeded" in jobs.stdout.splitlines()[1]
    job_id = json.loads(airpipe(server, "jobs", "list", "shop to files", "--json").stdout)[0]["job"]["id"]
    info = json.loads(airpipe(server, "jobs", "get", str(job_id), "--json").stdout)
    assert info["job"]["status"] == "succeeded"
    logs = airpipe(server, "jobs", "logs", str(job_id))
    assert logs.returncode == 0 and "sync finished" in logs.stdout
    followed = airpipe(server, "jobs", "logs", str(job_id), "--follow")  # a finished job: prints it all, then ends
    assert followed.returncode == 0 and followed.stdout == logs.stdout
    cancelled = airpipe(server, "jobs", "cancel", str(job_id))
    assert cancelled.stdout.strip() == f"job {job_id}: succeeded"  # a finished job stays as it ended


def test_sources_and_destinations_list_and_check(server: AirpipeServer, connection: dict[str, Any]) -> None:
    sources = airpipe(server, "sources", "list")
    assert sources.returncode == 0 and connection["sourceId"] in sources.stdout and "shop" in sources.stdout
    assert airpipe(server, "destinations", "list").stdout.count(connection["destinationId"]) == 1
    check = airpipe(server, "sources", "check", connection["sourceId"])
    assert (check.returncode, check.stdout.strip()) == (0, "succeeded")


def test_mistakes_exit_1_with_the_reason(server: AirpipeServer, connection: dict[str, Any], tmp_path: Path) -> None:
    unknown = airpipe(server, "sync", "no such connection")
    assert unknown.returncode == 1 and "no connections are named 'no such connection'" in unknown.stderr
    missing = airpipe(server, "jobs", "get", "987654")
    assert missing.returncode == 1 and "jobs/get: 404" in missing.stderr
    down = subprocess.run(
        [sys.executable, "-m", "airpipe.cli", "connections", "list", "--url", f"http://127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
    )
    assert down.returncode == 1 and "is `airpipe serve` running?" in down.stderr


def test_a_sample_comes_back_through_the_queue_of_a_real_server(server: AirpipeServer, connection: dict[str, Any]) -> None:
    """The sample's records travel back through the embedded queue's result store (sealed), not the database."""
    sample = server.post("sources/read_sample", {"sourceId": connection["sourceId"], "streamName": "users", "limit": 4})
    assert [r["id"] for r in sample["records"]] == [1, 2, 3, 4]
