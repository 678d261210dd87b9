"""What the sync engine's tests share: builders over the API, file readers, and real
`airpipe serve` / `airpipe worker` processes (``Deployment``). The fixtures are in conftest.py."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from suitekit import free_port, sync_catalog

from airpipe.connectors import registry

PROGRAMS = Path(__file__).parent / "programs"
DEFAULT_WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
FAKER_ID = str(registry.FAKER.id)
LOCAL_JSON_ID = str(registry.LOCAL_JSON.id)

Call = Callable[..., Any]


def install_programs(bin_dir: Path) -> Path:
    """Every ``programs/<name>.py`` as an executable ``source-<name>`` in ``bin_dir``."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for source in PROGRAMS.glob("*.py"):
        target = bin_dir / f"source-{source.stem}"
        target.write_text(f"#!{sys.executable}\n" + source.read_text())
        target.chmod(0o755)
    return bin_dir


# BUILDERS (over any ``call``)


def items_catalog(sync_mode: str = "full_refresh", destination_sync_mode: str = "overwrite") -> dict[str, Any]:
    """A syncCatalog of source-scripted's only stream."""
    return sync_catalog("items", {"id": {}, "updated_at": {}, "version": {}}, sync_mode, destination_sync_mode)


class Builder:
    """Makes real objects through the API; ``call`` is the in-process client or HTTP."""

    def __init__(self, call: Call) -> None:
        self.call = call
        self._scripted: str | None = None

    def faker(self, count: int = 5, **config: Any) -> Any:
        return self.source(FAKER_ID, {"count": count, "seed": 1, **config})

    def scripted(self, **config: Any) -> Any:
        if self._scripted is None:
            body = {"name": "Scripted", "dockerRepository": "example/source-scripted", "dockerImageTag": "1.0"}
            self._scripted = self.call("source_definitions/create", body)["sourceDefinitionId"]
        return self.source(self._scripted, config)

    def source(self, definition_id: str, config: dict[str, Any], name: str = "source") -> Any:
        body = {"workspaceId": DEFAULT_WORKSPACE_ID, "sourceDefinitionId": definition_id, "connectionConfiguration": config, "name": name}
        return self.call("sources/create", body)

    def update_source(self, source: Any, **config: Any) -> Any:
        configuration = {**source["connectionConfiguration"], **config}
        body = {"sourceId": source["sourceId"], "name": source["name"], "connectionConfiguration": configuration}
        return self.call("sources/update", body)

    def local_json(self, path: str = "/local/out") -> Any:
        body = {
            "workspaceId": DEFAULT_WORKSPACE_ID,
            "destinationDefinitionId": LOCAL_JSON_ID,
            "connectionConfiguration": {"destination_path": path},
            "name": "json",
        }
        return self.call("destinations/create", body)

    def connection(self, source: Any, destination: Any, catalog: dict[str, Any], **fields: Any) -> Any:
        body = {
            "sourceId": source["sourceId"],
            "destinationId": destination["destinationId"],
            "status": "active",
            "syncCatalog": catalog,
            **fields,
        }
        return self.call("connections/create", body)

    def sync(self, connection: Any) -> Any:
        """Start a sync; returns its JobInfoRead (finished already when jobs run inline)."""
        started = self.call("connections/sync", {"connectionId": connection["connectionId"]})
        return self.call("jobs/get", {"id": started["job"]["id"]})

    def reset(self, connection: Any) -> Any:
        started = self.call("connections/reset", {"connectionId": connection["connectionId"]})
        return self.call("jobs/get", {"id": started["job"]["id"]})

    def state(self, connection: Any) -> Any:
        return self.call("state/get", {"connectionId": connection["connectionId"]})

    def job(self, job_id: int) -> Any:
        return self.call("jobs/get", {"id": job_id})

    def jobs(self, connection: Any) -> list[Any]:
        body = {"configId": connection["connectionId"], "configTypes": ["sync", "reset_connection"]}
        return self.call("jobs/list", body)["jobs"]

    def wait_job(self, job_id: int, timeout: float = 30, until: Callable[[Any], bool] | None = None) -> Any:
        """Poll jobs/get until ``until(info)`` (default: the job is final) or fail after ``timeout``."""
        done = until or (lambda info: info["job"]["status"] in ("succeeded", "failed", "cancelled"))
        deadline = time.monotonic() + timeout
        while True:
            info = self.job(job_id)
            if done(info):
                return info
            if time.monotonic() > deadline:
                raise AssertionError(f"job {job_id} still {info['job']['status']} after {timeout} s: {json.dumps(info)[:3000]}")
            time.sleep(0.1)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    """The records a Local JSON file holds, one dict per line ([] if there is no file)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def data(path: Path) -> list[dict[str, Any]]:
    return [line["_airbyte_data"] for line in read_jsonl(path)]


def log_lines(info: Any, attempt: int = -1) -> list[str]:
    return info["attempts"][attempt]["logs"]["logLines"]


def failure(info: Any, attempt: int = -1) -> dict[str, Any]:
    summary = info["attempts"][attempt]["attempt"]["failureSummary"]
    assert summary, f"attempt {attempt} has no failureSummary: {info['attempts'][attempt]['attempt']}"
    return summary["failures"][0]


# PROCESSES


def children_of(pid: int) -> list[int]:
    """The pids whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


