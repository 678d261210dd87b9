"""Item 5 (part): a database that cannot be reached answers 503 with Retry-After, never 500."""

from __future__ import annotations

import socket

from starlette.testclient import TestClient

from airpipe import models


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_database_answers_503_with_retry_after(client: TestClient) -> None:
    working = models.db.obj
    models.bind(models.open_database(f"postgresql://nobody@127.0.0.1:{closed_port()}/none"))
    try:
        response = client.post("/api/v1/workspaces/list", json={})
    finally:
        models.bind(working)
    assert response.status_code == 503, response.text
    assert response.headers["Retry-After"] == "5"
    assert response.json() == {"message": "the database is unreachable; retry later"}
    assert client.post("/api/v1/workspaces/list", json={}).status_code == 200  # back when it is
