"""Issue 9, item 9: a symbolic link inside the local root cannot make Local JSON write outside it.

A real sync through the in-process API (File source -> Local JSON), with the sandbox forced on and
off. The destination is saved while ``/local/out`` is an ordinary path; then a link is put in its
place, or in place of the stream's file, pointing outside the local root (what a user of the same
machine, or another connector, could do). Append and overwrite must both refuse, naming the link,
and leave the outside untouched. Inside bubblewrap the outside is not even visible, so there the
test checks the refusal; with the sandbox off it is the only thing that stands in the way.
"""

# ruff: noqa: F811 (the mode and settings fixtures come from confinement_kit, and tests name them)
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confinement_kit import mode, require_bubblewrap, settings  # noqa: F401 (fixtures)
from starlette.testclient import TestClient

from airpipe.connectors import registry
from airpipe.settings import Settings

DEFAULT_WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
FILE_ID = str(registry.FILE_SOURCE.id)
LOCAL_JSON_ID = str(registry.LOCAL_JSON.id)
REFUSED = "is a symbolic link; airpipe writes only inside the local root"


@pytest.fixture
def call(client: TestClient) -> Iterator[Any]:
    def post(path: str, body: Any, status: int = 200) -> Any:
        response = client.post(f"/api/v1/{path}", json=body)
        assert response.status_code == status, response.text
        return response.json()

    yield post


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A directory outside the local root, with a file the sync must not touch."""
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "users.jsonl").write_text("theirs\n")
    return directory


def snapshot(directory: Path) -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(directory.iterdir())}


def connection(call: Any, settings: Settings, sync_mode: str) -> str:
    (settings.local_root / "in").mkdir(parents=True)
    (settings.local_root / "in" / "users.csv").write_text("id,name\n1,ada\n2,grace\n")
    (settings.local_root / "out").mkdir()
    body = {"workspaceId": DEFAULT_WORKSPACE_ID, "sourceDefinitionId": FILE_ID, "name": "file"}
    source = call("sources/create", {**body, "connectionConfiguration": {"url": "/local/in/users.csv"}})
    catalog = call("sources/discover_schema", {"sourceId": source["sourceId"]})["catalog"]
    catalog["streams"][0]["config"].update(syncMode="full_refresh", destinationSyncMode=sync_mode)
    body = {"workspaceId": DEFAULT_WORKSPACE_ID, "destinationDefinitionId": LOCAL_JSON_ID, "name": "json"}
    destination = call("destinations/create", {**body, "connectionConfiguration": {"destination_path": "/local/out"}})
    body = {"sourceId": source["sourceId"], "destinationId": destination["destinationId"], "status": "active"}
    return call("connections/create", {**body, "syncCatalog": catalog})["connectionId"]  # type: ignore[no-any-return]


def sync(call: Any, connection_id: str) -> Any:
    job = call("connections/sync", {"connectionId": connection_id})["job"]
    return call("jobs/get", {"id": job["id"]})


def seen(settings: Settings, mode: str) -> str:
    """The local root as the connector names it."""
    return "/local" if mode == "bwrap" else str(settings.local_root.resolve())


@pytest.mark.parametrize("sync_mode", ["append", "overwrite"])
def test_a_symlinked_stream_file_is_refused(call: Any, settings: Settings, mode: str, outside: Path, sync_mode: str) -> None:
    connection_id = connection(call, settings, sync_mode)
    before = snapshot(outside)
    (settings.local_root / "out" / "users.jsonl").symlink_to(outside / "users.jsonl")
    info = sync(call, connection_id)
    assert info["job"]["status"] == "failed", info
    [failure] = info["attempts"][0]["attempt"]["failureSummary"]["failures"]
    assert failure["failureType"] == "config_error"
    assert failure["externalMessage"] == f"{seen(settings, mode)}/out/users.jsonl {REFUSED}"
    assert snapshot(outside) == before
    assert (settings.local_root / "out" / "users.jsonl").is_symlink()
    assert sorted(p.name for p in (settings.local_root / "out").iterdir()) == ["users.jsonl"]  # no temp files left


@pytest.mark.parametrize("sync_mode", ["append", "overwrite"])
def test_a_symlinked_directory_is_refused(call: Any, settings: Settings, mode: str, outside: Path, sync_mode: str) -> None:
    connection_id = connection(call, settings, sync_mode)
    before = snapshot(outside)
    (settings.local_root / "out").rmdir()
    (settings.local_root / "out").symlink_to(outside, target_is_directory=True)
    info = sync(call, connection_id)
    assert info["job"]["status"] == "failed", info
    [failure] = info["attempts"][0]["attempt"]["failureSummary"]["failures"]
    assert failure["failureType"] == "config_error"
    assert failure["externalMessage"].endswith(f"{seen(settings, mode)}/out is a symbolic link"), failure
    assert snapshot(outside) == before
    destination_id = call("connections/get", {"connectionId": connection_id})["destinationId"]
    status = call("destinations/check_connection", {"destinationId": destination_id})
    assert status["status"] == "failed"
    assert status["message"].endswith(f"{seen(settings, mode)}/out is a symbolic link")
    assert snapshot(outside) == before


def test_the_file_source_does_not_read_through_a_symlink(call: Any, settings: Settings, mode: str, outside: Path) -> None:
    (settings.local_root / "in").mkdir(parents=True)
    (outside / "secret.csv").write_text("id\n1\n")
    (settings.local_root / "in" / "users.csv").symlink_to(outside / "secret.csv")
    body = {"sourceDefinitionId": FILE_ID, "connectionConfiguration": {"url": "/local/in/users.csv"}}
    status = call("scheduler/sources/check_connection", body)
    assert status["status"] == "failed"
    if mode == "off":  # the link leads out: refused when the path is resolved, naming the link
        assert status["message"] == (
            f"url: the path '/local/in/users.csv' leads outside the local root {seen(settings, mode)}: "
            f"{seen(settings, mode)}/in/users.csv is a symbolic link"
        )
    else:  # inside bubblewrap the target is not there at all
        assert "users.csv" in status["message"]
