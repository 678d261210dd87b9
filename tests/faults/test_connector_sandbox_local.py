"""Issue 9, item 11: a third-party connector reads ``/local/...`` unmodified, resolves relative paths
in its own working directory, and (inside bubblewrap) reads nothing else of the host.

source-csvfile (confinement_kit.py) opens its ``url`` exactly as given, as airbyte-source-file does;
jobs run inline through the in-process API, once with the sandbox forced on and once off.
"""

# ruff: noqa: F811 (the mode and settings fixtures come from confinement_kit, and tests name them)
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confinement_kit import install_connectors, mode, require_bubblewrap, settings  # noqa: F401 (fixtures)
from starlette.testclient import TestClient

from airpipe.connectors import registry
from airpipe.settings import Settings

DEFAULT_WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
LOCAL_JSON_ID = str(registry.LOCAL_JSON.id)


@pytest.fixture
def call(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    install_connectors(tmp_path / "bin", monkeypatch)

    def post(path: str, body: Any, status: int = 200) -> Any:
        response = client.post(f"/api/v1/{path}", json=body)
        assert response.status_code == status, response.text
        return response.json()

    yield post


def check(call: Any, definition_id: str, url: str) -> Any:
    body = {"sourceDefinitionId": definition_id, "connectionConfiguration": {"url": url}}
    return call("scheduler/sources/check_connection", body)


def test_a_third_party_source_reads_local_paths_into_a_destination(call: Any, settings: Settings, mode: str) -> None:
    (settings.local_root / "data").mkdir(parents=True)
    (settings.local_root / "data" / "x.csv").write_text("id,name\n1,ada\n2,grace\n")
    body = {"name": "CSV", "dockerRepository": "example/source-csvfile", "dockerImageTag": "1.0"}
    definition = call("source_definitions/create", body)["sourceDefinitionId"]
    assert check(call, definition, "/local/data/x.csv") == {"status": "succeeded", "message": "2 rows"}

    body = {"workspaceId": DEFAULT_WORKSPACE_ID, "sourceDefinitionId": definition, "name": "csv"}
    source = call("sources/create", {**body, "connectionConfiguration": {"url": "/local/data/x.csv"}})
    catalog = call("sources/discover_schema", {"sourceId": source["sourceId"]})["catalog"]
    assert list(catalog["streams"][0]["stream"]["jsonSchema"]["properties"]) == ["id", "name"]
    body = {"workspaceId": DEFAULT_WORKSPACE_ID, "destinationDefinitionId": LOCAL_JSON_ID, "name": "json"}
    destination = call("destinations/create", {**body, "connectionConfiguration": {"destination_path": "/local/out"}})
    body = {"sourceId": source["sourceId"], "destinationId": destination["destinationId"], "status": "active"}
    connection = call("connections/create", {**body, "syncCatalog": catalog})
    job = call("connections/sync", {"connectionId": connection["connectionId"]})["job"]
    info = call("jobs/get", {"id": job["id"]})
    assert info["job"]["status"] == "succeeded", info
    rows = [json.loads(line) for line in (settings.local_root / "out" / "rows.jsonl").read_text().splitlines()]
    assert [row["_airbyte_data"] for row in rows] == [{"id": "1", "name": "ada"}, {"id": "2", "name": "grace"}]
    # the job's log says which sandbox the connectors ran in
    said = "sandbox: bubblewrap;" if mode == "bwrap" else "sandbox: off (AIRPIPE_SANDBOX=off);"
    assert any(said in line for line in info["attempts"][0]["logs"]["logLines"])


def test_relative_paths_resolve_in_the_connectors_directory_not_the_servers(
    call: Any, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    (settings.local_root / "data").mkdir(parents=True)
    (settings.local_root / "data" / "x.csv").write_text("id\n1\n")
    monkeypatch.chdir(settings.local_root / "data")
    body = {"name": "CSV", "dockerRepository": "example/source-csvfile", "dockerImageTag": "1.0"}
    definition = call("source_definitions/create", body)["sourceDefinitionId"]
    result = check(call, definition, "x.csv")
    assert result["status"] == "failed"
    assert result["message"].startswith("FileNotFoundError: [Errno 2] No such file or directory: 'x.csv'")


def test_inside_the_sandbox_host_files_and_the_data_directory_cannot_be_read(call: Any, settings: Settings, mode: str) -> None:
    if mode != "bwrap":
        pytest.skip("without bubblewrap a connector reads what airpipe's user can (README: Connectors)")
    body = {"name": "CSV", "dockerRepository": "example/source-csvfile", "dockerImageTag": "1.0"}
    definition = call("source_definitions/create", body)["sourceDefinitionId"]
    secret_key = settings.data_dir / "secret.key"
    assert secret_key.exists()
    for path in ("/etc/passwd", str(secret_key), "/local/../etc/passwd"):
        result = check(call, definition, path)
        assert result["status"] == "failed", path
        assert result["message"].startswith("FileNotFoundError"), result
