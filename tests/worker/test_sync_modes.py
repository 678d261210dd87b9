"""Each sync mode of the configured catalog, end to end through the API: real Faker (or
source-scripted) and Local JSON processes, jobs run inline, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from suitekit import users_catalog
from synckit import Builder, data, failure, items_catalog, log_lines, read_jsonl

from airpipe.settings import Settings


@pytest.fixture
def out(settings: Settings) -> Path:
    """The directory the Local JSON destination ``/local/out`` writes to."""
    return settings.local_root / "out"


def cursor_of(state: Any, stream: str) -> Any:
    assert state["stateType"] == "stream", state
    [entry] = [s for s in state["streamState"] if s["streamDescriptor"]["name"] == stream]
    return entry["streamState"]["updated_at"]


def faker_time(i: int) -> str:
    """Faker's ``updated_at`` of record ``i``."""
    return f"2024-01-01T00:00:{i:02d}Z"


def succeeded(info: Any, records: int) -> None:
    assert info["job"]["status"] == "succeeded", info
    assert len(info["attempts"]) == 1
    attempt = info["attempts"][0]["attempt"]
    assert attempt["status"] == "succeeded"
    assert attempt["recordsSynced"] == records, attempt
    assert attempt["totalStats"]["recordsCommitted"] == records


def test_full_refresh_overwrite_replaces(api: Builder, out: Path) -> None:
    connection = api.connection(api.faker(5), api.local_json(), users_catalog("full_refresh", "overwrite"))
    succeeded(api.sync(connection), 5)
    first = read_jsonl(out / "users.jsonl")
    succeeded(api.sync(connection), 5)
    second = read_jsonl(out / "users.jsonl")
    assert [r["_airbyte_data"]["id"] for r in second] == [1, 2, 3, 4, 5]
    assert [r["_airbyte_data"] for r in second] == [r["_airbyte_data"] for r in first]
    assert not {r["_airbyte_ab_id"] for r in first} & {r["_airbyte_ab_id"] for r in second}  # rewritten, not kept
    assert sorted(p.name for p in out.iterdir()) == ["users.jsonl"]  # no temporary file left behind
    assert api.state(connection)["stateType"] in ("not_set", "stream")  # a full refresh needs no cursor


def test_full_refresh_append_doubles(api: Builder, out: Path) -> None:
    connection = api.connection(api.faker(5), api.local_json(), users_catalog("full_refresh", "append"))
    succeeded(api.sync(connection), 5)
    succeeded(api.sync(connection), 5)
    ids = Counter(r["id"] for r in data(out / "users.jsonl"))
    assert ids == {i: 2 for i in range(1, 6)}


def test_incremental_append_adds_only_new_records(api: Builder, out: Path) -> None:
    source = api.faker(5)
    connection = api.connection(source, api.local_json(), users_catalog("incremental", "append"))
    succeeded(api.sync(connection), 5)
    assert cursor_of(api.state(connection), "users") == faker_time(5)

    succeeded(api.sync(connection), 0)  # nothing new
    assert [r["id"] for r in data(out / "users.jsonl")] == [1, 2, 3, 4, 5]
    assert cursor_of(api.state(connection), "users") == faker_time(5)

    api.update_source(source, count=8)
    info = api.sync(connection)
    succeeded(info, 3)
    assert [r["id"] for r in data(out / "users.jsonl")] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert cursor_of(api.state(connection), "users") == faker_time(8)
    assert any("users: reading records 6 to 8" in line for line in log_lines(info))


def test_incremental_append_dedup_keeps_one_record_per_key(api: Builder, out: Path) -> None:
    source = api.faker(5, state_every=2)
    connection = api.connection(source, api.local_json(), users_catalog("incremental", "append_dedup"))
    succeeded(api.sync(connection), 5)
    api.update_source(source, count=8)
    succeeded(api.sync(connection), 3)
    records = data(out / "users.jsonl")
    assert sorted(r["id"] for r in records) == list(range(1, 9))
    assert cursor_of(api.state(connection), "users") == faker_time(8)


def test_append_dedup_latest_cursor_wins(api: Builder, programs: Path, out: Path) -> None:
    # source-scripted re-sends every item each time (ignore_state) with the cursor and version given
    source = api.scripted(records=4, version=1, cursor_base=0, ignore_state=True)
    connection = api.connection(source, api.local_json(), items_catalog("incremental", "append_dedup"))
    succeeded(api.sync(connection), 4)

    source = api.update_source(source, version=2, cursor_base=100)  # newer cursors
    succeeded(api.sync(connection), 4)
    assert sorted((r["id"], r["version"]) for r in data(out / "items.jsonl")) == [(i, 2) for i in range(1, 5)]

    api.update_source(source, version=3, cursor_base=-100)  # written last, but older cursors: they lose
    succeeded(api.sync(connection), 4)
    records = data(out / "items.jsonl")
    assert sorted((r["id"], r["version"], r["updated_at"]) for r in records) == [(i, 2, 100 + i) for i in range(1, 5)]


def test_prefix_names_the_destination_files(api: Builder, out: Path) -> None:
    connection = api.connection(api.faker(3), api.local_json(), users_catalog("full_refresh", "overwrite"), prefix="shop_")
    succeeded(api.sync(connection), 3)
    assert sorted(p.name for p in out.iterdir()) == ["shop_users.jsonl"]
    assert [r["id"] for r in data(out / "shop_users.jsonl")] == [1, 2, 3]


def test_reset_empties_the_streams_and_forgets_the_state(api: Builder, out: Path) -> None:
    connection = api.connection(api.faker(4), api.local_json(), users_catalog("incremental", "append"))
    succeeded(api.sync(connection), 4)
    assert api.state(connection)["stateType"] == "stream"

    reset = api.reset(connection)
    assert reset["job"]["configType"] == "reset_connection"
    assert reset["job"]["status"] == "succeeded", reset
    assert read_jsonl(out / "users.jsonl") == []
    assert api.state(connection)["stateType"] == "not_set"

    succeeded(api.sync(connection), 4)  # starts from the beginning again
    assert [r["id"] for r in data(out / "users.jsonl")] == [1, 2, 3, 4]


def test_failed_overwrite_leaves_the_old_data_in_place(api: Builder, programs: Path, out: Path) -> None:
    source = api.scripted(records=10, version=1)
    connection = api.connection(source, api.local_json(), items_catalog("full_refresh", "overwrite"))
    succeeded(api.sync(connection), 10)
    before = read_jsonl(out / "items.jsonl")

    api.update_source(source, version=2, fail_after=3)  # three records of the new version, then a crash
    info = api.sync(connection)
    assert info["job"]["status"] == "failed", info
    assert failure(info)["failureOrigin"] == "source"
    assert info["attempts"][0]["attempt"]["recordsSynced"] == 3
    assert read_jsonl(out / "items.jsonl") == before  # byte for byte the first sync's output
    assert sorted(p.name for p in out.iterdir()) == ["items.jsonl"]  # the temporary file is gone
