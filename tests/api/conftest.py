"""Builders for the API tests: each makes one real object through the API, with the smallest
config that works (Faker with a handful of records, Local JSON under the test's local root)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from starlette.testclient import TestClient
from suitekit import users_catalog

from airpipe import models
from airpipe.connectors import registry
from airpipe.settings import Settings

DEFAULT_WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
FAKER_ID = str(registry.FAKER.id)
LOCAL_JSON_ID = str(registry.LOCAL_JSON.id)
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"

Call = Callable[..., Any]


@pytest.fixture
def local_root(settings: Settings) -> Path:
    return settings.local_root


@pytest.fixture
def seen_local_root(settings: Settings, local_root: Path) -> Path:
    """The local root as the built-in connectors name it in their messages: ``/local`` inside the
    sandbox (where that is the only path they can see), its real path without one."""
    from airpipe.connectors.sandbox import Sandbox

    return Path("/local") if Sandbox(settings.sandbox, local_root, settings.data_dir).confined else local_root.resolve()


@pytest.fixture
def cached_specs(client: TestClient) -> None:
    """The built-in connectors' specs, stored where ``definitions.specification`` caches what a
    get_spec job read, so that building a source or destination runs no connector process.
    (test_definitions.py reads the specs through real jobs.)"""
    _cache_specs()


@pytest.fixture
def cache_specs() -> Callable[[], None]:
    """``cache_specs()``: what ``cached_specs`` does, for a test that builds its own app."""
    return _cache_specs


def _cache_specs() -> None:
    from airpipe.destinations.local_json import SPEC as LOCAL_JSON_SPEC
    from airpipe.sources.faker import SPEC as FAKER_SPEC

    definition = models.ActorDefinition
    with models.db.connection_context():
        for definition_id, spec in ((FAKER_ID, FAKER_SPEC), (LOCAL_JSON_ID, LOCAL_JSON_SPEC)):
            query = definition.update(spec=msgspec.to_builtins(spec), spec_tag=definition.docker_image_tag)
            query.where(definition.id == definition_id).execute()


@pytest.fixture
def create_source(call: Call, cached_specs: None) -> Call:
    def create(count: int = 5, *, name: str = "faker", workspace_id: str = DEFAULT_WORKSPACE_ID, **config: Any) -> Any:
        body = {
            "workspaceId": workspace_id,
            "sourceDefinitionId": FAKER_ID,
            "connectionConfiguration": {"count": count, "seed": 1, **config},
            "name": name,
        }
        return call("sources/create", body)

    return create


@pytest.fixture
def create_destination(call: Call, cached_specs: None) -> Call:
    def create(path: str = "/local/out", *, name: str = "json", workspace_id: str = DEFAULT_WORKSPACE_ID) -> Any:
        body = {
            "workspaceId": workspace_id,
            "destinationDefinitionId": LOCAL_JSON_ID,
            "connectionConfiguration": {"destination_path": path},
            "name": name,
        }
        return call("destinations/create", body)

    return create


@pytest.fixture
def create_connection(call: Call, create_source: Call, create_destination: Call) -> Call:
    def create(source: Any = None, destination: Any = None, **fields: Any) -> Any:
        source = source or create_source()
        destination = destination or create_destination()
        body = {
            "sourceId": source["sourceId"],
            "destinationId": destination["destinationId"],
            "status": "active",
            "syncCatalog": users_catalog(),
            **fields,
        }
        return call("connections/create", body)

    return create


@pytest.fixture
def connection(create_connection: Call) -> Any:
    return create_connection()


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.fixture
def read_jsonl() -> Callable[[Path], list[dict[str, Any]]]:
    """The records a Local JSON file holds, one dict per line."""
    return _read_jsonl


@pytest.fixture
def sync(call: Call) -> Call:
    """Run a sync to its end (jobs run inline) and return its JobInfoRead as jobs/get shows it."""

    def run(connection: Any) -> Any:
        started = call("connections/sync", {"connectionId": connection["connectionId"]})
        return call("jobs/get", {"id": started["job"]["id"]})

    return run


@pytest.fixture
def insert_job(client: TestClient) -> Call:
    """Put a job row (with its first attempt) straight into the database, as a worker would find it:
    the way to have a job sit pending or running while a test looks at it."""

    def insert(scope: str, config_type: str = "sync", status: str = "pending", attempt_status: str = "running") -> int:
        with models.db.connection_context():
            job = models.Job.create(config_type=config_type, scope=scope, status=status, config={})
            models.Attempt.create(job=job, number=1, status=attempt_status)
        return job.id

    return insert


# AUTHENTICATION


@pytest.fixture
def auth_client(tmp_path: Path, database_url: str, queue_name: str, immediate_queue: None) -> Iterator[TestClient]:
    from airpipe.api.app import create_app

    settings = Settings.from_env(
        {
            "AIRPIPE_DATA_DIR": str(tmp_path / "data"),
            "AIRPIPE_DATABASE_URL": database_url,
            "AIRPIPE_QUEUE_NAME": queue_name,
            "AIRPIPE_BASIC_AUTH_USER": "ada",
            "AIRPIPE_BASIC_AUTH_PASSWORD": "open sesame",
        }
    )
    with TestClient(create_app(settings, run_consumer=False), raise_server_exceptions=False) as client:
        yield client
    if not models.is_sqlite():
        models.db.obj.close_all()
