from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from wirekit import Wire

from airpipe.connectors import registry
from airpipe.connectors.launcher import ConnectorProcess, Launcher
from airpipe.connectors.local_paths import resolve_local_path
from airpipe.destinations.local_json import file_name, local_root
from airpipe.protocol import Status

# PATHS


@pytest.mark.parametrize("path", ["/local/x", "x", "/x", "./x", "/local//x", " x ", "a/../x"])
def test_paths_are_inside_the_root(tmp_path: Path, path: str) -> None:
    assert resolve_local_path(path, tmp_path) == tmp_path.resolve() / "x"


@pytest.mark.parametrize("path", ["/local", "/", "."])
def test_the_root_itself_is_allowed(tmp_path: Path, path: str) -> None:
    assert resolve_local_path(path, tmp_path) == tmp_path.resolve()


@pytest.mark.parametrize("path", ["../x", "/local/../../x", "a/../../x", "/local/..", ".."])
def test_paths_that_escape_are_refused(tmp_path: Path, path: str) -> None:
    with pytest.raises(ValueError) as info:
        resolve_local_path(path, tmp_path)
    assert str(info.value) == f"the path {path!r} leads outside the local root {tmp_path.resolve()}"


@pytest.mark.parametrize(
    ("path", "error"),
    [("", "the path must not be empty"), ("  ", "the path must not be empty"), ("a\x00b", "the path must not contain a NUL character")],
)
def test_empty_and_nul_paths_are_refused(tmp_path: Path, path: str, error: str) -> None:
    with pytest.raises(ValueError, match=f"^{error}$"):
        resolve_local_path(path, tmp_path)


def test_symlinks_are_followed_before_the_check(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "inside").mkdir(parents=True)
    outside.mkdir()
    (root / "escape").symlink_to(outside)
    (root / "alias").symlink_to(root / "inside")
    with pytest.raises(ValueError, match="leads outside the local root"):
        resolve_local_path("/local/escape/data", root)
    assert resolve_local_path("alias/data", root) == root / "inside" / "data"


def test_the_local_root_follows_airpipes_settings(tmp_path: Path) -> None:
    assert local_root({"AIRPIPE_LOCAL_ROOT": "/srv/files", "AIRPIPE_DATA_DIR": "/d"}) == Path("/srv/files")
    assert local_root({"AIRPIPE_DATA_DIR": "/d"}) == Path("/d/local")
    assert local_root({}) == Path.cwd() / ".airpipe" / "local"


def test_stream_names_become_safe_file_names() -> None:
    assert file_name("users") == "users"
    assert file_name("../../etc/passwd") == "_.._.._etc_passwd"
    assert file_name("public.orders v2") == "public.orders_v2"
    assert file_name("") == "_"


# WRITING


# the destinations' shared protocol lines and catalogs (wirekit.py)
record, state, catalog, ready = Wire.record, Wire.state, Wire.catalog, Wire.ready


def launcher(root: Path) -> Launcher:
    return Launcher(registry.resolve(registry.LOCAL_JSON.docker_repository), env={"AIRPIPE_LOCAL_ROOT": str(root)}, kill_grace=5)


def start(root: Path, cat: dict[str, Any], path: str = "/local/out") -> ConnectorProcess:
    return launcher(root).write({"destination_path": path}, cat)


def write(root: Path, cat: dict[str, Any], *lines: bytes) -> tuple[int, list[bytes], Any]:
    """Run a whole write; returns (exit code, echoed lines, the TRACE error if any)."""
    with start(root, cat) as process:
        assert process.stdin is not None
        process.stdin.write(b"".join(lines))
        process.stdin.close()
        echoed = [line for line in process if process.handle_line(line) is not None]
        code = process.wait(30)
    return code, [line for line in echoed if b'"STATE"' in line], process.trace_error


def rows(root: Path, stream: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (root / "out" / f"{stream}.jsonl").read_bytes().splitlines()]


def data(root: Path, stream: str) -> list[Any]:
    return [row["_airbyte_data"] for row in rows(root, stream)]


def test_lines_are_airbyte_raw_records(tmp_path: Path) -> None:
    raw = b'{"type":"RECORD","record":{"stream":"users","data":{"id": 1, "name" : "Ada"},"emitted_at":1700000000123}}\n'
    code, states, _ = write(tmp_path, catalog("overwrite", "users"), raw, record("users", {"id": 2}), state("users", 1))
    assert (code, states) == (0, [state("users", 1)])
    lines = (tmp_path / "out" / "users.jsonl").read_bytes().splitlines()
    # the record data is copied byte for byte, never re-encoded
    assert lines[0].endswith(b'"_airbyte_emitted_at":1700000000123,"_airbyte_data":{"id": 1, "name" : "Ada"}}')
    assert list(json.loads(lines[0])) == ["_airbyte_ab_id", "_airbyte_emitted_at", "_airbyte_data"]
    ids = [uuid.UUID(row["_airbyte_ab_id"]) for row in rows(tmp_path, "users")]
    assert [i.version for i in ids] == [4, 4] and ids[0] != ids[1]