def alive(pid: int) -> bool:
    """Running (a zombie, dead but not yet reaped, does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


class Deployment:
    """Real `airpipe serve` and `airpipe worker` processes sharing one environment.

    Every process is stopped at the end (SIGTERM, then SIGKILL), and so is every connector they
    left behind. Process output goes to ``<dir>/processes.log``, shown when a test fails.
    """

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AIRPIPE_")}
        self.env.update(PYTHONUNBUFFERED="1", AIRPIPE_DATA_DIR=str(directory / "data"), **env)
        self.log_path = directory / "processes.log"
        self.processes: list[subprocess.Popen[bytes]] = []
        self.port: int | None = None

    @property
    def local_root(self) -> Path:
        return Path(self.env.get("AIRPIPE_LOCAL_ROOT") or Path(self.env["AIRPIPE_DATA_DIR"]) / "local")

    def _start(self, *args: str) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "airpipe.cli", *args], cwd=self.directory, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        self.processes.append(process)
        return process

    def migrate(self) -> None:
        command = [sys.executable, "-m", "airpipe.cli", "migrate"]
        subprocess.run(command, cwd=self.directory, env=self.env, check=True, capture_output=True, timeout=60)

    def worker(self) -> subprocess.Popen[bytes]:
        return self._start("worker")

    def serve(self, timeout: float = 30) -> subprocess.Popen[bytes]:
        """Start `airpipe serve` and wait until it answers with its database reachable (a
        production server without a live worker answers 503, and is up all the same)."""
        self.port = free_port()
        self.env["AIRPIPE_PORT"] = str(self.port)
        server = self._start("serve")
        deadline = time.monotonic() + timeout
        while True:
            if server.poll() is not None:
                raise AssertionError(f"airpipe serve exited with {server.returncode}:\n{self.output()}")
            if (self.health() or {}).get("db"):
                return server
            if time.monotonic() > deadline:
                raise AssertionError(f"airpipe serve did not start:\n{self.output()}")
            time.sleep(0.1)

    def health(self) -> dict[str, Any] | None:
        """What GET /api/v1/health answers (200 or 503), or None while nothing listens."""
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/health", timeout=2) as response:
                return json.load(response)
        except urllib.error.HTTPError as exc:
            return json.load(exc)
        except OSError:
            return None

    def call(self, path: str, body: Any = None, *, status: int = 200, timeout: float = 60) -> Any:
        """POST to the running server; assert the status; return the JSON body."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v1/{path}",
            data=json.dumps({} if body is None else body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                code, payload = response.status, response.read()
        except urllib.error.HTTPError as exc:
            code, payload = exc.code, exc.read()
        assert code == status, f"{path}: {code} {payload[:2000]!r}"
        return json.loads(payload) if payload else None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-20000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        connectors = [c for p in self.processes for c in children_of(p.pid)]
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        for pid in connectors:  # in sessions of their own: a worker killed hard leaves them behind
            if alive(pid):
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass


def worker_processes(deployment: Deployment) -> list[Any]:
    return [p for p in deployment.processes if p.args[-1] == "worker"]


def queue_keys() -> list[str]:
    """The Redis keys of this process's queue (huey strips the name to [a-z0-9] in them, so the
    suite's ``*<queue name>*`` clean-up does not find them)."""
    from airpipe.worker import queue

    storage = queue.huey.storage
    return [storage.queue_key, storage.schedule_key, storage.result_key, storage.counter_key]


def connector_pids(parent: int) -> list[int]:
    """The built-in connectors a worker (or an embedded server) runs right now."""
    modules = [f"-m {definition.module} " for definition in registry.BUILTIN_DEFINITIONS]
    return [pid for pid in children_of(parent) if any(module in command_line(pid) for module in modules)]
