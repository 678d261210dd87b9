"""Protocol lines, configured catalogs, and a destination's write run as a process, for the destinations'
tests (``from wirekit import Wire``: pytest puts this directory on sys.path; the ``wire`` fixture is in conftest.py)."""

from __future__ import annotations

import json
import select
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from airpipe.connectors.launcher import ConnectorProcess, Launcher


class Wire:
    """Protocol message lines (bytes, newline included), configured catalogs, and whole writes."""

    @staticmethod
    def record(stream: str, data: dict[str, Any], emitted_at: int = 1700000000000, namespace: str | None = None) -> bytes:
        record: dict[str, Any] = {"stream": stream, "data": data, "emitted_at": emitted_at}
        if namespace is not None:
            record["namespace"] = namespace
        return json.dumps({"type": "RECORD", "record": record}).encode() + b"\n"

    @staticmethod
    def state(stream: str | None, n: int) -> bytes:
        if stream is None:
            message: dict[str, Any] = {"type": "STATE", "state": {"type": "LEGACY", "data": {"n": n}}}
        else:
            descriptor = {"stream_descriptor": {"name": stream}, "stream_state": {"n": n}}
            message = {"type": "STATE", "state": {"type": "STREAM", "stream": descriptor}}
        return json.dumps(message).encode() + b"\n"

    @staticmethod
    def stream(
        name: str,
        mode: str,
        properties: dict[str, Any] | None = None,
        *,
        primary_key: list[list[str]] | None = None,
        cursor: list[str] | None = None,
        namespace: str | None = None,
    ) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "object"}
        if properties is not None:
            schema["properties"] = properties
        stream: dict[str, Any] = {"name": name, "json_schema": schema, "supported_sync_modes": ["full_refresh", "incremental"]}
        if namespace is not None:
            stream["namespace"] = namespace
        return {
            "stream": stream,
            "sync_mode": "incremental",
            "destination_sync_mode": mode,
            "primary_key": primary_key,
            "cursor_field": cursor,
        }

    @classmethod
    def catalog(cls, mode: str, *streams: str, properties: dict[str, Any] | None = None, **keys: Any) -> dict[str, Any]:
        """Streams of one mode and one schema (``{"id": integer}`` unless given)."""
        properties = properties if properties is not None else {"id": {"type": "integer"}}
        return {"streams": [cls.stream(name, mode, properties, **keys) for name in streams]}

    @staticmethod
    def write(launcher: Launcher, config: dict[str, Any], catalog: dict[str, Any], *lines: bytes) -> tuple[int, list[bytes], Any]:
        """Run a whole write; returns (exit code, the STATE lines echoed, the TRACE error if any)."""
        with launcher.write(config, catalog) as process:
            assert process.stdin is not None
            process.stdin.write(b"".join(lines))
            process.stdin.close()
            echoed = [line for line in process if process.handle_line(line) is not None]
            code = process.wait(60)
        return code, [line for line in echoed if b'"STATE"' in line], process.trace_error

    @staticmethod
    def orphaned_write(
        command: list[str],
        config: dict[str, Any],
        catalog: dict[str, Any],
        directory: Path,
        lines: list[bytes],
        started: Callable[[], bool],
    ) -> None:
        """Run a write whose worker dies once ``started()`` (after sending ``lines``): the input
        ends a second later, when the destination has been orphaned. Returns once it has exited."""
        for name, value in (("config", config), ("catalog", catalog)):
            (directory / f"{name}.json").write_text(json.dumps(value))
        (directory / "input.jsonl").write_bytes(b"".join(lines))
        argv = [*command, "write", "--config", str(directory / "config.json"), "--catalog", str(directory / "catalog.json")]
        worker = subprocess.Popen(
            [sys.executable, "-c", _DYING_WORKER, str(directory / "input.jsonl"), *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        assert worker.stdin is not None and worker.stdout is not None
        pid, deadline = int(worker.stdout.readline()), time.monotonic() + 30
        while not started():
            assert time.monotonic() < deadline, "the destination did not start"
            time.sleep(0.05)
        worker.stdin.close()
        worker.wait(10)
        worker.stdout.close()
        while _alive(pid):
            assert time.monotonic() < deadline, "the orphaned destination did not exit"
            time.sleep(0.05)

    @staticmethod
    def ready(process: ConnectorProcess, timeout: float) -> bool:
        """Has the process printed something within ``timeout`` seconds?"""
        return bool(select.select([process.stdout], [], [], timeout)[0])


_DYING_WORKER = """
import os, subprocess, sys, time
destination = subprocess.Popen(sys.argv[2:], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
destination.stdin.write(open(sys.argv[1], "rb").read())
destination.stdin.flush()
print(destination.pid, flush=True)
sys.stdin.read()  # until the test has seen the destination start
if os.fork() == 0:  # keeps the destination's input open a second after the worker is gone
    time.sleep(1)
    os._exit(0)
os._exit(0)
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