def test_overwrite_replaces_the_file(tmp_path: Path) -> None:
    cat = catalog("overwrite", "users", "empty")
    write(tmp_path, cat, record("users", {"id": 1}), record("users", {"id": 2}), record("empty", {"id": 9}))
    code, states, _ = write(tmp_path, cat, record("users", {"id": 3}), state("users", 1))
    assert (code, states) == (0, [state("users", 1)])
    assert data(tmp_path, "users") == [{"id": 3}]
    assert (tmp_path / "out" / "empty.jsonl").read_bytes() == b""
    assert sorted(os.listdir(tmp_path / "out")) == ["empty.jsonl", "users.jsonl"]


def test_a_killed_overwrite_leaves_the_old_data(tmp_path: Path) -> None:
    cat = catalog("overwrite", "users")
    write(tmp_path, cat, record("users", {"id": 1}))
    with start(tmp_path, cat) as process:
        assert process.stdin is not None
        process.stdin.write(record("users", {"id": 2}) * 1000 + state("users", 1))
        process.stdin.flush()
        assert not ready(process, 0.5)  # an overwrite's state waits for the end of the input
        process.kill()
        assert process.wait(10) == 143  # exited through its SIGTERM handler, cleaning up
    assert data(tmp_path, "users") == [{"id": 1}]
    assert os.listdir(tmp_path / "out") == ["users.jsonl"]


def test_a_failed_overwrite_leaves_the_old_data(tmp_path: Path) -> None:
    cat = catalog("overwrite", "users")
    write(tmp_path, cat, record("users", {"id": 1}))
    code, states, error = write(tmp_path, cat, record("users", {"id": 2}), b"oops\n", state("users", 1))
    assert (code, states) == (1, [])
    assert error.message.startswith("input line 2 is not a protocol message: JSON is malformed")
    assert data(tmp_path, "users") == [{"id": 1}]
    assert os.listdir(tmp_path / "out") == ["users.jsonl"]


def test_append_adds_to_the_file(tmp_path: Path) -> None:
    cat = catalog("append", "users")
    write(tmp_path, cat, record("users", {"id": 1}))
    write(tmp_path, cat, record("users", {"id": 2}), record("users", {"id": 3}))
    assert data(tmp_path, "users") == [{"id": 1}, {"id": 2}, {"id": 3}]


def test_append_drops_a_line_cut_short_by_a_killed_write(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "users.jsonl").write_bytes(b'{"_airbyte_data":{"id":1}}\n{"_airbyte_data":{"i')
    write(tmp_path, catalog("append", "users"), record("users", {"id": 2}))
    assert data(tmp_path, "users") == [{"id": 1}, {"id": 2}]


def test_append_echoes_state_once_the_data_is_on_disk(tmp_path: Path) -> None:
    with start(tmp_path, catalog("append", "users")) as process:
        assert process.stdin is not None
        process.stdin.write(record("users", {"id": 1}) + state("users", 1))
        process.stdin.flush()
        # the input pauses, so the state is committed and echoed without waiting for the end
        assert ready(process, 10)
        assert process.stdout.readline() == state("users", 1)
        assert data(tmp_path, "users") == [{"id": 1}]
        process.stdin.write(record("users", {"id": 2}) + state("users", 2))
        process.stdin.close()
        assert process.stdout.read() == state("users", 2)
        assert process.wait(10) == 0


def test_every_state_is_echoed_in_order(tmp_path: Path) -> None:
    cat = catalog("append", "users", "orders")
    lines = []
    for n in range(200):
        lines += [record("users", {"id": n}), record("orders", {"id": n}), state("users" if n % 2 else "orders", n)]
    code, states, _ = write(tmp_path, cat, *lines)
    assert code == 0
    assert states == [line for line in lines if b'"STATE"' in line]
    assert len(data(tmp_path, "orders")) == 200


def test_overwrite_echoes_the_latest_state_of_each_stream_at_the_end(tmp_path: Path) -> None:
    cat = catalog("overwrite", "users", "orders")
    lines = [record("users", {}), state("users", 1), state("orders", 1), state("users", 2), record("orders", {}), state("orders", 2)]
    code, states, _ = write(tmp_path, cat, *lines)
    assert (code, states) == (0, [state("users", 2), state("orders", 2)])


