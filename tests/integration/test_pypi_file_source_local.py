"""Airbyte's own airbyte-source-file from PyPI reads a CSV at ``/local/...`` into PostgreSQL, as the
config would say in Airbyte, unmodified (issue 9, item 11): once inside bubblewrap (``/local`` is a
mount there) and once without a sandbox (the path is rewritten to the local root).

Downloads packages (pandas among them): run by `make test-connectors`, like test_pypi_connector.py,
whose fixtures it shares the shape of, and its cache of installed connectors.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from starlette.testclient import TestClient

from airpipe.connectors.sandbox import probe
from airpipe.settings import Settings

pytestmark = pytest.mark.pypi

PACKAGE = "airbyte-source-file==0.5.39"
DEFAULT_WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
POSTGRES_DESTINATION_ID = "25c5221d-dce2-4163-ade9-739ef790f503"
CONNECTORS_CACHE = Path(os.environ.get("AIRPIPE_TEST_CONNECTORS_DIR") or Path.home() / ".cache" / "airpipe-tests" / "connectors")


@pytest.fixture(params=["bwrap", "off"])
def sandbox(request: pytest.FixtureRequest) -> str:
    if request.param == "bwrap" and probe() is not None:
        pytest.fail(f"{probe()}: `make install` installs bubblewrap")
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def database_url(empty_postgres_url: str) -> str:
    return empty_postgres_url


@pytest.fixture
def settings(tmp_path: Path, database_url: str, queue_name: str, sandbox: str) -> Settings:
    return Settings.from_env(
        {
            "AIRPIPE_DATA_DIR": str(tmp_path / "data"),
            "AIRPIPE_DATABASE_URL": database_url,
            "AIRPIPE_JOB_WAIT_TIMEOUT": "300",
            "AIRPIPE_QUEUE_NAME": queue_name,
            "AIRPIPE_MAX_ATTEMPTS": "1",
            "AIRPIPE_SANDBOX": sandbox,
        }
    )


@pytest.fixture
def call(client: TestClient) -> Any:
    def post(path: str, body: Any = None, *, status: int = 200) -> Any:
        response = client.post(f"/api/v1/{path}", json={} if body is None else body)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    return post


@pytest.fixture
def airpipe(settings: Settings) -> Any:
    CONNECTORS_CACHE.mkdir(parents=True, exist_ok=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "connectors").symlink_to(CONNECTORS_CACHE, target_is_directory=True)

    def run(*args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRPIPE_")}
        env.update(AIRPIPE_DATA_DIR=str(settings.data_dir), AIRPIPE_DATABASE_URL=settings.database_url, AIRPIPE_SANDBOX=settings.sandbox)
        result = subprocess.run([sys.executable, "-m", "airpipe.cli", *args], env=env, capture_output=True, text=True, timeout=1200)
        assert result.returncode == 0, result.stdout + result.stderr[-5000:]
        return result.stdout

    return run


def test_airbytes_file_source_reads_a_local_csv_into_postgres(call: Any, airpipe: Any, settings: Settings, sandbox: str) -> None:
    output = airpipe("connectors", "install", PACKAGE)
    match = re.search(r"^registered source definition (\S+) '[^']*': airbyte/source-file:0\.5\.39$", output, re.MULTILINE)
    assert match, output
    definition_id = match.group(1)
    listing = airpipe("connectors", "list")
    assert listing.startswith("sandbox: bubblewrap;" if sandbox == "bwrap" else "sandbox: off (AIRPIPE_SANDBOX=off);"), listing

    (settings.local_root / "data").mkdir(parents=True)
    (settings.local_root / "data" / "x.csv").write_text("id,name\n1,ada\n2,grace\n3,edsger\n")
    config = {"dataset_name": "people", "format": "csv", "url": "/local/data/x.csv", "provider": {"storage": "local"}}
    body = {"workspaceId": DEFAULT_WORKSPACE_ID, "sourceDefinitionId": definition_id, "name": "file from PyPI"}
    source = call("sources/create", {**body, "connectionConfiguration": config})
    check = call("sources/check_connection", {"sourceId": source["sourceId"]})
    assert check["status"] == "succeeded", check
    catalog = call("sources/discover_schema", {"sourceId": source["sourceId"]})["catalog"]
    assert [s["stream"]["name"] for s in catalog["streams"]] == ["people"]
    for stream in catalog["streams"]:
        stream["config"].update(syncMode="full_refresh", destinationSyncMode="overwrite", selected=True)

    url = urlparse(settings.database_url)
    schema = f"file_{uuid.uuid4().hex[:8]}"
    postgres = {"host": url.hostname, "port": url.port or 5432, "database": url.path.lstrip("/"), "schema": schema}
    postgres.update(username=url.username, **({"password": url.password} if url.password else {}))
    body = {"workspaceId": DEFAULT_WORKSPACE_ID, "destinationDefinitionId": POSTGRES_DESTINATION_ID, "name": "postgres"}
    destination = call("destinations/create", {**body, "connectionConfiguration": postgres})
    body = {"sourceId": source["sourceId"], "destinationId": destination["destinationId"], "status": "active"}
    connection = call("connections/create", {**body, "syncCatalog": catalog})
    started = call("connections/sync", {"connectionId": connection["connectionId"]})["job"]
    job = call("jobs/get", {"id": started["id"]})
    assert job["job"]["status"] == "succeeded", job

    import psycopg2
    from psycopg2 import sql

    with psycopg2.connect(settings.database_url) as connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT id, name FROM {} ORDER BY id").format(sql.Identifier(schema, "people")))
        rows = cursor.fetchall()
    connection.close()
    assert [(int(i), name) for i, name in rows] == [(1, "ada"), (2, "grace"), (3, "edsger")]
