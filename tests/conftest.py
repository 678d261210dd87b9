"""Fixtures shared by the whole suite: real databases, a real queue, the app.

PostgreSQL and Redis tests run against the servers named by AIRPIPE_TEST_POSTGRES_URL and
AIRPIPE_TEST_REDIS_URL (defaults: this machine's). Where a server cannot be reached the tests
that need it are skipped, saying why, unless AIRPIPE_TEST_REQUIRE_SERVICES=1 (CI), which turns
the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from suitekit import Logs

from airpipe import models
from airpipe.connectors import registry
from airpipe.connectors.launcher import Launcher
from airpipe.protocol import SyncMode
from airpipe.settings import Settings
from airpipe.worker import queue

POSTGRES_URL = os.environ.get("AIRPIPE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("AIRPIPE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
REQUIRE_SERVICES = os.environ.get("AIRPIPE_TEST_REQUIRE_SERVICES") == "1"


def unavailable(what: str, error: Exception) -> None:
    message = f"{what} is not reachable ({error.__class__.__name__}: {error})"
    if REQUIRE_SERVICES:
        pytest.fail(message + " and AIRPIPE_TEST_REQUIRE_SERVICES=1")
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A fresh database on the test server for this session, dropped at the end."""
    import psycopg2

    name = f"airpipe_test_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg2.connect(POSTGRES_URL, connect_timeout=3)
    except psycopg2.Error as exc:
        unavailable(f"PostgreSQL at {POSTGRES_URL}", exc)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}"
    database = models.open_database(url)
    models.bind(database)
    with database.connection_context():
        models.migrate()
    database.close_all()
    try:
        yield url
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="session")
def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        unavailable(f"Redis at {REDIS_URL}", exc)
    return REDIS_URL


@pytest.fixture
def queue_name(request: pytest.FixtureRequest) -> Iterator[str]:
    """A queue name of this test's own; any Redis keys under it are deleted afterwards.

    Letters and digits only: huey drops anything else from the name of its Redis keys."""
    name = f"airpipetest{uuid.uuid4().hex[:10]}"
    yield name
    if "redis_url" in request.fixturenames:
        import redis

        client = redis.Redis.from_url(request.getfixturevalue("redis_url"))
        keys = list(client.scan_iter(match=f"*{name}*"))
        if keys:
            client.delete(*keys)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test that uses it runs once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'airpipe.db'}"
        return
    url = request.getfixturevalue("postgres_url")
    # one database per session, emptied before each test instead of created anew
    truncate(url)
    yield url


@pytest.fixture
def empty_postgres_url(postgres_url: str) -> str:
    """The session's PostgreSQL database, emptied for this test."""
    truncate(postgres_url)
    return postgres_url


def truncate(url: str) -> None:
    database = models.open_database(url)
    with database.connection_context():
        tables = ", ".join(f'"{m._meta.table_name}"' for m in models.ALL_MODELS)
        database.execute_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    database.close_all()


@pytest.fixture
def settings(tmp_path: Path, database_url: str, queue_name: str) -> Settings:
    return Settings.from_env(
        {
            "AIRPIPE_DATA_DIR": str(tmp_path / "data"),
            "AIRPIPE_DATABASE_URL": database_url,
            "AIRPIPE_JOB_WAIT_TIMEOUT": "60",
            "AIRPIPE_QUEUE_NAME": queue_name,
            # jobs run inline in API tests, where a delayed retry would never come: one attempt
            "AIRPIPE_MAX_ATTEMPTS": "1",
        }
    )


@pytest.fixture
def immediate_queue() -> Iterator[None]:
    """Jobs run inline, in the thread that enqueues them (huey's immediate mode)."""
    queue.huey.immediate = True
    try:
        yield
    finally:
        queue.huey.immediate = False


@pytest.fixture
def call(client: TestClient) -> Callable[..., Any]:
    """``call("sources/get", {...})``: POST under /api/v1 to the in-process app, assert the
    status, return the JSON body."""

    def post(path: str, body: Any = None, *, status: int = 200) -> Any:
        response = client.post(f"/api/v1/{path}", json={} if body is None else body)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    return post


@pytest.fixture
def client(settings: Settings, immediate_queue: None) -> Iterator[TestClient]:
    from airpipe.api.app import create_app

    app = create_app(settings, run_consumer=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client
    if not models.is_sqlite():
        models.db.obj.close_all()


# CONNECTORS


@pytest.fixture
def logs() -> Logs:
    """An ``on_log`` callback for a Launcher that remembers what the connector logged."""
    return Logs()


@pytest.fixture
def faker(logs: Logs) -> Launcher:
    return Launcher(registry.resolve(registry.FAKER.docker_repository, registry.FAKER.docker_image_tag), on_log=logs, timeout=30)


@pytest.fixture
def faker_catalog() -> Callable[..., dict[str, Any]]:
    """``faker_catalog("users", sync_mode=...)``: a configured catalog (as JSON) of Faker's streams."""
    import msgspec

    from airpipe.protocol import encode
    from airpipe.sources.faker import Faker

    discovered = {s.name: msgspec.json.decode(encode(s)) for s in Faker().discover({}).streams}

    def build(*streams: str, sync_mode: SyncMode = SyncMode.incremental) -> dict[str, Any]:
        return {
            "streams": [
                {"stream": discovered[name], "sync_mode": sync_mode.value, "destination_sync_mode": "append"}
                for name in streams or discovered
            ]
        }

    return build
