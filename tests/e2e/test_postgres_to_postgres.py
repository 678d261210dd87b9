"""PostgreSQL to PostgreSQL through the whole engine (API, job runner, both connectors), in every
sync mode, with the destination checked row by row against the source."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlparse

import psycopg2
import pytest
from starlette.testclient import TestClient

from airpipe.connectors import registry

pytestmark = [pytest.mark.postgres, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]

WORKSPACE = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
POSTGRES_SOURCE = str(registry.POSTGRES_SOURCE.id)
POSTGRES_DESTINATION = str(registry.POSTGRES_DESTINATION.id)
ROWS = [(1, "ada", "2024-01-01T00:00:01+00", "10.50"), (2, "bob", "2024-01-01T00:00:02+00", "7"), (3, "cy", "2024-01-01T00:00:03+00", None)]


class Schemas:
    def __init__(self, url: str) -> None:
        self.url = url
        self.connection = psycopg2.connect(url)
        self.connection.autocommit = True
        self.source = f"src_{uuid.uuid4().hex[:8]}"
        self.destination = f"dst_{uuid.uuid4().hex[:8]}"
        self.execute(f"CREATE SCHEMA {self.source}; CREATE SCHEMA {self.destination}")
        self.execute(
            f"CREATE TABLE {self.source}.items (id int PRIMARY KEY, name text NOT NULL, updated_at timestamptz NOT NULL, amount numeric)"
        )
        for row in ROWS:
            self.insert(*row)

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall() if cursor.description else []

    def insert(self, id: int, name: str, updated_at: str, amount: str | None) -> None:
        self.execute(f"INSERT INTO {self.source}.items VALUES (%s, %s, %s, %s)", (id, name, updated_at, amount))

    def rows(self, schema: str) -> list[tuple[Any, ...]]:
        return self.execute(f"SELECT id, name, updated_at, amount FROM {schema}.items ORDER BY id, updated_at")

    def config(self, **extra: Any) -> dict[str, Any]:
        url = urlparse(self.url)
        return {
            "host": url.hostname,
            "port": url.port or 5432,
            "database": url.path.lstrip("/"),
            "username": url.username or "postgres",
            "password": "unused",
            "ssl_mode": "disable",
            **extra,
        }

    def drop(self) -> None:
        self.execute(f"DROP SCHEMA {self.source} CASCADE; DROP SCHEMA {self.destination} CASCADE")
        self.connection.close()


@pytest.fixture
def schemas(postgres_url: str) -> Iterator[Schemas]:
    created = Schemas(postgres_url)
    yield created
    created.drop()


@pytest.fixture
def connect(client: TestClient, schemas: Schemas) -> Callable[[str, str], str]:
    def post(path: str, body: Any) -> Any:
        response = client.post(f"/api/v1/{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    def create(sync_mode: str, destination_sync_mode: str) -> str:
        source = post(
            "sources/create",
            {
                "workspaceId": WORKSPACE,
                "sourceDefinitionId": POSTGRES_SOURCE,
                "name": "pg",
                "connectionConfiguration": schemas.config(schemas=[schemas.source]),
            },
        )
        destination = post(
            "destinations/create",
            {
                "workspaceId": WORKSPACE,
                "destinationDefinitionId": POSTGRES_DESTINATION,
                "name": "pg",
                "connectionConfiguration": schemas.config(schema=schemas.destination),
            },
        )
        [stream] = post("sources/discover_schema", {"sourceId": source["sourceId"]})["catalog"]["streams"]
        stream["config"].update(
            syncMode=sync_mode, destinationSyncMode=destination_sync_mode, cursorField=["updated_at"], primaryKey=[["id"]]
        )
        connection = post(
            "connections/create",
            {
                "sourceId": source["sourceId"],
                "destinationId": destination["destinationId"],
                "status": "active",
                "namespaceDefinition": "destination",
                "syncCatalog": {"streams": [stream]},
            },
        )
        return connection["connectionId"]

    return create


@pytest.fixture
def sync(client: TestClient) -> Callable[[str], dict[str, Any]]:
    def run(connection_id: str) -> dict[str, Any]:
        job = client.post("/api/v1/connections/sync", json={"connectionId": connection_id}).json()
        info = client.post("/api/v1/jobs/get", json={"id": job["job"]["id"]}).json()
        assert info["job"]["status"] == "succeeded", info
        return info["attempts"][-1]["attempt"]

    return run


def change_source(schemas: Schemas) -> None:
    """Two new rows and one updated row, each with a later cursor."""
    schemas.insert(4, "dee", "2024-01-02T00:00:00+00", "1")
    schemas.insert(5, "eve", "2024-01-02T00:00:01+00", "2")
    schemas.execute(f"UPDATE {schemas.source}.items SET name = 'bobby', updated_at = '2024-01-03T00:00:00+00' WHERE id = 2")


def test_full_refresh_overwrite_replaces_the_table(schemas: Schemas, connect: Callable[..., str], sync: Callable[..., Any]) -> None:
    connection = connect("full_refresh", "overwrite")
    assert sync(connection)["recordsSynced"] == 3
    change_source(schemas)
    assert sync(connection)["recordsSynced"] == 5
    assert schemas.rows(schemas.destination) == schemas.rows(schemas.source)


def test_full_refresh_append_adds_every_row_again(schemas: Schemas, connect: Callable[..., str], sync: Callable[..., Any]) -> None:
    connection = connect("full_refresh", "append")
    sync(connection)
    sync(connection)
    assert schemas.rows(schemas.destination) == sorted(schemas.rows(schemas.source) * 2)


def test_incremental_append_adds_only_new_and_updated_rows(schemas: Schemas, connect: Callable[..., str], sync: Callable[..., Any]) -> None:
    connection = connect("incremental", "append")
    assert sync(connection)["recordsSynced"] == 3
    before = schemas.rows(schemas.source)
    assert sync(connection)["recordsSynced"] == 0  # nothing new
    change_source(schemas)
    assert sync(connection)["recordsSynced"] == 3
    updated = [row for row in schemas.rows(schemas.source) if row[0] in (2, 4, 5)]
    assert schemas.rows(schemas.destination) == sorted(before + updated)


def test_incremental_dedup_matches_the_source_row_by_row(schemas: Schemas, connect: Callable[..., str], sync: Callable[..., Any]) -> None:
    connection = connect("incremental", "append_dedup")
    sync(connection)
    change_source(schemas)
    assert sync(connection)["recordsSynced"] == 3
    assert schemas.rows(schemas.destination) == schemas.rows(schemas.source)
    [(name,)] = schemas.execute(f"SELECT name FROM {schemas.destination}.items WHERE id = 2")
    assert name == "bobby"


def test_the_password_is_masked_kept_on_update_and_never_logged(
    client: TestClient, schemas: Schemas, connect: Callable[..., str], sync: Callable[..., Any]
) -> None:
    from airpipe import models

    password = "s3cret-" + uuid.uuid4().hex
    source = client.post(
        "/api/v1/sources/create",
        json={
            "workspaceId": WORKSPACE,
            "sourceDefinitionId": POSTGRES_SOURCE,
            "name": "pg",
            "connectionConfiguration": schemas.config(schemas=[schemas.source], password=password),
        },
    ).json()
    assert source["connectionConfiguration"]["password"] == "**********"
    listed = client.post("/api/v1/sources/list", json={"workspaceId": WORKSPACE}).json()["sources"]
    assert {s["connectionConfiguration"]["password"] for s in listed} == {"**********"}
    update = {**source["connectionConfiguration"], "state_every": 2}
    updated = client.post("/api/v1/sources/update", json={"sourceId": source["sourceId"], "name": "pg2", "connectionConfiguration": update})
    assert updated.json()["connectionConfiguration"]["password"] == "**********"
    with models.db.connection_context():
        stored = models.Actor.get_by_id(source["sourceId"]).configuration
    assert stored["password"] == password and stored["state_every"] == 2
    assert client.post("/api/v1/sources/check_connection", json={"sourceId": source["sourceId"]}).json()["status"] == "succeeded"
    connection = connect("full_refresh", "overwrite")
    sync(connection)
    with models.db.connection_context():
        assert not models.LogLine.select().where(models.LogLine.message.contains(password)).exists()
        assert models.LogLine.select().count() > 0
