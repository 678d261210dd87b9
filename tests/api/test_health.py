"""GET /api/v1/health and /api/v1/debug."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

import airpipe
from airpipe import models


def test_health_reports_what_it_checked(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    # embedded mode (this test's client runs jobs inline): no worker process is required
    assert response.json() == {"available": True, "db": True, "queue": True, "workers": 0}


def test_health_reports_a_broken_database_instead_of_failing(client: TestClient) -> None:
    meta = models.Workspace._meta
    original = meta.table_name
    meta.set_table_name("no_such_table")  # the query health makes now fails in the database
    try:
        response = client.get("/api/v1/health")
    finally:
        meta.set_table_name(original)
    assert response.status_code == 503
    body = response.json()
    assert (body["available"], body["db"], body["queue"]) == (False, False, True)
    assert body["message"].startswith("the database is unreachable (")


def test_health_reports_an_unreachable_queue(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from airpipe.worker import queue

    def down() -> None:
        raise ConnectionError("Connection refused")

    monkeypatch.setattr(queue, "ping", down)
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json() == {
        "available": False,
        "db": True,
        "queue": False,
        "workers": 0,
        "message": "the queue is unreachable (Connection refused)",
    }


def test_production_health_needs_a_worker_that_beats(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from airpipe.services import options

    monkeypatch.setattr(options, "workers_required", True)
    response = client.get("/api/v1/health")
    assert response.status_code == 503
    assert response.json()["message"] == "no worker has beaten in the last 60 s: start `airpipe worker`"
    with models.db.connection_context():
        models.WorkerBeat.create(worker="w1", beat_at=models.now() - 61)  # dead a second ago
        assert client.get("/api/v1/health").status_code == 503
        models.WorkerBeat.create(worker="w2")
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["workers"] == 1


def test_debug_describes_the_deployment(client: TestClient, database_url: str) -> None:
    response = client.get("/v1/debug")
    assert response.status_code == 200
    info = response.json()["info"]
    assert info["version"] == airpipe.__version__
    assert info["database"] == ("PooledSqliteDatabase" if database_url.startswith("sqlite") else "PreparingPostgresqlDatabase")
    assert set(info) == {"version", "python", "platform", "database"}


def test_health_is_get_only(client: TestClient) -> None:
    response = client.post("/api/v1/health")
    assert response.status_code == 405
    assert response.json() == {"message": "Method Not Allowed"}
