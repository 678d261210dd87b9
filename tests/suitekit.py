"""Helpers shared by the whole suite (fixtures are in conftest.py beside this file).

Import it as ``suitekit`` from any test module: pytest puts ``tests/`` on sys.path when it loads
``tests/conftest.py`` ("prepend" import mode, the default), before any test module is collected.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec


class Logs(list[tuple[str, str]]):
    """An ``on_log`` callback that remembers every (level, message), from any thread."""

    def __init__(self) -> None:
        super().__init__()
        self.lock = threading.Lock()

    def __call__(self, level: str, message: str) -> None:
        with self.lock:
            self.append((level, message))

    def at(self, level: str) -> list[str]:
        return [message for lvl, message in self if lvl == level]

    def containing(self, text: str) -> list[str]:
        """Every "LEVEL message" line whose message contains ``text``."""
        return [f"{level} {message}" for level, message in self if text in message]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.05) -> Any:
    """Poll ``condition`` until it returns something true, and return that; fail after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)


# CATALOGS

#: the fields of Faker's ``users`` stream that a connection needs: its primary key and its cursor
USERS_PROPERTIES = {"id": {"type": "integer"}, "updated_at": {"type": "string"}}


def sync_catalog(
    name: str, properties: dict[str, Any], sync_mode: str = "full_refresh", destination_sync_mode: str = "overwrite"
) -> dict[str, Any]:
    """A syncCatalog (the API's shape) of one selected stream keyed by ``id`` with the cursor
    ``updated_at``, so creating a connection needs no discover. Its properties are a copy: a
    test that changes them changes no other test's catalog."""
    return {
        "streams": [
            {
                "stream": {
                    "name": name,
                    "jsonSchema": {"type": "object", "properties": copy.deepcopy(properties)},
                    "supportedSyncModes": ["full_refresh", "incremental"],
                    "sourceDefinedCursor": True,
                    "defaultCursorField": ["updated_at"],
                    "sourceDefinedPrimaryKey": [["id"]],
                },
                "config": {
                    "syncMode": sync_mode,
                    "cursorField": ["updated_at"],
                    "destinationSyncMode": destination_sync_mode,
                    "primaryKey": [["id"]],
                    "aliasName": name,
                    "selected": True,
                },
            }
        ]
    }


def users_catalog(sync_mode: str = "full_refresh", destination_sync_mode: str = "overwrite") -> dict[str, Any]:
    """A syncCatalog of Faker's ``users`` stream only."""
    return sync_catalog("users", USERS_PROPERTIES, sync_mode, destination_sync_mode)


def basic(credentials: str) -> dict[str, str]:
    """The header of HTTP Basic credentials ``user:password``."""
    return {"Authorization": "Basic " + base64.b64encode(credentials.encode()).decode()}


# MISSING TOOLS

REQUIRE_SERVICES = os.environ.get("AIRPIPE_TEST_REQUIRE_SERVICES") == "1"


def missing(what: str) -> None:
    """Skip a test that needs ``what``, which is not here; fail instead in CI
    (AIRPIPE_TEST_REQUIRE_SERVICES=1), where everything must be installed."""
    import pytest

    if REQUIRE_SERVICES:
        pytest.fail(f"{what} and AIRPIPE_TEST_REQUIRE_SERVICES=1")
    pytest.skip(what)


# A REAL SERVER


class AirpipeServer:
    """``airpipe serve`` in a subprocess of its own, on a free port of 127.0.0.1, with a data
    directory under ``directory`` and no AIRPIPE_* variables but ``env``'s. Use it as a context
    manager: it is healthy inside, terminated after (with the connectors of a sync still running,
    which share its session). ``post`` calls its API and returns the JSON."""

    def __init__(self, directory: Path, env: dict[str, str] | None = None, auth: str | None = None) -> None:
        self.directory, self.env, self.auth = directory, env or {}, auth
        self.url = f"http://127.0.0.1:{free_port()}"
        self.data_dir = directory / "data"
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> AirpipeServer:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRPIPE_")} | self.env
        port = self.url.rsplit(":", 1)[1]
        with (self.directory / "serve.log").open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "airpipe.cli", "serve", "--port", port, "--data-dir", str(self.data_dir)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until(self.healthy, 30, "the server")
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(15)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST ``body`` to ``/api/v1/<path>`` (or to ``path`` itself when it starts with a slash)."""
        headers = {"Content-Type": "application/json", **(basic(self.auth) if self.auth else {})}
        url = f"{self.url}{path}" if path.startswith("/") else f"{self.url}/api/v1/{path}"
        request = urllib.request.Request(url, json.dumps(body).encode(), headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read() or b"null")

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/api/v1/health", timeout=1) as response:
                return bool(response.status == 200)
        except OSError:
            return False


# REQUEST BODIES

#: an id that names nothing
NOWHERE_ID = "00000000-0000-4000-8000-000000000000"


def minimal_body(request_type: type) -> Any:
    """A body of the right shape whose ids exist nowhere: every required field, nothing else."""
    return _value(msgspec.inspect.type_info(request_type))


def _value(info: msgspec.inspect.Type) -> Any:
    i = msgspec.inspect
    if isinstance(info, i.StructType):
        return {f.encode_name: _value(f.type) for f in info.fields if f.required}
    if isinstance(info, i.UnionType):
        return _value(next(t for t in info.types if not isinstance(t, (i.NoneType, i.UnsetType))))
    if isinstance(info, i.EnumType):
        return next(iter(info.cls)).value
    if isinstance(info, i.ListType):  # as many items as the list must have
        return [_value(info.item_type) for _ in range(info.min_length or 0)]
    simple = {i.UUIDType: NOWHERE_ID, i.StrType: "x", i.IntType: 1, i.FloatType: 1.0, i.BoolType: False, i.DictType: {}}
    return simple.get(type(info))


# QUERIES


@contextmanager
def counted() -> Iterator[list[str]]:
    """The SQL statements run meanwhile."""
    from airpipe import models

    database = models.db.obj
    statements: list[str] = []
    original = database.execute_sql

    def execute_sql(sql: str, *args: Any, **kwargs: Any) -> Any:
        statements.append(sql)
        return original(sql, *args, **kwargs)

    database.execute_sql = execute_sql
    try:
        yield statements
    finally:
        del database.execute_sql
