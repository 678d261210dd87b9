"""The SQLite destination, run as a process writing a database file under a temporary local root."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from suitekit import wait_until

from airpipe.connectors import registry
from airpipe.connectors.launcher import Launcher
from airpipe.protocol import Status

CONFIG = {"destination_path": "/local/data/airbyte.db"}
USERS = {"id": {"type": "integer"}, "name": {"type": ["null", "string"]}}
NULLED = {"change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"}


@pytest.fixture
def launcher(tmp_path: Path) -> Launcher:
    return Launcher(
        registry.resolve(registry.SQLITE_DESTINATION.docker_repository),
        env={"AIRPIPE_LOCAL_ROOT": str(tmp_path)},
        kill_grace=10,
        timeout=60,
    )


class Database:
    def __init__(self, path: Path) -> None:
        self.path = path

    def query(self, statement: str, *args: Any) -> list[tuple[Any, ...]]:
        connection = sqlite3.connect(self.path)
        try:
            return connection.execute(statement, args).fetchall()
        finally:
            connection.close()

    def rows(self, table: str, columns: str = "id, name", order: str = "id") -> list[tuple[Any, ...]]:
        return self.query(f'SELECT {columns} FROM "{table}" ORDER BY {order}')

    def tables(self) -> list[str]:
        return [r[0] for r in self.query("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY 1")]

    def types(self, table: str) -> dict[str, str]:
        return dict(self.query("SELECT name, type FROM pragma_table_info(?)", table))


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "data" / "airbyte.db")


def meta(*fields: str) -> str:
    changes = ",".join(f'{{"field":"{f}","change":"NULLED","reason":"DESTINATION_TYPECAST_ERROR"}}' for f in fields)
    return f'{{"changes":[{changes}]}}'


# SPEC AND CHECK


def test_spec_is_a_json_schema(launcher: Launcher) -> None:
    spec = launcher.spec()
    jsonschema.Draft7Validator.check_schema(spec.connection_specification)
    assert spec.connection_specification["properties"]["destination_path"]["format"] == "local-path"
    assert [m.value for m in spec.supported_destination_sync_modes or []] == ["overwrite", "append", "append_dedup"]


def test_check_opens_the_database(launcher: Launcher, db: Database) -> None:
    status = launcher.check(CONFIG)
    assert (status.status, status.message) == (Status.SUCCEEDED, None)
    assert db.path.exists() and db.tables() == []


def test_check_a_path_outside_the_root(launcher: Launcher, tmp_path: Path) -> None:
    status = launcher.check({"destination_path": "../elsewhere.db"})
    assert (status.status, status.message) == (
        Status.FAILED,
        f"destination_path: the path '../elsewhere.db' leads outside the local root {tmp_path.resolve()}",
    )
    assert not (tmp_path.parent / "elsewhere.db").exists()


def test_check_a_directory(launcher: Launcher, tmp_path: Path) -> None:
    status = launcher.check({"destination_path": "/local"})
    assert status.status is Status.FAILED
    assert status.message == f"cannot open the database {tmp_path.resolve()}: unable to open database file"


# TYPES AND NAMES


def test_columns_are_typed_from_the_schema(launcher: Launcher, db: Database, wire: Any) -> None:
    properties = {
        "s": {"type": "string"},
        "ts": {"type": "string", "format": "date-time"},
        "d": {"type": "string", "format": "date"},
        "i": {"type": "integer"},
        "n": {"type": "number"},
        "b": {"type": "boolean"},
        "o": {"type": "object"},
        "a": {"type": "array"},
        "any": {},
    }
    data = {"s": "text", "ts": "2024-05-06T07:08:09.5+02:00", "d": "2024-05-06", "i": 2**63 - 1, "n": 0.5, "b": True}
    data |= {"o": {"x": 1}, "a": [1, "2"], "any": "s"}
    cat = {"streams": [wire.stream("typed", "append", properties)]}
    assert wire.write(launcher, CONFIG, cat, wire.record("typed", data, 1700000000123))[0] == 0
    assert db.types("typed") == {
        "_airbyte_raw_id": "TEXT",
        "_airbyte_extracted_at": "TEXT",
        "_airbyte_meta": "TEXT",
        "s": "TEXT",
        "ts": "TEXT",
        "d": "TEXT",
        "i": "INTEGER",
        "n": "REAL",
        "b": "INTEGER",
        "o": "TEXT",
        "a": "TEXT",
        "any": "TEXT",
    }
    [row] = db.query("SELECT * FROM typed")
    assert len(row[0]) == 36 and row[1:] == (
        "2023-11-14T22:13:20.123Z",
        '{"changes":[]}',
        "text",
        "2024-05-06T07:08:09.500000+02:00",
        "2024-05-06",
        2**63 - 1,
        0.5,
        1,
        '{"x": 1}',
        '[1, "2"]',
        '"s"',
    )


def test_values_that_do_not_fit_go_null_and_are_noted(launcher: Launcher, db: Database, wire: Any) -> None:
    properties = {"id": {"type": "integer"}, "i": {"type": "integer"}, "n": {"type": "number"}, "b": {"type": "boolean"}}
    properties |= {"ts": {"type": "string", "format": "date-time"}, "o": {"type": "object"}, "s": {"type": "string"}}
    good = {"id": 1, "i": 3.0, "n": 10**30, "b": False, "ts": "2024-01-01", "o": {}, "s": 1.5}
    bad = {"id": 2, "i": "3", "n": [], "b": 0, "ts": "2024-02-30T00:00:00Z", "o": "{}", "s": None}
    cat = {"streams": [wire.stream("mixed", "append", properties)]}
    assert wire.write(launcher, CONFIG, cat, wire.record("mixed", good), wire.record("mixed", bad))[0] == 0
    assert db.rows("mixed", "id, i, n, b, ts, o, s, _airbyte_meta") == [
        (1, 3, 1e30, 0, "2024-01-01T00:00:00", "{}", "1.5", meta()),
        (2, None, None, None, None, None, None, meta("i", "n", "b", "ts", "o")),
    ]


def test_text_keeps_every_character_but_nul(launcher: Launcher, db: Database, wire: Any) -> None:
    tricky = ["tab\there", "new\nline\r\n", 'quote " and \\ backslash', "null", "", "é ñ 中文 🎉", "\x01\x1f\x7f", "\\u0000"]
    cat = {"streams": [wire.stream("texts", "append", {"id": {"type": "integer"}, "s": {"type": "string"}})]}
    lines = [wire.record("texts", {"id": i, "s": s}) for i, s in enumerate(tricky)]
    assert wire.write(launcher, CONFIG, cat, *lines, wire.record("texts", {"id": 99, "s": "a\x00b"}))[0] == 0
    assert db.rows("texts", "s, _airbyte_meta") == [(s, meta()) for s in tricky] + [
        ("ab", '{"changes":[{"field":"s","change":"TRUNCATED","reason":"DESTINATION_SERIALIZATION_ERROR"}]}')
    ]


def test_rows_converted_one_by_one_among_many_in_bulk(launcher: Launcher, db: Database, wire: Any) -> None:
    properties = {"id": {"type": "integer"}, "s": {"type": "string"}, "n": {"type": "integer"}}
    lines = [wire.record("mixed", {"id": i, "s": f"s{i}", "n": i}) for i in range(300)]
    lines[100] = wire.record("mixed", {"id": 100, "s": "a\x00b", "n": 100})
    lines[200] = wire.record("mixed", {"id": 200, "s": "x", "n": "bad"})
    cat = {"streams": [wire.stream("mixed", "append", properties)]}
    assert wire.write(launcher, {**CONFIG, "batch_size": 120}, cat, *lines)[0] == 0
    rows = db.rows("mixed", "id, s, n, _airbyte_meta")
    truncated = '{"changes":[{"field":"s","change":"TRUNCATED","reason":"DESTINATION_SERIALIZATION_ERROR"}]}'
    assert rows[100] == (100, "ab", 100, truncated)
    assert rows[200] == (200, "x", None, meta("n"))
    assert [r for i, r in enumerate(rows) if i not in (100, 200)] == [(i, f"s{i}", i, meta()) for i in range(300) if i not in (100, 200)]
    ids = [r[0] for r in db.query('SELECT id FROM mixed ORDER BY "_airbyte_raw_id"')]
    assert ids == list(range(300))  # raw ids count up in the order of the input, however a row was read


def test_any_name_works(launcher: Launcher, db: Database, wire: Any) -> None:
    properties = {"Mixed Case": {}, 'with "quotes"': {}, "ünï ✓": {}, "ID": {}, "id": {}, "_AIRBYTE_META": {}, "": {}}
    stream = 'My "Stream"; DROP TABLE x;'
    data = {name: i for i, name in enumerate(properties)}
    code, _, error = wire.write(launcher, CONFIG, {"streams": [wire.stream(stream, "append", properties)]}, wire.record(stream, data))
    assert (code, error) == (0, None)
    assert db.tables() == [stream]
    names = ["Mixed Case", 'with "quotes"', "ünï ✓", "ID", "id_2", "_AIRBYTE_META_2", "_"]
    assert list(db.types(stream))[3:] == names
    quoted = ", ".join('"' + n.replace('"', '""') + '"' for n in names)
    assert db.query(f'SELECT {quoted} FROM "{stream.replace(chr(34), 2 * chr(34))}"') == [("0", "1", "2", "3", "4", "5", "6")]


def test_streams_on_the_same_table_are_refused(launcher: Launcher, db: Database, wire: Any) -> None:
    code, _, error = wire.write(launcher, CONFIG, wire.catalog("append", "Users", "users"))
    assert code == 1
    assert error.message == "streams 'Users' and 'users' would both write to table users"


def test_a_schemaless_stream_is_kept_whole(launcher: Launcher, db: Database, wire: Any) -> None:
    assert wire.write(launcher, CONFIG, {"streams": [wire.stream("blobs", "append")]}, wire.record("blobs", {"a": [1, None]}))[0] == 0
    assert db.rows("blobs", "_airbyte_data", "1") == [('{"a": [1, null]}',)]


# SYNC MODES


def test_append_adds_rows_and_new_columns(launcher: Launcher, db: Database, wire: Any) -> None:
    assert wire.write(launcher, CONFIG, wire.catalog("append", "users"), wire.record("users", {"id": 1, "name": "unknown"}))[0] == 0
    cat = wire.catalog("append", "users", properties=USERS)
    assert wire.write(launcher, CONFIG, cat, wire.record("users", {"id": 2, "name": "bob"}))[0] == 0
    assert db.rows("users") == [(1, None), (2, "bob")]


def test_an_existing_column_keeps_its_type(launcher: Launcher, db: Database, wire: Any) -> None:
    assert wire.write(launcher, CONFIG, wire.catalog("append", "users"), wire.record("users", {"id": 1}))[0] == 0
    as_string = wire.catalog("append", "users", properties={"id": {"type": "string"}})
    assert wire.write(launcher, CONFIG, as_string, wire.record("users", {"id": "two"}))[0] == 0
    assert db.types("users")["id"] == "INTEGER"
    assert db.rows("users", "id, _airbyte_meta", "rowid") == [(1, meta()), (None, meta("id"))]


def test_overwrite_replaces_the_table(launcher: Launcher, db: Database, wire: Any) -> None:
    cat = wire.catalog("overwrite", "users", "empty", properties=USERS)
    assert wire.write(launcher, CONFIG, cat, wire.record("users", {"id": 1}), wire.record("empty", {"id": 1}))[0] == 0
    code, states, _ = wire.write(launcher, CONFIG, cat, wire.record("users", {"id": 2, "name": "new"}), wire.state("users", 1))
    assert (code, states) == (0, [wire.state("users", 1)])
    assert db.rows("users") == [(2, "new")]
    assert db.rows("empty") == []
    assert db.tables() == ["empty", "users"]


def test_overwrite_keeps_the_views_of_the_table(launcher: Launcher, db: Database, wire: Any) -> None:
    cat = wire.catalog("overwrite", "users", properties=USERS)
    assert wire.write(launcher, CONFIG, cat, wire.record("users", {"id": 1}))[0] == 0
    db.query("CREATE VIEW names AS SELECT id, name FROM users")
    assert wire.write(launcher, CONFIG, cat, wire.record("users", {"id": 2, "name": "new"}))[0] == 0
    assert db.rows("names") == [(2, "new")]


def test_a_killed_overwrite_leaves_the_old_table(launcher: Launcher, db: Database, wire: Any) -> None:
    cat = wire.catalog("overwrite", "users", properties=USERS)
    assert wire.write(launcher, CONFIG, cat, wire.record("users", {"id": 1, "name": "old"}))[0] == 0
    with launcher.write({**CONFIG, "batch_size": 100}, cat) as process:
        assert process.stdin is not None
        process.stdin.write(b"".join(wire.record("users", {"id": n}) for n in range(1000)) + wire.state("users", 1))
        process.stdin.flush()
        count = 'SELECT count(*) FROM "_airbyte_tmp_users"'
        wait_until(lambda: "_airbyte_tmp_users" in db.tables() and db.query(count)[0][0], 20, "rows loaded into the staging table")
        assert not wire.ready(process, 0.3)  # an overwrite's state waits for the swap
        assert db.rows("users") == [(1, "old")]
        process.kill()
        assert process.wait(10) == 143
    assert db.rows("users") == [(1, "old")]
    assert db.tables() == ["users"]


def test_a_failed_overwrite_leaves_the_old_table(launcher: Launcher, db: Database, wire: Any) -> None:
    cat = wire.catalog("overwrite", "users", properties=USERS)
    assert wire.write(launcher, CONFIG, cat, wire.record("users", {"id": 1, "name": "old"}))[0] == 0
    code, states, error = wire.write(launcher, CONFIG, cat, wire.record("users", {"id": 2}), b"oops\n", wire.state("users", 1))
    assert (code, states) == (1, [])
    assert error.message.startswith("input line 2 is not a protocol message: JSON is malformed")
    assert db.rows("users") == [(1, "old")]
    assert db.tables() == ["users"]


def test_an_orphaned_write_commits_nothing(launcher: Launcher, db: Database, wire: Any, tmp_path: Path) -> None:
    cat = wire.catalog("overwrite", "users", properties=USERS)
    assert wire.write(launcher, CONFIG, cat, wire.record("users", {"id": 1, "name": "old"}))[0] == 0
    lines = [wire.record("users", {"id": 2, "name": "partial"}), wire.state("users", 1)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AIRPIPE_LOCAL_ROOT", str(tmp_path))
        wire.orphaned_write(launcher.command, CONFIG, cat, tmp_path, lines, lambda: "_airbyte_tmp_users" in db.tables())
    assert db.rows("users") == [(1, "old")]
    assert db.tables() == ["users"]


def test_append_dedup_keeps_the_latest_record_per_key(launcher: Launcher, db: Database, wire: Any) -> None:
    properties = {"id": {"type": "integer"}, "name": {"type": "string"}, "meta": {"type": "object"}}
    cat = wire.catalog("append_dedup", "users", properties=properties, primary_key=[["id"]], cursor=["meta", "updated"])

    def user(id: int, name: str, updated: int | None) -> bytes:
        return wire.record("users", {"id": id, "name": name, "meta": {"updated": updated}})

    first = [user(1, "ada", 1), user(2, "bob", 1), user(3, "cy", 5), user(5, "eve", 1), user(6, "fay", None)]
    assert wire.write(launcher, CONFIG, cat, *first)[0] == 0
    assert db.rows("users") == [(1, "ada"), (2, "bob"), (3, "cy"), (5, "eve"), (6, "fay")]
    lines = [user(2, "bob2", 2), user(3, "stale", 4), user(4, "dan", 1), user(2, "bob3", 2), user(5, "no cursor", None)]
    lines.append(user(6, "fay2", None))
    for batch_size in (1000, 2):  # one batch, and merges across batches
        assert wire.write(launcher, {**CONFIG, "batch_size": batch_size}, cat, *lines)[0] == 0
        assert db.rows("users") == [(1, "ada"), (2, "bob3"), (3, "cy"), (4, "dan"), (5, "eve"), (6, "fay2")]


def test_append_dedup_on_a_composite_key_with_nulls(launcher: Launcher, db: Database, wire: Any) -> None:
    properties = {"k1": {"type": "string"}, "k2": {"type": "integer"}, "name": {"type": "string"}, "at": {"type": "integer"}}
    cat = wire.catalog("append_dedup", "t", properties=properties, primary_key=[["k1"], ["k2"]], cursor=["at"])

    def row(k1: str | None, k2: int, name: str, at: int | None) -> bytes:
        return wire.record("t", {"k1": k1, "k2": k2, "name": name, "at": at})

    lines = [row("a", 1, "first", 5), row("a", 2, "other", None), row(None, 1, "null key", None), row("a", 1, "older", 4)]
    lines += [row("a", 1, "tie", 5), row(None, 1, "null key 2", None)]
    assert wire.write(launcher, CONFIG, cat, *lines)[0] == 0
    assert db.rows("t", "k1, k2, name", "k1 IS NULL, k1, k2") == [("a", 1, "tie"), ("a", 2, "other"), (None, 1, "null key 2")]


def test_append_dedup_needs_a_primary_key(launcher: Launcher, wire: Any) -> None:
    code, _, error = wire.write(launcher, CONFIG, wire.catalog("append_dedup", "users"), wire.record("users", {"id": 1}))
    assert code == 1
    assert (error.message, error.failure_type.value) == ("stream users is append_dedup but has no primary key", "config_error")


# STATES


def test_a_state_is_echoed_once_the_rows_before_it_are_committed(launcher: Launcher, db: Database, wire: Any) -> None:
    with launcher.write(CONFIG, wire.catalog("append", "users")) as process:
        assert process.stdin is not None
        process.stdin.write(b"".join(wire.record("users", {"id": n}) for n in range(500)) + wire.state("users", 1))
        process.stdin.flush()
        assert wire.ready(process, 20)
        assert process.stdout.readline() == wire.state("users", 1)
        assert db.query("SELECT count(*) FROM users") == [(500,)]
        process.stdin.write(wire.record("users", {"id": 500}) + wire.state("users", 2))
        process.stdin.close()
        assert process.stdout.read() == wire.state("users", 2)
        assert process.wait(10) == 0
    assert db.query("SELECT count(*) FROM users") == [(501,)]


def test_every_state_is_echoed_in_order_across_batches(launcher: Launcher, db: Database, wire: Any) -> None:
    lines = []
    for n in range(300):
        lines += [wire.record("users", {"id": n}), wire.record("orders", {"id": n}), wire.state("users" if n % 2 else "orders", n)]
    code, states, _ = wire.write(launcher, {**CONFIG, "batch_size": 7}, wire.catalog("append", "users", "orders"), *lines)
    assert code == 0
    assert states == [line for line in lines if b'"STATE"' in line]
    assert db.query("SELECT count(*), count(DISTINCT id) FROM orders") == [(300, 300)]


def test_overwrite_states_wait_for_the_swap(launcher: Launcher, wire: Any) -> None:
    cat = {"streams": [wire.stream("users", "overwrite", USERS), wire.stream("orders", "append", USERS)]}
    lines = [wire.record("users", {"id": 1}), wire.state("users", 1), wire.state("orders", 1), wire.state(None, 1), wire.state("users", 2)]
    code, states, _ = wire.write(launcher, CONFIG, cat, *lines)
    assert (code, states) == (0, [wire.state("orders", 1), wire.state(None, 1), wire.state("users", 2)])


def test_records_of_unknown_streams_fail_the_write(launcher: Launcher, wire: Any) -> None:
    code, _, error = wire.write(launcher, CONFIG, wire.catalog("append", "users"), wire.record("users", {"id": 1}), wire.record("x", {}))
    assert code == 1
    assert error.message == "input line 2 is a record of stream 'x', which is not in the catalog"
