"""Fixtures for the sync engine's tests: real connector processes, real databases, real queues.

- ``settings`` is the suite's, plus whatever ``@pytest.mark.settings(AIRPIPE_X="...")`` adds;
- ``call``/``api`` post to the in-process API (jobs run inline: the suite's ``client``);
- ``programs`` installs the test connectors of ``programs/`` as executables on PATH
  (``source-scripted``), the way a third-party connector is installed;
- ``deployment_factory`` starts real ``airpipe serve`` / ``airpipe worker`` processes.

Helpers live in ``synckit.py`` (this directory is on sys.path, as pytest puts it there).
"""

from __future__ import annotations

import faulthandler
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from huey.storage import RedisStorage
from synckit import Builder, Call, Deployment, install_programs, queue_keys

from airpipe import models
from airpipe.settings import Settings
from airpipe.worker import queue

#: no test here may run longer than this (seconds): a hung sync dumps every thread's stack and
#: ends the run, rather than hanging it
TEST_TIME_LIMIT = 120


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "settings(**env): extra AIRPIPE_* variables for the test's settings")


@pytest.fixture(autouse=True)
def time_limit() -> Iterator[None]:
    faulthandler.dump_traceback_later(TEST_TIME_LIMIT, exit=True)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


@pytest.fixture
def settings(request: pytest.FixtureRequest, tmp_path: Path, database_url: str, queue_name: str) -> Settings:
    env = {
        "AIRPIPE_DATA_DIR": str(tmp_path / "data"),
        "AIRPIPE_DATABASE_URL": database_url,
        "AIRPIPE_JOB_WAIT_TIMEOUT": "60",
        "AIRPIPE_QUEUE_NAME": queue_name,
        "AIRPIPE_MAX_ATTEMPTS": "1",
        # a sync that hangs fails in bounded time (tests that test the timeout set their own)
        "AIRPIPE_SOURCE_SILENCE_TIMEOUT": "30",
        "AIRPIPE_CONNECTOR_TIMEOUT": "60",
    }
    for marker in request.node.iter_markers("settings"):
        env.update(marker.kwargs)
    return Settings.from_env(env)


@pytest.fixture
def programs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test connectors on PATH (for this process and the connectors it starts)."""
    bin_dir = install_programs(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return bin_dir


@pytest.fixture
def api(call: Call) -> Builder:
    return Builder(call)


@pytest.fixture
def deployment_factory(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., Deployment]]:
    made: list[Deployment] = []

    def make(**env: str) -> Deployment:
        directory = tmp_path / f"deployment{len(made)}"
        directory.mkdir()
        deployment = Deployment(directory, env)
        made.append(deployment)
        return deployment

    yield make
    for deployment in made:
        deployment.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:  # the processes' output explains most failures
        for deployment in made:
            print(f"--- {deployment.log_path} ---\n{deployment.output()}")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def bound_database() -> Iterator[Callable[[dict[str, str]], None]]:
    """``bind(env)``: this process uses the database (and the secret key) of the deployment whose
    AIRPIPE_* environment ``env`` is, as one more of its processes."""
    opened: list[Any] = []

    def bind(env: dict[str, str]) -> None:
        settings = Settings.from_env(env)
        database = models.open_database(settings.database_url)
        models.bind(database)
        models.use_key(settings.load_secret_key())
        opened.append(database)

    yield bind
    for database in opened:
        getattr(database, "close_all", database.close)()


@pytest.fixture
def production(deployment_factory: Any, empty_postgres_url: str, redis_url: str, queue_name: str, bound_database: Any) -> Iterator[Any]:
    """``production(workers=2, **env)``: migrate, then `airpipe serve` and `airpipe worker`s on
    PostgreSQL and Redis. This process's queue and database are bound to the same ones."""
    made: list[Deployment] = []

    def start(workers: int = 2, **env: str) -> Deployment:
        env = {"AIRPIPE_DATABASE_URL": empty_postgres_url, "AIRPIPE_REDIS_URL": redis_url, "AIRPIPE_QUEUE_NAME": queue_name, **env}
        deployment: Deployment = deployment_factory(**env)
        made.append(deployment)
        deployment.migrate()
        for _ in range(workers):
            deployment.worker()
        deployment.serve()
        queue.configure(Settings.from_env(deployment.env))
        bound_database(deployment.env)
        return deployment

    yield start
    for deployment in made:
        deployment.stop()  # before the keys go: a running worker could write them again
    if isinstance(queue.huey.storage, RedisStorage):
        queue.huey.storage.conn.delete(*queue_keys())
