"""The PostgreSQL source, run as a real process against the test server (see tests/conftest.py).

Each test module gets two schemas of its own in the session's database, dropped at the end."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from airpipe.connectors import registry
from airpipe.connectors.launcher import Launcher
from airpipe.connectors.pg import scrub
from airpipe.protocol import AirbyteStateMessage, MessageType
from airpipe.sources.postgres import Checkpoints, Table, saved_cursor, states_by_stream

pytestmark = pytest.mark.postgres


class Db:
    def __init__(self, url: str, schema: str, other: str) -> None:
        import psycopg2.extensions

        self.url = url
        self.schema = schema  # the one the tests read
        self.other = other  # a second schema, never in the config unless a test says so
        dsn = psycopg2.extensions.parse_dsn(url)
        self.config = {
            "host": dsn.get("host", "127.0.0.1"),
            "port": int(dsn.get("port", 5432)),
            "database": dsn["dbname"],
            "username": dsn.get("user", "postgres"),
            "password": dsn.get("password", "not-needed"),
            "schemas": [schema],
            "ssl_mode": "disable",
        }

    def execute(self, statements: str, params: Any = None) -> None:
        import psycopg2

        conn = psycopg2.connect(self.url)
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute(f"SET search_path TO {self.schema}; " + statements, params)
        finally:
            conn.close()


@pytest.fixture(scope="module")
def db(postgres_url: str) -> Iterator[Db]:
    suffix = uuid.uuid4().hex[:8]
    database = Db(postgres_url, f"src_{suffix}", f"src_{suffix}_other")
    database.execute(f"CREATE SCHEMA {database.schema}; CREATE SCHEMA {database.other}")
    try:
        yield database
    finally:
        database.execute(f"DROP SCHEMA {database.schema} CASCADE; DROP SCHEMA {database.other} CASCADE")


@pytest.fixture
def source(logs: Any) -> Launcher:
    return Launcher(registry.resolve(registry.POSTGRES_SOURCE.docker_repository), on_log=logs, timeout=60)


class Read(msgspec.Struct):
    records: list[dict[str, Any]]
    states: list[dict[str, Any]]  # the STATE messages' "state" objects
    exit_code: int
    error: Any = None
    streams: set[tuple[str, str | None]] = set()

    def ids(self) -> list[Any]:
        return [record["id"] for record in self.records]

    def cursors(self) -> list[Any]:
        return [state["stream"]["stream_state"].get("cursor") for state in self.states]


def read(source: Launcher, config: dict[str, Any], catalog: dict[str, Any], state: Any = None) -> Read:
    result = Read([], [], -1, None, set())
    with source.read(config, catalog, state) as process:
        for line in process:
            message = process.handle_line(line)
            if message is None:
                continue
            if message.type is MessageType.RECORD:
                assert message.record is not None
                result.records.append(message.record.data)
                result.streams.add((message.record.stream, message.record.namespace))
            elif message.type is MessageType.STATE:
                result.states.append(msgspec.json.decode(line)["state"])
        result.exit_code = process.wait(60)
        result.error = process.trace_error
    return result


def catalog(
    source: Launcher, config: dict[str, Any], table: str, sync_mode: str = "full_refresh", cursor: str | None = None
) -> dict[str, Any]:
    streams = {s.name: s for s in source.discover(config).streams}
    configured: dict[str, Any] = {
        "stream": msgspec.json.decode(msgspec.json.encode(streams[table])),
        "sync_mode": sync_mode,
        "destination_sync_mode": "append",
    }
    if cursor is not None:
        configured["cursor_field"] = [cursor]
    return {"streams": [configured]}


# DISCOVER


def test_spec_marks_the_password_secret(source: Launcher) -> None:
    properties = source.spec().connection_specification["properties"]
    assert properties["password"]["airbyte_secret"] is True
    assert properties["ssl_mode"]["default"] == "prefer"
    assert properties["schemas"]["default"] == ["public"]


def test_discover_maps_types_keys_views_and_schemas(source: Launcher, db: Db) -> None:
    db.execute(
        f"""
        CREATE TYPE mood AS ENUM ('sad', 'happy');
        CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
        CREATE TABLE kinds (
            a smallint NOT NULL, b integer NOT NULL, c bigint, d numeric(10, 2), e real, f double precision,
            g boolean, h text, i varchar(10), j char(3), k uuid, l timestamptz, m timestamp, n date, o json,
            p jsonb, q integer[], r text[], s bytea, t interval, u mood, v positive, w time,
            PRIMARY KEY (b, a)
        );
        CREATE VIEW kinds_view AS SELECT b, h FROM kinds;
        CREATE MATERIALIZED VIEW kinds_matview AS SELECT a FROM kinds;
        CREATE TABLE {db.other}.hidden (id integer PRIMARY KEY);
        """
    )
    streams = {s.name: s for s in source.discover(db.config).streams}
    assert {"kinds", "kinds_view", "kinds_matview"} <= set(streams)
    assert "hidden" not in streams
    kinds = streams["kinds"]
    assert kinds.namespace == db.schema
    assert kinds.source_defined_primary_key == [["b"], ["a"]]
    assert [m.value for m in kinds.supported_sync_modes] == ["full_refresh", "incremental"]
    assert kinds.source_defined_cursor is False
    assert kinds.json_schema["properties"] == {
        "a": {"type": "integer"},
        "b": {"type": "integer"},
        "c": {"type": ["null", "integer"]},
        "d": {"type": ["null", "number"]},
        "e": {"type": ["null", "number"]},
        "f": {"type": ["null", "number"]},
        "g": {"type": ["null", "boolean"]},
        "h": {"type": ["null", "string"]},
        "i": {"type": ["null", "string"]},
        "j": {"type": ["null", "string"]},
        "k": {"type": ["null", "string"]},
        "l": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_with_timezone"},
        "m": {"type": ["null", "string"], "format": "date-time", "airbyte_type": "timestamp_without_timezone"},
        "n": {"type": ["null", "string"], "format": "date"},
        "o": {},
        "p": {},
        # an element, or a nested array: int[] also holds {{1,2},{3,4}}
        "q": {"type": ["null", "array"], "items": {"anyOf": [{"type": ["null", "integer"]}, {"type": "array"}]}},
        "r": {"type": ["null", "array"], "items": {"anyOf": [{"type": ["null", "string"]}, {"type": "array"}]}},
        "s": {"type": ["null", "string"]},
        "t": {"type": ["null", "string"]},
        "u": {"type": ["null", "string"]},
        "v": {"type": ["null", "integer"]},
        "w": {"type": ["null", "string"], "format": "time", "airbyte_type": "time_without_timezone"},
    }
    view = streams["kinds_view"]
    assert view.source_defined_primary_key is None
    assert view.json_schema["properties"] == {"b": {"type": ["null", "integer"]}, "h": {"type": ["null", "string"]}}

    both = {(s.namespace, s.name) for s in source.discover({**db.config, "schemas": [db.schema, db.other]}).streams}
    assert (db.other, "hidden") in both and (db.schema, "kinds") in both


# FULL REFRESH


def test_full_refresh_reads_exact_values(source: Launcher, db: Db) -> None:
    db.execute(
        """
        CREATE TABLE exact (
            id integer PRIMARY KEY, amount numeric(12, 4), ratio double precision, flag boolean, label text,
            at timestamptz, local_at timestamp, day date, doc jsonb, raw json, tags text[], uid uuid
        );
        INSERT INTO exact VALUES
            (1, 12.5, 0.1, true, E'quote " backslash \\\\ tab \t newline \n é 😀', '2024-03-01 12:34:56.789+02',
             '2024-03-01 12:34:56', '2024-03-01', '{"b": [1, 2], "a": null}', E'{"x" :\n 1,\t"y": "\\\\n"}',
             ARRAY['a', NULL, 'c\\d'], 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
            (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
        """
    )
    result = read(source, db.config, catalog(source, db.config, "exact"))
    assert result.exit_code == 0, result.error
    assert result.streams == {("exact", db.schema)}
    assert sorted(result.records, key=lambda r: r["id"]) == [
        {
            "id": 1,
            "amount": 12.5,
            "ratio": 0.1,
            "flag": True,
            "label": 'quote " backslash \\ tab \t newline \n é 😀',
            "at": "2024-03-01T10:34:56.789+00:00",
            "local_at": "2024-03-01T12:34:56",
            "day": "2024-03-01",
            "doc": {"a": None, "b": [1, 2]},
            "raw": {"x": 1, "y": "\n"},  # a json value with a line break between its keys
            "tags": ["a", None, "c\\d"],
            "uid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        },
        {
            k: (2 if k == "id" else None)
            for k in ("id", "amount", "ratio", "flag", "label", "at", "local_at", "day", "doc", "raw", "tags", "uid")
        },
    ]
    assert result.states == []  # a full refresh has no cursor to save


def test_full_refresh_reads_views_and_only_the_selected_columns(source: Launcher, db: Db) -> None:
    db.execute(
        """
        CREATE TABLE wide (id integer PRIMARY KEY, keep text, drop_me text);
        INSERT INTO wide SELECT i, 'k' || i, 'd' || i FROM generate_series(1, 2500) i;
        CREATE VIEW wide_even AS SELECT id, keep FROM wide WHERE id % 2 = 0;
        """
    )
    view = read(source, db.config, catalog(source, db.config, "wide_even"))
    assert sorted(view.ids()) == list(range(2, 2501, 2))
    configured = catalog(source, db.config, "wide")
    del configured["streams"][0]["stream"]["json_schema"]["properties"]["drop_me"]
    table = read(source, db.config, configured)
    assert sorted(table.ids()) == list(range(1, 2501))
    assert all(set(record) == {"id", "keep"} for record in table.records)


def test_several_streams_in_one_read(source: Launcher, db: Db) -> None:
    db.execute(
        f"""
        CREATE TABLE first (id integer PRIMARY KEY); INSERT INTO first SELECT generate_series(1, 3);
        CREATE TABLE {db.other}.first (id integer PRIMARY KEY); INSERT INTO {db.other}.first SELECT generate_series(10, 11);
        """
    )
    config = {**db.config, "schemas": [db.schema, db.other]}
    mine = catalog(source, db.config, "first", "incremental", "id")["streams"]
    other = catalog(source, {**db.config, "schemas": [db.other]}, "first")["streams"]
    result = read(source, config, {"streams": mine + other})
    assert result.exit_code == 0, result.error
    assert result.streams == {("first", db.schema), ("first", db.other)}
    assert sorted(result.ids()) == [1, 2, 3, 10, 11]
    assert [s["stream"]["stream_descriptor"] for s in result.states] == [{"name": "first", "namespace": db.schema}]


def test_a_dropped_table_is_a_config_error(source: Launcher, db: Db) -> None:
    db.execute("CREATE TABLE doomed (id integer)")
    configured = catalog(source, db.config, "doomed")
    db.execute("DROP TABLE doomed")
    result = read(source, db.config, configured)
    assert result.exit_code == 1
    assert result.error.failure_type.value == "config_error"
    assert result.error.message == f"table {db.schema}.doomed does not exist or cannot be read; discover the schema again"


# INCREMENTAL


def test_incremental_resumes_with_new_and_updated_rows(source: Launcher, db: Db) -> None:
    db.execute(
        """
        CREATE TABLE events (id integer PRIMARY KEY, note text, updated_at timestamptz NOT NULL);
        INSERT INTO events SELECT i, 'v1', timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute'
        FROM generate_series(1, 50) i;
        """
    )
    configured = catalog(source, db.config, "events", "incremental", "updated_at")
    first = read(source, db.config, configured)
    assert first.exit_code == 0, first.error
    assert first.ids() == list(range(1, 51))  # in cursor order
    assert first.states[-1]["stream"] == {
        "stream_descriptor": {"name": "events", "namespace": db.schema},
        "stream_state": {"cursor": "2024-01-01 00:50:00+00", "cursor_field": ["updated_at"]},
    }

    db.execute(
        """
        INSERT INTO events SELECT i, 'v1', timestamptz '2024-01-01 00:00:00+00' + i * interval '1 minute'
        FROM generate_series(51, 55) i;
        UPDATE events SET note = 'v2', updated_at = timestamptz '2024-01-02 00:00:00+00' + id * interval '1 second'
        WHERE id IN (3, 30);
        """
    )
    second = read(source, db.config, configured, [first.states[-1]])
    assert second.ids() == [51, 52, 53, 54, 55, 3, 30]
    assert [r["note"] for r in second.records] == ["v1"] * 5 + ["v2", "v2"]
    assert second.cursors()[-1] == "2024-01-02 00:00:30+00"

    nothing = read(source, db.config, configured, [second.states[-1]])
    assert nothing.records == []
    assert nothing.states == second.states[-1:]


def test_state_every_n_records_never_splits_a_cursor_value(source: Launcher, db: Db, logs: Any) -> None:
    # cursor values 1..10, value v held by v rows: 55 rows, checkpoints wherever the value changes
    db.execute(
        """
        CREATE TABLE ties (id serial PRIMARY KEY, version bigint);
        INSERT INTO ties (version) SELECT v FROM generate_series(1, 10) v, generate_series(1, v) n ORDER BY random();
        INSERT INTO ties (version) VALUES (NULL), (NULL);
        """
    )
    configured = catalog(source, db.config, "ties", "incremental", "version")
    config = {**db.config, "state_every": 4}
    result = read(source, config, configured)
    assert result.exit_code == 0, result.error
    versions = [r["version"] for r in result.records]
    assert versions[:2] == [None, None]  # NULL cursors come first on a first sync
    assert versions[2:] == sorted(versions[2:]) and len(versions) == 57
    # a checkpoint is due every 4 records and waits for the end of its value: the 2 NULLs, 1 and the
    # first 2 make 4, so the next comes after the second 2; then after 3, 3, 3, 4 and the rest of the 4s ...
    assert result.cursors() == ["2", "4", "5", "6", "7", "8", "9", "10"]
    # resuming from any checkpoint yields exactly the rows above it
    for state in result.states[:-1]:
        resumed = read(source, config, configured, [state])
        above = int(state["stream"]["stream_state"]["cursor"])
        assert sorted(r["version"] for r in resumed.records) == [v for v in versions[2:] if v > above]
    assert f"{db.schema}.ties: 2 rows have a NULL version; later syncs skip such rows" in logs.at("WARN")


def test_checkpoints_across_batches(source: Launcher, db: Db) -> None:
    db.execute(
        """
        CREATE TABLE many (id integer PRIMARY KEY, amount numeric(10, 2));
        INSERT INTO many SELECT i, (i / 10)::numeric FROM generate_series(1, 30000) i;
        """
    )
    configured = catalog(source, db.config, "many", "incremental", "amount")
    result = read(source, {**db.config, "state_every": 7000}, configured)
    assert sorted(result.ids()) == list(range(1, 30001))
    # ten rows share each amount (0 holds 9): each checkpoint falls after the last of its value
    assert result.cursors() == ["700", "1400", "2100", "2800", "3000"]
    resumed = read(source, db.config, configured, [result.states[1]])
    assert sorted(resumed.ids()) == list(range(14010, 30001))


def test_legacy_and_global_state_are_accepted(source: Launcher, db: Db) -> None:
    db.execute("CREATE TABLE legacy (id integer PRIMARY KEY); INSERT INTO legacy SELECT generate_series(1, 10)")
    configured = catalog(source, db.config, "legacy", "incremental", "id")
    airbyte_legacy = {"streams": [{"stream_name": "legacy", "stream_namespace": db.schema, "cursor_field": ["id"], "cursor": "7"}]}
    assert read(source, db.config, configured, airbyte_legacy).ids() == [8, 9, 10]
    assert read(source, db.config, configured, {"legacy": {"cursor": 8, "cursor_field": ["id"]}}).ids() == [9, 10]
    global_state = [
        {
            "type": "GLOBAL",
            "global": {
                "stream_states": [{"stream_descriptor": {"name": "legacy", "namespace": db.schema}, "stream_state": {"cursor": "5"}}]
            },
        }
    ]
    assert read(source, db.config, configured, global_state).ids() == [6, 7, 8, 9, 10]


def test_a_state_for_another_cursor_reads_from_the_start(source: Launcher, db: Db, logs: Any) -> None:
    db.execute(
        "CREATE TABLE switched (id integer PRIMARY KEY, seq integer); INSERT INTO switched SELECT i, 100 - i FROM generate_series(1, 5) i"
    )
    configured = catalog(source, db.config, "switched", "incremental", "seq")
    state = [
        {
            "type": "STREAM",
            "stream": {
                "stream_descriptor": {"name": "switched", "namespace": db.schema},
                "stream_state": {"cursor": "3", "cursor_field": ["id"]},
            },
        }
    ]
    result = read(source, db.config, configured, state)
    assert result.ids() == [5, 4, 3, 2, 1]
    assert f"{db.schema}.switched: the state is for cursor ['id'], not ['seq']; reading from the start" in logs.at("WARN")


@pytest.mark.parametrize(
    ("cursor", "message"),
    [
        (None, "{schema}.pick is incremental: set its cursor_field to one column of an orderable type (id, name, at)"),
        ("doc", "{schema}.pick: the cursor field 'doc' is of type jsonb, which cannot be a cursor; choose one of: id, name, at"),
        ("nope", "{schema}.pick: the cursor field 'nope' is not a column; choose one of: id, name, at"),
    ],
)
def test_the_cursor_must_be_an_orderable_column(source: Launcher, db: Db, cursor: str | None, message: str) -> None:
    db.execute("CREATE TABLE IF NOT EXISTS pick (id integer, name text, doc jsonb, at date)")
    result = read(source, db.config, catalog(source, db.config, "pick", "incremental", cursor))
    assert result.exit_code == 1
    assert result.error.failure_type.value == "config_error"
    assert result.error.message == message.format(schema=db.schema)


def test_a_saved_cursor_of_the_wrong_type_is_a_config_error(source: Launcher, db: Db) -> None:
    db.execute("CREATE TABLE typed (id integer PRIMARY KEY); INSERT INTO typed VALUES (1)")
    configured = catalog(source, db.config, "typed", "incremental", "id")
    result = read(source, db.config, configured, {"typed": {"cursor": "yesterday", "cursor_field": ["id"]}})
    assert result.exit_code == 1
    assert result.error.failure_type.value == "config_error"
    assert result.error.message == (
        "the state's cursor 'yesterday' is not of type integer "
        '(invalid input syntax for type integer: "yesterday"); reset the connection\'s state'
    )


def test_odd_names_are_quoted(source: Launcher, db: Db) -> None:
    db.execute(
        """
        CREATE TABLE "Odd Table" (t integer, "select" text, "Mixed Case" date);
        INSERT INTO "Odd Table" VALUES (1, 'a', '2024-01-01'), (2, 'b', NULL);
        """
    )
    full = read(source, db.config, catalog(source, db.config, "Odd Table"))
    assert sorted(full.records, key=lambda r: r["t"]) == [
        {"t": 1, "select": "a", "Mixed Case": "2024-01-01"},
        {"t": 2, "select": "b", "Mixed Case": None},
    ]
    incremental = read(source, db.config, catalog(source, db.config, "Odd Table", "incremental", "t"), {"Odd Table": {"cursor": "1"}})
    assert incremental.records == [{"t": 2, "select": "b", "Mixed Case": None}]


# CHECK


def test_check_succeeds(source: Launcher, db: Db) -> None:
    assert source.check(db.config).status.value == "SUCCEEDED"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"port": 1}, "Connection refused"),
        ({"database": "no_such_database_here"}, 'database "no_such_database_here" does not exist'),
        ({"username": "no_such_role_here"}, 'role "no_such_role_here" does not exist'),
        ({"ssl_mode": "require"}, "server does not support SSL"),
        ({"schemas": ["no_such_schema_here"]}, "schema(s) no_such_schema_here not found in database"),
    ],
)
def test_check_failures_say_why_and_never_show_the_password(
    source: Launcher, db: Db, logs: Any, change: dict[str, Any], expected: str
) -> None:
    status = source.check({**db.config, "password": "hunter2-topsecret", **change})
    assert status.status.value == "FAILED"
    assert expected in (status.message or "")
    assert not any("hunter2" in message for _, message in logs)
    assert "hunter2" not in (status.message or "")


def test_scrub_hides_the_password() -> None:
    assert scrub('password "s3cr3t" rejected for s3cr3t', "s3cr3t") == 'password "****" rejected for ****'
    assert scrub("no secret here", None) == "no secret here"


def test_saved_cursor_reads_every_state_form() -> None:
    table = Table("s", "t", "r")
    stream = msgspec.json.decode(
        b'{"type": "STREAM", "stream": {"stream_descriptor": {"name": "t", "namespace": "s"}, "stream_state": {"cursor": "9"}}}',
        type=AirbyteStateMessage,
    )
    assert saved_cursor(states_by_stream([stream]), table, ["id"]) == ("9", None)
    assert saved_cursor({("t", None): {"cursor": 1.5}}, table, ["id"]) == ("1.5", None)
    assert saved_cursor({("t", "other"): {"cursor": "1"}}, table, ["id"]) == (None, None)


@pytest.mark.parametrize(
    ("batches", "state_every", "expected"),
    [
        # a value that goes on into the next batch holds its checkpoint back
        ([[b"1", b"1"], [b"1", b"2"]], 2, [["1", "1"], ["1"], "1", ["2"]]),
        ([[b"1", b"2"], [b"2"], [b"2", b"3"]], 2, [["1", "2"], ["2"], ["2"], "2", ["3"]]),
        # NULLs first, never a checkpoint of their own
        ([[None, None, b"1"], [b"2", b"3"]], 2, [["-", "-"], ["1"], "1", ["2", "3"]]),
        ([[b"1", b"2", b"3"]], 1, [["1"], "1", ["2"], "2", ["3"]]),
        ([[b"1", b"2", b"3"]], 10, [["1", "2", "3"]]),
    ],
)
def test_checkpoints_fall_where_the_cursor_changes(batches: list[list[bytes | None]], state_every: int, expected: list[Any]) -> None:
    checkpoints = Checkpoints(state_every)
    items: list[Any] = []
    for batch in batches:
        rows = [(cursor, (cursor or b"-")) for cursor in batch]
        items += [[r.decode() for r in item] if isinstance(item, list) else item.decode() for item in checkpoints.split(rows)]
    assert items == expected


# MEMORY

#: runs argv[2:] and writes its peak RSS (KB) and exit code to the file argv[1]
MEASURE = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
open(sys.argv[1], "w").write(f"{usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""


def test_memory_stays_flat_on_a_large_table(db: Db, tmp_path: Path) -> None:
    db.execute(
        """
        CREATE TABLE large AS SELECT i AS id, md5(i::text) || repeat('x', 200) AS pad, now() AS at FROM generate_series(1, 300000) i;
        """
    )
    config, catalog_file = tmp_path / "config.json", tmp_path / "catalog.json"
    config.write_bytes(msgspec.json.encode(db.config))
    schema = {"type": "object", "properties": {}}
    catalog_file.write_bytes(
        msgspec.json.encode({"streams": [{"stream": {"name": "large", "namespace": db.schema, "json_schema": schema}}]})
    )
    command = [sys.executable, "-m", "airpipe.sources.postgres", "read", "--config", str(config), "--catalog", str(catalog_file)]
    peak_file = tmp_path / "peak"
    # Started by a small process, not by pytest: a child's peak RSS counts the pages it shares
    # with its parent right after fork, and this pytest process is past 150 MB late in the suite.
    with subprocess.Popen([sys.executable, "-c", MEASURE, str(peak_file), *command], stdout=subprocess.PIPE) as process:
        assert process.stdout is not None
        lines = sum(1 for _ in process.stdout)
    assert process.returncode == 0
    peak_kb, code = map(int, peak_file.read_text().split())
    assert code == 0
    assert lines == 300000 + 1  # and one LOG
    # the issue's bound for a connector; ~70 MB measured
    assert peak_kb / 1024 < 150, f"peak RSS {peak_kb / 1024:.0f} MB"
