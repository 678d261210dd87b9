"""A sync never hangs, whatever its pump meets (issue 9, item 1): real connector processes, the job
run inline against SQLite and PostgreSQL (whose text type refuses NUL bytes)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from synckit import Builder, data, failure, items_catalog, log_lines

from airpipe.settings import Settings
from airpipe.worker import sync
from airpipe.worker.attempt_log import storable


def test_nul_bytes_and_broken_utf8_in_connector_lines_are_stored_replaced(api: Builder, programs: Path, settings: Settings) -> None:
    # more junk lines than one log batch (200): the batch holding them is stored mid-sync
    connection = api.connection(api.scripted(records=5, nul_lines=450), api.local_json(), items_catalog())
    info = api.sync(connection)
    assert info["job"]["status"] == "succeeded", info
    assert [r["id"] for r in data(settings.local_root / "out" / "items.jsonl")] == [1, 2, 3, 4, 5]
    junk = [line for line in log_lines(info) if "junk" in line]
    assert len(junk) == 450
    assert all("\x00" not in line and "\ufffd" in line for line in junk)


def test_a_pump_that_dies_fails_the_attempt_within_seconds(
    api: Builder, programs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(self: Any, line: bytes, out: Any, source: Any) -> None:
        raise RuntimeError("injected pump fault")

    monkeypatch.setattr(sync.SyncRun, "_route", broken)
    # the source stays alive after its records, so only the engine can end the attempt
    source = api.scripted(records=3, fail_after=3, fail_mode="hang")
    connection = api.connection(source, api.local_json(), items_catalog())
    started = time.monotonic()
    info = api.sync(connection)
    elapsed = time.monotonic() - started
    assert info["job"]["status"] == "failed", info
    reason = failure(info)
    assert reason["externalMessage"] == "the sync engine's pump thread failed: RuntimeError: injected pump fault"
    assert reason["failureOrigin"] == "replication"
    assert elapsed < 20, elapsed  # the silence timeout (30 s) would be the first thing to end it otherwise


def test_storable_text_replaces_what_a_database_refuses() -> None:
    assert storable("a\x00b") == "a\ufffdb"
    assert storable("x\ud800y\udfffz") == "x\ufffdy\ufffdz"
    assert storable("plain é ✓") == "plain é ✓"
