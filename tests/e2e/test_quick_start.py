"""The README's first sync, run verbatim with bash/curl/jq against real server processes:
the embedded default (SQLite, in-process worker) and production (PostgreSQL, Redis, a separate
`airpipe worker`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from suitekit import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def readme_walkthrough() -> str:
    lines = (ROOT / "README.rst").read_text().splitlines()
    start = lines.index(".. code-block:: bash") + 1
    block = []
    for line in lines[start:]:
        if line and not line.startswith(" "):
            break
        block.append(line)
    return textwrap.dedent("\n".join(block))


def wait_healthy(port: int, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1) as response:
                if json.load(response)["available"]:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("the server did not become healthy")


@contextmanager
def running(*commands: list[str], cwd: Path, env: dict[str, str]) -> Iterator[list[subprocess.Popen]]:
    log = (cwd / "processes.log").open("ab")
    processes = [subprocess.Popen(c, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT) for c in commands]
    try:
        yield processes
    finally:
        for p in processes:
            p.terminate()
        for p in processes:
            try:
                p.wait(15)
            except subprocess.TimeoutExpired:
                p.kill()
        log.close()


def run_walkthrough(cwd: Path, port: int) -> str:
    script = readme_walkthrough().replace("127.0.0.1:8000", f"127.0.0.1:{port}")
    result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr + (cwd / "processes.log").read_text(errors="replace")
    return result.stdout


def assert_synced(cwd: Path, output: str) -> None:
    summary = json.loads(output[output.index('{\n  "status"') : output.index("}", output.index('{\n  "status"')) + 1])
    assert summary["status"] == "succeeded"
    files = sorted((cwd / ".airpipe" / "local" / "shop").glob("*.jsonl"))
    assert [f.name for f in files] == ["products.jsonl", "purchases.jsonl", "users.jsonl"]
    lines = sum(len(f.read_text().splitlines()) for f in files)
    assert lines == summary["records"] > 100  # 100 users, plus products and purchases
    users = [json.loads(line) for line in (files[2]).read_text().splitlines()]
    assert len(users) == 100 and len({u["_airbyte_data"]["id"] for u in users}) == 100


def base_env(port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRPIPE_")}
    env["AIRPIPE_PORT"] = str(port)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@pytest.fixture(autouse=True)
def tools() -> None:
    for tool in ("bash", "curl", "jq"):
        if shutil.which(tool) is None:
            pytest.skip(f"the README walk-through needs {tool}")


def test_readme_first_sync_embedded(tmp_path: Path) -> None:
    port = free_port()
    airpipe = [sys.executable, "-m", "airpipe.cli"]
    with running([*airpipe, "serve"], cwd=tmp_path, env=base_env(port)) as (server,):
        wait_healthy(port, server)
        output = run_walkthrough(tmp_path, port)
    assert_synced(tmp_path, output)
    assert '"POST /api/v1/' not in (tmp_path / "processes.log").read_text()  # no access log unless asked for


@pytest.mark.postgres
@pytest.mark.redis
def test_readme_first_sync_production(tmp_path: Path, empty_postgres_url: str, redis_url: str, queue_name: str) -> None:
    port = free_port()
    env = base_env(port)
    env.update(
        AIRPIPE_DATABASE_URL=empty_postgres_url,
        AIRPIPE_REDIS_URL=redis_url,
        AIRPIPE_QUEUE_NAME=queue_name,
        # the worker runs connectors, so it needs the same local root as the README expects
        AIRPIPE_LOCAL_ROOT=str(tmp_path / ".airpipe" / "local"),
        AIRPIPE_ACCESS_LOG="1",
        AIRPIPE_LOG_FORMAT="json",
    )
    airpipe = [sys.executable, "-m", "airpipe.cli"]
    subprocess.run([*airpipe, "migrate"], cwd=tmp_path, env=env, check=True, capture_output=True)
    with running([*airpipe, "serve"], [*airpipe, "worker"], cwd=tmp_path, env=env) as (server, worker):
        wait_healthy(port, server)
        output = run_walkthrough(tmp_path, port)
        assert worker.poll() is None
    assert_synced(tmp_path, output)
    lines = [json.loads(line) for line in (tmp_path / "processes.log").read_text().splitlines() if line.startswith("{")]
    messages = [line["message"] for line in lines]
    assert any('"POST /api/v1/connections/sync HTTP/1.1" 200' in m for m in messages), messages  # the access log, as JSON
    assert any(line.get("job_id") and line["logger"] == "airpipe.worker" for line in lines), lines  # the worker names its job
