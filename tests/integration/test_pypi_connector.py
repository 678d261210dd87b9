"""A real Airbyte connector from PyPI, end to end: `airpipe connectors install`, then its spec,
check, discover and a sync through the API into PostgreSQL.

Downloads packages, so it is left out of the default run: `make test-connectors` runs it. The
installed virtualenv is kept between runs (``AIRPIPE_TEST_CONNECTORS_DIR``, by default
``~/.cache/airpipe-tests/connectors``), so only the first run downloads.
"""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import urlparse

import pytest

from airpipe.connectors import registry
from airpipe.settings import Settings

pytestmark = pytest.mark.pypi  # not `postgres` too: `pytest -m postgres` must not download

#: airbyte-source-faker generates its records offline; pinned, so a new release changes nothing here
PACKAGE = "airbyte-source-faker==7.2.1"
DEFAULT_WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
POSTGRES_DESTINATION_ID = str(registry.POSTGRES_DESTINATION.id)


def count_rows(database_url: str, schema: str, table: str, where: str = "") -> int:
    import psycopg2
    from psycopg2 import sql

    with psycopg2.connect(database_url) as connection, connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT count(*) FROM {} " + where).format(sql.Identifier(schema, table)))
        count = cursor.fetchone()[0]
    connection.close()
    return count


def test_airbytes_faker_from_pypi_syncs_into_postgres(call: Any, airpipe: Any, settings: Settings) -> None:
    output = airpipe("connectors", "install", PACKAGE)
    match = re.search(r"^registered source definition (\S+) 'Faker': airbyte/source-faker:7\.2\.1$", output, re.MULTILINE)
    assert match, output
    definition_id = match.group(1)
    definition = call("source_definitions/get", {"sourceDefinitionId": definition_id})
    assert definition["documentationUrl"] == "https://docs.airbyte.com/integrations/sources/faker"

    spec = call("source_definition_specifications/get", {"sourceDefinitionId": definition_id})
    assert {"count", "seed"} <= spec["connectionSpecification"]["properties"].keys()

    source = call(
        "sources/create",
        {
            "workspaceId": DEFAULT_WORKSPACE_ID,
            "sourceDefinitionId": definition_id,
            "connectionConfiguration": {"count": 50, "seed": 1},
            "name": "faker from PyPI",
        },
    )
    check = call("sources/check_connection", {"sourceId": source["sourceId"]})
    assert check["status"] == "succeeded", check
    catalog = call("sources/discover_schema", {"sourceId": source["sourceId"]})["catalog"]
    assert sorted(s["stream"]["name"] for s in catalog["streams"]) == ["products", "purchases", "users"]
    for stream in catalog["streams"]:
        stream["config"].update(syncMode="full_refresh", destinationSyncMode="overwrite", selected=True)

    # into the test's own database (the one airpipe keeps its config in), a schema of its own
    url = urlparse(settings.database_url)
    schema = f"faker_{uuid.uuid4().hex[:8]}"
    postgres = {"host": url.hostname, "port": url.port or 5432, "database": url.path.lstrip("/"), "schema": schema}
    postgres.update(username=url.username, **({"password": url.password} if url.password else {}))
    destination = call(
        "destinations/create",
        {
            "workspaceId": DEFAULT_WORKSPACE_ID,
            "destinationDefinitionId": POSTGRES_DESTINATION_ID,
            "connectionConfiguration": postgres,
            "name": "postgres",
        },
    )
    assert call("destinations/check_connection", {"destinationId": destination["destinationId"]})["status"] == "succeeded"
    connection = call(
        "connections/create",
        {"sourceId": source["sourceId"], "destinationId": destination["destinationId"], "status": "active", "syncCatalog": catalog},
    )
    started = call("connections/sync", {"connectionId": connection["connectionId"]})["job"]
    job = call("jobs/get", {"id": started["id"]})
    assert job["job"]["status"] == "succeeded", job
    counts = {table: count_rows(settings.database_url, schema, table) for table in ("products", "purchases", "users")}
    assert counts["users"] == 50
    assert sum(counts.values()) == job["attempts"][-1]["attempt"]["recordsSynced"]
    assert count_rows(settings.database_url, schema, "users", "WHERE email IS NOT NULL AND id IS NOT NULL") == 50

    listing = airpipe("connectors", "list")
    assert f"airbyte-source-faker 7.2.1 in {(settings.data_dir / 'connectors').resolve() / 'airbyte-source-faker'}\n" in listing
    assert f"  source-faker: source definition {definition_id} 'Faker': airbyte/source-faker:7.2.1\n" in listing
