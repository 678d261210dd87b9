"""Item 5 (part): a database that cannot be reached answers 503 with Retry-After, never 500."""

from __future__ import annotations

import importlib
import socket
import time
from typing import Any

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


def test_a_request_with_a_key_or_token_answers_503_too(client: TestClient) -> None:
    # keys and tokens are looked up before any operation runs (api/auth.py)
    key = client.post("/api/v1/api_keys/create", json={"name": "robot", "scopes": ["read"]}).json()["key"]
    working = models.db.obj
    models.bind(models.open_database(f"postgresql://nobody@127.0.0.1:{closed_port()}/none"))
    try:
        sent = ({"X-Api-Key": key}, {"Authorization": "Bearer t"})
        responses = [client.post("/api/v1/workspaces/list", json={}, headers=headers) for headers in sent]
    finally:
        models.bind(working)
    assert [(r.status_code, r.json()) for r in responses] == [(503, {"message": "the database is unreachable; retry later"})] * 2
    assert client.post("/api/v1/workspaces/list", json={}, headers={"X-Api-Key": key}).status_code == 200


def test_a_database_that_accepts_and_never_answers_is_an_outage_not_a_hang(client: TestClient, monkeypatch: Any) -> None:
    # reads answered on the event loop (api/operations.INLINE) wait for it there: without a
    # connect timeout, every request (health too) waited forever
    monkeypatch.setattr(importlib.import_module("airpipe.models.db"), "CONNECT_TIMEOUT", 1)  # (the package's `db` is the handle)
    working = models.db.obj
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel accepts connections; nothing ever answers them
        models.bind(models.open_database(f"postgresql://nobody@127.0.0.1:{silent.getsockname()[1]}/none"))
        started = time.monotonic()
        try:
            inline = client.post("/api/v1/connections/get", json={"connectionId": "00000000-0000-4000-8000-000000000000"})
            threaded = client.post("/api/v1/workspaces/list", json={})
        finally:
            models.bind(working)
    assert (inline.status_code, threaded.status_code) == (503, 503)
    assert time.monotonic() - started < 10
