"""Fixtures for running real connector processes: the test programs in ``programs/`` and the built-ins."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airpipe.connectors import registry
from airpipe.connectors.launcher import Launcher
from airpipe.protocol import SyncMode

PROGRAMS = Path(__file__).parent / "programs"


class Logs(list[tuple[str, str]]):
    """An on_log callback that remembers every (level, message)."""

    def __call__(self, level: str, message: str) -> None:
        self.append((level, message))

    def at(self, level: str) -> list[str]:
        return [message for lvl, message in self if lvl == level]


@pytest.fixture
def logs() -> Logs:
    return Logs()


@pytest.fixture
def program() -> Callable[[str], list[str]]:
    """``program("crash")``: the command of ``programs/crash.py``."""
    return lambda name: [sys.executable, str(PROGRAMS / f"{name}.py")]


@pytest.fixture
def faker(logs: Logs) -> Launcher:
    return Launcher(registry.resolve("airpipe/source-faker", "0.1.0"), on_log=logs, timeout=30)


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
