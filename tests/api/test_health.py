"""GET /api/v1/health and /api/v1/debug."""

from __future__ import annotations

from starlette.testclient import TestClient

import airpipe
from airpipe import models


def test_health_reports_both_fields(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json() == {"available": True, "db": True}


def test_health_reports_a_broken_database_instead_of_failing(client: TestClient) -> None:
    meta = models.Workspace._meta
    original = meta.table_name
    meta.set_table_name("no_such_table")  # the query health makes now fails in the database
    try:
        response = client.get("/api/v1/health")
    finally:
        meta.set_table_name(original)
    assert response.status_code == 200
    assert response.json() == {"available": False, "db": False}


def test_debug_describes_the_deployment(client: TestClient, database_url: str) -> None:
    response = client.get("/v1/debug")
    assert response.status_code == 200
    info = response.json()["info"]
    assert info["version"] == airpipe.__version__
    assert info["database"] == ("SqliteDatabase" if database_url.startswith("sqlite") else "PooledPostgresqlDatabase")
    assert set(info) == {"version", "python", "platform", "database"}


def test_health_is_get_only(client: TestClient) -> None:
    response = client.post("/api/v1/health")
    assert response.status_code == 405
    assert response.json() == {"message": "Method Not Allowed"}
