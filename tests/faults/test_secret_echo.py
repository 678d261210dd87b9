"""Issue 9, item 2: a connector that repeats its secrets (in its check status, its TRACE errors, its
logs, in every spelling) never gets them into an API answer, a database row or airpipe's own output.

The connector is a real program (``secret_echo_connector.py``) found on PATH like any third-party
one. It runs under real deployments: the embedded default (`airpipe serve` on SQLite with its
in-process worker) and production (PostgreSQL, Redis, `airpipe serve` and an `airpipe worker`).
Then everything is searched: the responses, every row of every table, the processes' output.
"""

from __future__ import annotations

import json
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from confinement_kit import synckit

from airpipe.worker.scrubbing import MASK

WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
PROGRAM = Path(__file__).parent / "secret_echo_connector.py"
#: quotes, a slash, &, a space and a non-ASCII letter: its JSON, repr and URL spellings all differ
KEY = "sk_live/\"8fQz3KXv\" & é'x"
PEM = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASC\nBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n-----END PRIVATE KEY-----\n"
#: parts of the secrets that every spelling keeps as they are: none may appear anywhere
CORES = ("8fQz3KXv", "MIIEvQIBADANBgkq", "BKcwggSjAgEAAoIB")


def assert_no_secret(text: str, where: str) -> None:
    leaked = [core for core in CORES if core in text]
    assert not leaked, f"{where} holds a secret ({leaked}): ...{text[text.find(leaked[0]) - 300 : text.find(leaked[0]) + 300]}..."


