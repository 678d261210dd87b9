"""Airbyte's own airbyte-source-file from PyPI reads a CSV at ``/local/...`` into PostgreSQL, as the
config would say in Airbyte, unmodified (issue 9, item 11): once inside bubblewrap (``/local`` is a
mount there) and once without a sandbox (the path is rewritten to the local root).

Downloads packages (pandas among them): run by `make test-connectors`, like test_pypi_connector.py,
sharing its fixtures (conftest.py) and its cache of installed connectors.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

from airpipe.connectors import registry
from airpipe.connectors.sandbox import probe
from airpipe.settings import Settings

pytestmark = pytest.mark.pypi

PACKAGE = "airbyte-source-file==0.5.39"
DEFAULT_WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
POSTGRES_DESTINATION_ID = str(registry.POSTGRES_DESTINATION.id)


@pytest.fixture(params=["bwrap", "off"])
def sandbox(request: pytest.FixtureRequest) -> str:
    if request.param == "bwrap" and probe() is not None:
        pytest.fail(f"{probe()}: `make install` installs bubblewrap")
    return request.param  # type: ignore[no-any-return]


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