def test_many_blocks_of_mixed_lines_keep_every_record_and_state(tmp_path: Path) -> None:
    # megabytes of input: lines are cut across reads, and each block mixes streams, logs and states
    cat = catalog("append", "users", "orders")
    lines, expected = [], {"users": [], "orders": []}
    for n in range(20_000):
        stream = "users" if n % 3 else "orders"
        payload = {"id": n, "pad": "x" * (n % 250)}
        lines.append(record(stream, payload, emitted_at=1_700_000_000_000 + n))
        expected[stream].append(payload)
        if n % 997 == 0:
            lines += [b'{"type":"LOG","log":{"level":"INFO","message":"at %d"}}\n' % n, state(stream, n)]
    code, states, _ = write(tmp_path, cat, *lines)
    assert code == 0
    assert states == [line for line in lines if b'"STATE"' in line]
    assert data(tmp_path, "users") == expected["users"] and data(tmp_path, "orders") == expected["orders"]
    written = rows(tmp_path, "users") + rows(tmp_path, "orders")
    assert len({row["_airbyte_ab_id"] for row in written}) == 20_000
    assert sorted(row["_airbyte_emitted_at"] for row in written) == list(range(1_700_000_000_000, 1_700_000_020_000))


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    code, states, _ = write(
        tmp_path, catalog("append", "users"), record("users", {"id": 1}), b"\n  \n", record("users", {"id": 2}), state("users", 1)
    )
    assert (code, states) == (0, [state("users", 1)])
    assert data(tmp_path, "users") == [{"id": 1}, {"id": 2}]


def test_two_messages_on_one_line_fail_the_write(tmp_path: Path) -> None:
    both = record("users", {"id": 2}).strip() + b" " + record("users", {"id": 3})
    code, _, error = write(tmp_path, catalog("append", "users"), record("users", {"id": 1}), both)
    assert code == 1
    assert error.message.startswith("input line 2 is not a protocol message: JSON is malformed: trailing characters")


def test_a_record_without_emitted_at_gets_the_time_it_was_written(tmp_path: Path) -> None:
    before = time.time() * 1000
    line = b'{"type":"RECORD","record":{"stream":"users","data":{"id":1}}}\n'
    code, _, _ = write(tmp_path, catalog("append", "users"), line, record("users", {"id": 2}, emitted_at=5))
    assert code == 0
    first, second = rows(tmp_path, "users")
    assert before <= first["_airbyte_emitted_at"] <= time.time() * 1000
    assert second["_airbyte_emitted_at"] == 5


def test_append_dedup_keeps_the_latest_record_per_key(tmp_path: Path) -> None:
    cat = catalog("append_dedup", "users", primary_key=[["id"]], cursor=["meta", "updated"])

    def user(id: int, name: str, updated: int | None) -> bytes:
        return record("users", {"id": id, "name": name, "meta": {"updated": updated}})

    write(tmp_path, cat, user(1, "ada", 1), user(2, "bob", 1), user(3, "cy", 5), user(5, "eve", 1))
    code, _, _ = write(
        tmp_path, cat, user(2, "bob2", 2), user(3, "stale", 4), user(4, "dan", 1), user(2, "bob3", 2), user(5, "no cursor", None)
    )
    assert code == 0
    assert [(u["id"], u["name"]) for u in data(tmp_path, "users")] == [(1, "ada"), (3, "cy"), (5, "eve"), (4, "dan"), (2, "bob3")]


def test_append_dedup_needs_a_primary_key(tmp_path: Path) -> None:
    code, _, error = write(tmp_path, catalog("append_dedup", "users"), record("users", {"id": 1}))
    assert code == 1
    assert error.message == "stream users is append_dedup but has no primary key"
    assert error.failure_type.value == "config_error"


def test_records_of_unknown_streams_fail_the_write(tmp_path: Path) -> None:
    code, _, error = write(tmp_path, catalog("append", "users"), record("users", {}), record("orders", {}))
    assert code == 1
    assert error.message == "input line 2 is a record of stream 'orders', which is not in the catalog"


def test_a_path_outside_the_root_is_a_config_error(tmp_path: Path) -> None:
    with start(tmp_path / "root", catalog("append", "users"), path="../elsewhere") as process:
        [line] = [line for line in process if process.handle_line(line) is not None]
        assert process.wait(10) == 1
    assert process.trace_error.failure_type.value == "config_error"
    assert process.trace_error.message == f"destination_path: the path '../elsewhere' leads outside the local root {tmp_path / 'root'}"
    assert not (tmp_path / "elsewhere").exists()


def test_a_hostile_stream_name_stays_in_the_directory(tmp_path: Path) -> None:
    code, _, _ = write(tmp_path, catalog("append", "../../escape"), record("../../escape", {"id": 1}))
    assert code == 0
    assert os.listdir(tmp_path / "out") == ["_.._.._escape.jsonl"]


def test_check_creates_the_directory(tmp_path: Path) -> None:
    status = launcher(tmp_path).check({"destination_path": "/local/new/dir"})
    assert status.status is Status.SUCCEEDED
    assert (tmp_path / "new" / "dir").is_dir()
    assert os.listdir(tmp_path / "new" / "dir") == []
