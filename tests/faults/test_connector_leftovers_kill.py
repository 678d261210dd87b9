"""Issue 9, item 3: a worker killed with SIGKILL leaves no plaintext config on disk.

A real `airpipe worker` process runs a sync (or a check) of source-slowpoke, a connector that copies
its config, password included, into its working directory. The worker is killed mid-run; the next
worker start must leave no file holding the password anywhere: not in the data directory, not in
the worker's working directory, not in the temporary directory (where configs used to be written).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confinement_kit import files_containing, install_connectors
from starlette.testclient import TestClient
from suitekit import wait_until

from airpipe.connectors import registry
from airpipe.settings import Settings

DEFAULT_WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
LOCAL_JSON_ID = str(registry.LOCAL_JSON.id)
TICKS_CATALOG = {
    "streams": [
        {
            "stream": {"name": "ticks", "jsonSchema": {}, "supportedSyncModes": ["full_refresh"]},
            "config": {"syncMode": "full_refresh", "destinationSyncMode": "overwrite", "aliasName": "ticks", "selected": True},
        }
    ]
}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'airpipe.db'}"  # the queue is an SQLite file too: no Redis needed


@pytest.fixture
def settings(tmp_path: Path, database_url: str, queue_name: str) -> Settings:
    return Settings.from_env(
        {
            "AIRPIPE_DATA_DIR": str(tmp_path / "data"),
            "AIRPIPE_DATABASE_URL": database_url,
            "AIRPIPE_QUEUE_NAME": queue_name,
            "AIRPIPE_JOB_WAIT_TIMEOUT": "5",
            "AIRPIPE_MAX_ATTEMPTS": "1",
        }
    )


@pytest.fixture
def api(settings: Settings) -> Iterator[Any]:
    """The API in this process, enqueueing into the SQLite queue the worker process consumes."""
    from airpipe.api.app import create_app

    with TestClient(create_app(settings, run_consumer=False), raise_server_exceptions=False) as client:

        def call(path: str, body: Any, status: int = 200) -> Any:
            response = client.post(f"/api/v1/{path}", json=body)
            assert response.status_code == status, response.text
            return response.json()

        yield call


@pytest.fixture(params=["auto", "off"])
def sandbox(request: pytest.FixtureRequest) -> str:
    """Inside bubblewrap where it works, and without it: the run directory is the same."""
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def workers(tmp_path: Path, settings: Settings, sandbox: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``start()``: one more `airpipe worker` process on the test's data directory."""
    install_connectors(tmp_path / "bin", monkeypatch)
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRPIPE_")}
    env.update(
        PYTHONUNBUFFERED="1",
        AIRPIPE_DATA_DIR=str(settings.data_dir),
        AIRPIPE_DATABASE_URL=settings.database_url,
        AIRPIPE_QUEUE_NAME=settings.queue_name,
        AIRPIPE_MAX_ATTEMPTS="1",
        AIRPIPE_SANDBOX=sandbox,
    )
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        with (tmp_path / "worker.log").open("ab") as log:
            process = subprocess.Popen([sys.executable, "-m", "airpipe.cli", "worker"], cwd=cwd, env=env, stdout=log, stderr=log)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.parametrize("verb", ["sync", "check"])
def test_no_config_survives_a_killed_worker(verb: str, api: Any, workers: Any, settings: Settings, tmp_path: Path) -> None:
    since = time.time() - 1
    secret = f"pw-{uuid.uuid4().hex}"
    worker = workers()
    body = {"name": "Slowpoke", "dockerRepository": "example/source-slowpoke", "dockerImageTag": "1.0"}
    definition = api("source_definitions/create", body)["sourceDefinitionId"]
    body = {"workspaceId": DEFAULT_WORKSPACE_ID, "sourceDefinitionId": definition, "name": "slow"}
    source = api("sources/create", {**body, "connectionConfiguration": {"password": secret}})
    checking: threading.Thread | None = None
    if verb == "sync":
        body = {"workspaceId": DEFAULT_WORKSPACE_ID, "destinationDefinitionId": LOCAL_JSON_ID, "name": "json"}
        destination = api("destinations/create", {**body, "connectionConfiguration": {"destination_path": "/local/out"}})
        body = {"sourceId": source["sourceId"], "destinationId": destination["destinationId"], "status": "active"}
        connection = api("connections/create", {**body, "syncCatalog": TICKS_CATALOG})
        api("connections/sync", {"connectionId": connection["connectionId"]})
    else:  # the API waits for the check (and gives up after AIRPIPE_JOB_WAIT_TIMEOUT): from a thread
        checking = threading.Thread(target=api, args=("sources/check_connection", {"sourceId": source["sourceId"]}, 504))
        checking.start()

    places = (settings.data_dir, tmp_path / "cwd", Path(tempfile.gettempdir()))
    wait_until(lambda: files_containing(secret, *places, since=since), 60, "the connector to copy its config")
    worker.send_signal(signal.SIGKILL)
    worker.wait(10)

    workers()  # its start-up sweep removes what the dead one left
    wait_until(lambda: not files_containing(secret, *places, since=since), 30, "the leftovers to be removed")
    assert list((settings.data_dir / "run").iterdir()) == []
    if checking is not None:
        checking.join(30)