@pytest.fixture
def echo_connectors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``source-secretecho`` and ``destination-secretecho`` on PATH (ours and our children's)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("source-secretecho", "destination-secretecho"):
        program = bin_dir / name
        program.write_text(f"#!{sys.executable}\n" + PROGRAM.read_text())
        program.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")


# DEPLOYMENTS: each yields (call, dump), ``dump()`` being every row of every table as text


@pytest.fixture
def embedded(tmp_path: Path, echo_connectors: None) -> Iterator[tuple[Any, Callable[[], str], Any]]:
    deployment = synckit().Deployment(tmp_path / "embedded", {"AIRPIPE_MAX_ATTEMPTS": "1"})
    deployment.directory.mkdir()
    try:
        deployment.serve()
        database = Path(deployment.env["AIRPIPE_DATA_DIR"]) / "airpipe.db"
        yield deployment.call, lambda: dump_sqlite(database), deployment
    finally:
        deployment.stop()


@pytest.fixture
def production(
    tmp_path: Path, echo_connectors: None, empty_postgres_url: str, redis_url: str, queue_name: str
) -> Iterator[tuple[Any, Callable[[], str], Any]]:
    env = {"AIRPIPE_DATABASE_URL": empty_postgres_url, "AIRPIPE_REDIS_URL": redis_url, "AIRPIPE_QUEUE_NAME": queue_name}
    env["AIRPIPE_MAX_ATTEMPTS"] = "1"
    deployment = synckit().Deployment(tmp_path / "production", env)
    deployment.directory.mkdir()
    try:
        deployment.migrate()
        deployment.worker()
        deployment.serve()
        yield deployment.call, lambda: dump_postgres(empty_postgres_url), deployment
    finally:
        deployment.stop()


def dump_sqlite(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        values = [value for table in tables for row in connection.execute(f'SELECT * FROM "{table}"') for value in row]
    return "\n".join(value.decode("latin-1") if isinstance(value, bytes) else str(value) for value in values)


def dump_postgres(url: str) -> str:
    import psycopg2

    connection = psycopg2.connect(url)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            tables = [row[0] for row in cursor.fetchall()]
            texts = []
            for table in tables:
                cursor.execute(f'SELECT t::text FROM "{table}" t')
                texts += [row[0] for row in cursor.fetchall()]
    finally:
        connection.close()
    return "\n".join(texts)


# THE TEST


@pytest.mark.parametrize("mode", ["embedded", pytest.param("production", marks=pytest.mark.postgres)])
def test_a_connector_echoing_its_secrets_leaks_them_nowhere(mode: str, request: pytest.FixtureRequest) -> None:
    call, dump, deployment = request.getfixturevalue(mode)
    answers: list[Any] = []

    def post(path: str, body: Any) -> Any:
        answers.append(call(path, body, timeout=120))
        return answers[-1]

    image = {"name": "Echo", "dockerImageTag": "1"}
    source_definition = post("source_definitions/create", {**image, "dockerRepository": "example/source-secretecho"})
    destination_definition = post("destination_definitions/create", {**image, "dockerRepository": "example/destination-secretecho"})
    source_core = {"sourceDefinitionId": source_definition["sourceDefinitionId"]}
    destination_core = {"destinationDefinitionId": destination_definition["destinationDefinitionId"]}
    secrets = {"api_key": KEY, "pem": PEM}
    source = post("sources/create", {**source_core, "workspaceId": WORKSPACE_ID, "name": "echo", "connectionConfiguration": secrets})
    assert source["connectionConfiguration"] == {"api_key": MASK, "pem": MASK}

    # a check's CONNECTION_STATUS message: what the API answers and what the job stores
    failed = {"status": "failed", "message": f"invalid api key {MASK}"}
    assert post("sources/check_connection", {"sourceId": source["sourceId"]}) == failed
    assert post("scheduler/sources/check_connection", {**source_core, "connectionConfiguration": secrets}) == failed
    # a config_error TRACE, answered as a failed status
    assert post("scheduler/sources/check_connection", {**source_core, "connectionConfiguration": {**secrets, "mode": "trace"}}) == failed
    # a system_error TRACE quoting the key URL-encoded: the check job fails, its failure is the answer
    crashed = post("scheduler/sources/check_connection", {**source_core, "connectionConfiguration": {**secrets, "mode": "crash"}})
    assert crashed == {"status": "failed", "message": f"cannot reach https://api.example.com/?key={MASK}"}

    destination_config = {**secrets, "mode": "ok"}
    body = {**destination_core, "workspaceId": WORKSPACE_ID, "name": "echo", "connectionConfiguration": destination_config}
    destination = post("destinations/create", body)
    welcome = {"status": "succeeded", "message": f"welcome, {MASK}"}
    assert post("destinations/check_connection", {"destinationId": destination["destinationId"]}) == welcome
    assert post("scheduler/destinations/check_connection", {**destination_core, "connectionConfiguration": destination_config}) == welcome

    # a sync whose source fails with a TRACE error quoting the key, both sides chattering
    body = {**source_core, "workspaceId": WORKSPACE_ID, "name": "failing", "connectionConfiguration": {**secrets, "fail_read": True}}
    failing = post("sources/create", body)
    body = {"sourceId": failing["sourceId"], "destinationId": destination["destinationId"], "status": "active"}
    connection = post("connections/create", body)
    job_id = post("connections/sync", {"connectionId": connection["connectionId"]})["job"]["id"]
    info = synckit().Builder(post).wait_job(job_id, 60)
    assert info["job"]["status"] == "failed", info
    failure = info["attempts"][-1]["attempt"]["failureSummary"]["failures"][0]
    assert failure["externalMessage"] == f"the API refused key {MASK}"
    lines = info["attempts"][-1]["logs"]["logLines"]
    assert any("logging in with" in line and MASK in line for line in lines), lines  # the LOG message, JSON inside
    assert any("starting with config" in line and MASK in line for line in lines), lines  # stderr: repr of a dict
    assert any("key=" + MASK in line for line in lines), lines  # a non-JSON line: URL-encoded
    assert any(line.endswith("key line: " + MASK) for line in lines), lines  # the PEM, line by line

    assert_no_secret(json.dumps(answers, ensure_ascii=False), "an API answer")
    assert_no_secret(dump(), "the database")
    assert_no_secret(deployment.output(), "airpipe's own output")


@pytest.fixture
def call(client: Any, echo_connectors: None) -> Any:
    def post(path: str, body: Any) -> Any:
        response = client.post(f"/api/v1/{path}", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    return post


def test_a_catalog_is_data_and_is_not_scrubbed(call: Any) -> None:
    """A secret that equals a stream name is masked in what the connector *says*, never in the
    catalog it describes (that would rename the stream). See airpipe/worker/scrubbing.py."""
    body = {"name": "Echo", "dockerRepository": "example/source-secretecho", "dockerImageTag": "1"}
    definition_id = call("source_definitions/create", body)["sourceDefinitionId"]
    config = {"api_key": "customers", "stream": "customers", "mode": "status"}
    core = {"sourceDefinitionId": definition_id, "connectionConfiguration": config}
    assert call("scheduler/sources/check_connection", core) == {"status": "failed", "message": f"invalid api key {MASK}"}
    discovered = call("scheduler/sources/discover_schema", core)
    assert [stream["stream"]["name"] for stream in discovered["catalog"]["streams"]] == ["customers"]
