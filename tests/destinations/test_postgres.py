"""The PostgreSQL destination, run as a process against the test server (each test in a schema of its own)."""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
import uuid
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema
import msgspec
import pytest
from psycopg2 import sql
from suitekit import Logs, wait_until

from airpipe.connectors import registry
from airpipe.connectors.launcher import Launcher
from airpipe.destinations.loading.rows import RowCodec
from airpipe.destinations.loading.sql import Column, Kind, StreamSpec
from airpipe.destinations.postgres_copy import MIN_RUN, PgTable
from airpipe.protocol import DestinationSyncMode, Status

pytestmark = pytest.mark.postgres

USERS = {
    "id": {"type": "integer"},
    "name": {"type": ["null", "string"]},
    "updated": {"type": "string", "format": "date-time"},
}


@pytest.fixture
def launcher(logs: Logs) -> Launcher:
    return Launcher(registry.resolve(registry.POSTGRES_DESTINATION.docker_repository), on_log=logs, kill_grace=10, timeout=60)


class Database:
    """The test's schema on the session's database, and a connection to read it."""

    def __init__(self, url: str) -> None:
        import psycopg2

        parsed = urlparse(url)
        self.schema = f"dest_{uuid.uuid4().hex[:10]}"
        self.config: dict[str, Any] = {
            "host": parsed.hostname,
            "port": parsed.port or 5432,
            "database": parsed.path.lstrip("/"),
            "username": parsed.username or "postgres",
            "password": parsed.password or "",
            "schema": self.schema,
        }
        self.connection = psycopg2.connect(url)
        self.connection.autocommit = True

    def query(self, statement: str, *args: Any) -> list[tuple[Any, ...]]:
        with self.connection.cursor() as cursor:
            cursor.execute(statement, args)
            return cursor.fetchall() if cursor.description else []

    def rows(self, table: str, columns: str = "id, name", order: str = "id") -> list[tuple[Any, ...]]:
        return self.query(f'SELECT {columns} FROM "{self.schema}"."{table}" ORDER BY {order}')

    def tables(self) -> list[str]:
        return [r[0] for r in self.query("SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", self.schema)]

    def types(self, table: str) -> dict[str, str]:
        statement = "SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = %s AND table_name = %s"
        return dict(self.query(statement + " ORDER BY ordinal_position", self.schema, table))


@pytest.fixture
def db(postgres_url: str) -> Iterator[Database]:
    database = Database(postgres_url)
    try:
        yield database
    finally:
        for (schema,) in database.query("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", database.schema + "%"):
            database.query(f'DROP SCHEMA "{schema}" CASCADE')
        database.connection.close()


# SPEC AND CHECK


def test_spec_is_a_json_schema(launcher: Launcher) -> None:
    spec = launcher.spec()
    jsonschema.Draft7Validator.check_schema(spec.connection_specification)
    properties = spec.connection_specification["properties"]
    assert properties["password"]["airbyte_secret"] is True
    assert properties["ssl_mode"]["enum"] == ["disable", "allow", "prefer", "require", "verify-ca", "verify-full"]
    assert (properties["port"]["default"], properties["schema"]["default"], properties["ssl_mode"]["default"]) == (5432, "public", "prefer")
    assert [m.value for m in spec.supported_destination_sync_modes or []] == ["overwrite", "append", "append_dedup"]


def test_check_creates_a_table_and_leaves_nothing(launcher: Launcher, db: Database) -> None:
    status = launcher.check(db.config)
    assert (status.status, status.message) == (Status.SUCCEEDED, None)
    assert db.query("SELECT 1 FROM pg_namespace WHERE nspname = %s", db.schema) == []  # all rolled back


def test_check_an_unreachable_server(launcher: Launcher, db: Database) -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    status = launcher.check({**db.config, "port": port})
    assert status.status is Status.FAILED
    assert status.message is not None
    assert status.message.startswith(
        f"cannot connect to PostgreSQL at 127.0.0.1:{port}, database {db.config['database']}: connection to server"
    )
    assert "Connection refused" in status.message


def test_check_an_unknown_user(launcher: Launcher, db: Database) -> None:
    status = launcher.check({**db.config, "username": "no_such_user"})
    assert status.status is Status.FAILED
    assert status.message is not None and 'role "no_such_user" does not exist' in status.message


@pytest.fixture
def password_server() -> Iterator[int]:
    """A server that speaks just enough PostgreSQL to ask for a password and refuse it (the test
    server trusts everyone); returns its port."""
    server = socket.create_server(("127.0.0.1", 0))

    def read(conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                try:
                    while True:  # SSL and GSS requests are declined; then the startup message
                        body = read(conn, struct.unpack("!I", read(conn, 4))[0] - 4)
                        if struct.unpack("!I", body[:4])[0] not in (80877103, 80877104):
                            break
                        conn.sendall(b"N")
                    conn.sendall(b"R" + struct.pack("!II", 8, 3))  # AuthenticationCleartextPassword
                    read(conn, 1)
                    read(conn, struct.unpack("!I", read(conn, 4))[0] - 4)
                    fields = b'SFATAL\0VFATAL\0C28P01\0Mpassword authentication failed for user "airpipe"\0\0'
                    conn.sendall(b"E" + struct.pack("!I", len(fields) + 4) + fields)
                except (ConnectionError, OSError):
                    pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    server.close()


def test_a_bad_password_fails_the_check_without_showing_it(launcher: Launcher, logs: Logs, password_server: int) -> None:
    config = {"host": "127.0.0.1", "port": password_server, "database": "db", "username": "airpipe", "password": "Sup3r-S3cret!"}
    status = launcher.check(config)
    assert status.status is Status.FAILED
    assert status.message == (
        f"cannot connect to PostgreSQL at 127.0.0.1:{password_server}, database db: connection to server at "
        f'"127.0.0.1", port {password_server} failed: FATAL: password authentication failed for user "airpipe"'
    )
    assert not logs.containing("Sup3r-S3cret!")


def test_a_bad_password_fails_the_write_without_showing_it(launcher: Launcher, logs: Logs, password_server: int, wire: Any) -> None:
    config = {"host": "127.0.0.1", "port": password_server, "database": "db", "username": "airpipe", "password": "Sup3r-S3cret!"}
    with launcher.write(config, wire.catalog("append", "users")) as process:
        assert process.stdin is not None
        process.stdin.close()
        lines = list(process)
        for line in lines:
            process.handle_line(line)
        assert process.wait(30) == 1
    assert process.trace_error is not None
    assert process.trace_error.failure_type is not None and process.trace_error.failure_type.value == "config_error"
    assert "password authentication failed" in process.trace_error.message
    assert not [line for line in lines if b"Sup3r-S3cret!" in line]
    assert not logs.containing("Sup3r-S3cret!")


# TYPES AND NAMES


def test_columns_are_typed_from_the_schema(launcher: Launcher, db: Database, wire: Any) -> None:
    properties = {
        "s": {"type": "string"},
        "ts": {"type": ["null", "string"], "format": "date-time"},
        "d": {"type": "string", "format": "date"},
        "i": {"type": "integer"},
        "ai": {"type": "number", "airbyte_type": "integer"},
        "n": {"type": "number"},
        "b": {"type": "boolean"},
        "o": {"type": "object", "properties": {"x": {"type": "integer"}}},
        "a": {"type": "array", "items": {"type": "string"}},
        "u": {"type": ["string", "integer"]},
        "any": {},
        "ref": {"$ref": "WellKnownTypes.json#/definitions/TimestampWithTimezone"},
        "one": {"oneOf": [{"type": "null"}, {"type": "boolean"}]},
    }
    data = {
        "s": "text",
        "ts": "2024-05-06T07:08:09.123456+02:00",
        "d": "2024-05-06",
        "i": 2**63 - 1,
        "ai": -5,
        "n": 0.1,
        "b": False,
        "o": {"x": 1},
        "a": ["p", "q"],
        "u": 7,
        "any": [None, {"k": "v"}],
        "ref": "2024-01-01T00:00:00Z",
        "one": True,
    }
    code, _, _ = wire.write(
        launcher, db.config, {"streams": [wire.stream("typed", "append", properties)]}, wire.record("typed", data, 1700000000123)
    )
    assert code == 0
    assert db.types("typed") == {
        "_airbyte_raw_id": "uuid",
        "_airbyte_extracted_at": "timestamp with time zone",
        "_airbyte_meta": "jsonb",
        "s": "text",
        "ts": "timestamp with time zone",
        "d": "date",
        "i": "bigint",
        "ai": "bigint",
        "n": "numeric",
        "b": "boolean",
        "o": "jsonb",
        "a": "jsonb",
        "u": "jsonb",
        "any": "jsonb",
        "ref": "timestamp with time zone",
        "one": "boolean",
    }
    [row] = db.query(f'SELECT to_json(t) FROM "{db.schema}".typed t')
    values = row[0]
    assert values.pop("_airbyte_meta") == {"changes": []}
    assert uuid.UUID(values.pop("_airbyte_raw_id")).version == 4
    assert values == {
        "_airbyte_extracted_at": "2023-11-14T22:13:20.123+00:00",
        "s": "text",
        "ts": "2024-05-06T05:08:09.123456+00:00",
        "d": "2024-05-06",
        "i": 2**63 - 1,
        "ai": -5,
        "n": 0.1,
        "b": False,
        "o": {"x": 1},
        "a": ["p", "q"],
        "u": 7,
        "any": [None, {"k": "v"}],
        "ref": "2024-01-01T00:00:00+00:00",
        "one": True,
    }


def test_values_that_do_not_fit_go_null_and_are_noted(launcher: Launcher, db: Database, wire: Any) -> None:
    properties = {
        "id": {"type": "integer"},
        "i": {"type": "integer"},
        "n": {"type": "number"},
        "b": {"type": "boolean"},
        "ts": {"type": "string", "format": "date-time"},
        "d": {"type": "string", "format": "date"},
        "o": {"type": "object"},
        "a": {"type": "array"},
        "s": {"type": "string"},
    }
    good = {"id": 1, "i": 2.0, "n": 10**30, "b": True, "ts": "2024-01-01", "d": "2024-01-02", "o": {}, "a": [], "s": 5}
    bad = {"id": 2, "i": 2**63, "n": "1.5", "b": "true", "ts": "yesterday", "d": "2024-13-01", "o": [1], "a": {"x": 1}, "s": {"k": "v"}}
    cat = {"streams": [wire.stream("mixed", "append", properties)]}
    code, _, _ = wire.write(
        launcher, db.config, cat, wire.record("mixed", good), wire.record("mixed", bad), wire.record("mixed", {"id": 3})
    )
    assert code == 0
    rows = db.rows("mixed", 'id, i, n, b, ts, d, o, a, s, "_airbyte_meta"')
    assert rows[0] == (1, 2, 10**30, True, datetime(2024, 1, 1, tzinfo=timezone.utc), date(2024, 1, 2), {}, [], "5", {"changes": []})
    assert rows[1][:9] == (2, None, None, None, None, None, None, None, '{"k":"v"}')
    assert rows[1][9] == {
        "changes": [{"field": f, "change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"} for f in ("i", "n", "b", "ts", "d", "o", "a")]
    }
    assert rows[2] == (3, None, None, None, None, None, None, None, None, {"changes": []})


def test_text_and_json_keep_every_character(launcher: Launcher, db: Database, wire: Any) -> None:
    tricky = [
        "tab\there",
        "new\nline\r\n",
        'quote " and \\ backslash',
        "\\N",
        "null",
        "",
        "\\.",
        "é ñ 中文 🎉",
        "\x01\x1f\x7f",
        'a,"b"',
        "\\n literally",
    ]
    cat = {"streams": [wire.stream("texts", "append", {"id": {"type": "integer"}, "s": {"type": "string"}, "j": {}})]}
    lines = [wire.record("texts", {"id": i, "s": s, "j": {s: [s]}}) for i, s in enumerate(tricky)]
    code, _, error = wire.write(launcher, db.config, cat, *lines)
    assert (code, error) == (0, None)
    assert db.rows("texts", "s, j") == [(s, {s: [s]}) for s in tricky]


def test_nul_characters_are_removed_and_noted(launcher: Launcher, db: Database, wire: Any) -> None:
    cat = {"streams": [wire.stream("nul", "append", {"id": {"type": "integer"}, "s": {"type": "string"}, "j": {"type": "object"}})]}
    code, _, _ = wire.write(launcher, db.config, cat, wire.record("nul", {"id": 1, "s": "a\x00b", "j": {"k\x00": "v\x00"}}))
    assert code == 0
    [(s, j, meta)] = db.rows("nul", 's, j, "_airbyte_meta"')
    assert (s, j) == ("ab", {"k": "v"})
    change = {"change": "TRUNCATED", "reason": "DESTINATION_SERIALIZATION_ERROR"}
    assert meta == {"changes": [{"field": "s", **change}, {"field": "j", **change}]}


def test_rows_converted_one_by_one_among_many_in_bulk(launcher: Launcher, db: Database, wire: Any) -> None:
    # most rows go in runs (the bulk path); each odd one in its place through the slow path, and a batch
    # that holds a control character anywhere is unescaped before COPY
    properties = {"id": {"type": "integer"}, "s": {"type": "string"}, "o": {"type": "object"}}
    truncated = {"field": "s", "change": "TRUNCATED", "reason": "DESTINATION_SERIALIZATION_ERROR"}
    nulled = {"field": "o", "change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"}
    odd = {  # id: (data, s, o, changes) as stored
        100: ({"s": "line\nbreak", "o": {}}, "line\nbreak", {}, []),
        150: ({"s": "a\x00b", "o": {}}, "ab", {}, [truncated]),
        200: ({"s": "tab\there", "o": [1]}, "tab\there", None, [nulled]),
        250: ({"s": 7, "o": {"k": "v\\n"}}, "7", {"k": "v\\n"}, []),
    }
    lines = [wire.record("mixed", {"id": i, **odd.get(i, ({"s": f"s{i}", "o": {"i": i}},))[0]}) for i in range(300)]
    cat = {"streams": [wire.stream("mixed", "append", properties)]}
    code, _, error = wire.write(launcher, {**db.config, "batch_size": 120}, cat, *lines)
    assert (code, error) == (0, None)
    rows = db.rows("mixed", 'id, s, o, "_airbyte_meta"')
    assert len(rows) == 300 and len({r[0] for r in rows}) == 300
    for i, s, o, meta in rows:
        expected = odd[i][1:] if i in odd else (f"s{i}", {"i": i}, [])
        assert (s, o, meta) == (expected[0], expected[1], {"changes": expected[2]}), i


def test_source_changes_are_kept_in_meta(launcher: Launcher, db: Database, wire: Any) -> None:
    change = {"field": "name", "change": "TRUNCATED", "reason": "SOURCE_FIELD_SIZE_LIMITATION"}
    line = b'{"type":"RECORD","record":{"stream":"users","data":{"id":1,"name":"x"},"emitted_at":1,"meta":{"changes":[%s]}}}\n'
    code, _, _ = wire.write(launcher, db.config, wire.catalog("append", "users", properties=USERS), line % json.dumps(change).encode())
    assert code == 0
    assert db.rows("users", '"_airbyte_meta"') == [({"changes": [change]},)]


def test_any_name_works(launcher: Launcher, db: Database, wire: Any) -> None:
    long = "x" * 70
    properties = {
        "Mixed Case": {"type": "string"},
        'with "quotes"': {"type": "string"},
        "ünïcödé ✓": {"type": "string"},
        "_airbyte_meta": {"type": "string"},
        long + "1": {"type": "string"},
        long + "2": {"type": "string"},
        "": {"type": "string"},
    }
    stream = 'My "Stream"; DROP TABLE x; ✓'
    data = {name: f"v{i}" for i, name in enumerate(properties)}
    code, _, error = wire.write(launcher, db.config, {"streams": [wire.stream(stream, "append", properties)]}, wire.record(stream, data))
    assert (code, error) == (0, None)
    assert db.tables() == [stream]
    columns = list(db.types(stream))
    assert columns[:7] == [
        "_airbyte_raw_id",
        "_airbyte_extracted_at",
        "_airbyte_meta",
        "Mixed Case",
        'with "quotes"',
        "ünïcödé ✓",
        "_airbyte_meta_2",
    ]
    assert [len(c.encode()) for c in columns[7:9]] == [63, 63] and columns[7] != columns[8]
    assert columns[9] == "_"
    [row] = db.query(f"SELECT {', '.join(quote(c) for c in columns[3:])} FROM {quote(db.schema)}.{quote(stream)}")
    assert row == ("v0", "v1", "v2", "v3", "v4", "v5", "v6")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def test_the_namespace_is_the_schema(launcher: Launcher, db: Database, wire: Any) -> None:
    namespace = db.schema + "_Other"
    cat = {"streams": [wire.stream("users", "append", USERS, namespace=namespace), wire.stream("users", "append", USERS)]}
    lines = [wire.record("users", {"id": 1}, namespace=namespace), wire.record("users", {"id": 2})]
    code, _, _ = wire.write(launcher, db.config, cat, *lines)
    assert code == 0
    assert db.query(f'SELECT id FROM "{namespace}".users') == [(1,)]
    assert db.rows("users", "id") == [(2,)]


def test_records_and_states_without_the_namespace_of_their_stream(launcher: Launcher, db: Database, wire: Any) -> None:
    namespace = db.schema + "_ns"
    cat = {"streams": [wire.stream("users", "append", USERS, namespace=namespace)]}
    lines = [wire.record("users", {"id": n}) for n in range(5)] + [wire.state("users", 1)]
    code, states, _ = wire.write(launcher, db.config, cat, *lines, wire.record("users", {"id": 5}, namespace=namespace))
    assert (code, states) == (0, [wire.state("users", 1)])
    assert db.query(f'SELECT count(*) FROM "{namespace}".users') == [(6,)]


def test_a_schemaless_stream_is_kept_whole(launcher: Launcher, db: Database, wire: Any) -> None:
    code, _, _ = wire.write(
        launcher, db.config, {"streams": [wire.stream("blobs", "append")]}, wire.record("blobs", {"a": [1, {"b": None}]})
    )
    assert code == 0
    assert list(db.types("blobs"))[3:] == ["_airbyte_data"]
    assert db.rows("blobs", "_airbyte_data", "1") == [({"a": [1, {"b": None}]},)]


# SYNC MODES


def test_append_adds_rows_and_new_columns(launcher: Launcher, db: Database, wire: Any) -> None:
    assert (
        wire.write(launcher, db.config, wire.catalog("append", "users"), wire.record("users", {"id": 1, "name": "not in the schema"}))[0]
        == 0
    )
    code, _, _ = wire.write(
        launcher, db.config, wire.catalog("append", "users", properties=USERS), wire.record("users", {"id": 2, "name": "bob"})
    )
    assert code == 0
    assert db.rows("users") == [(1, None), (2, "bob")]
    assert list(db.types("users"))[3:] == ["id", "name", "updated"]


def test_an_existing_column_keeps_its_type(launcher: Launcher, db: Database, wire: Any) -> None:
    assert wire.write(launcher, db.config, wire.catalog("append", "users"), wire.record("users", {"id": 1}))[0] == 0
    as_string = wire.catalog("append", "users", properties={"id": {"type": "string"}})
    code, _, _ = wire.write(launcher, db.config, as_string, wire.record("users", {"id": "2"}), wire.record("users", {"id": "two"}))
    assert code == 0
    assert db.types("users")["id"] == "bigint"
    nulled = {"changes": [{"field": "id", "change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"}]}
    assert db.rows("users", 'id, "_airbyte_meta"', "id NULLS LAST") == [(1, {"changes": []}), (None, nulled), (None, nulled)]


def test_overwrite_replaces_the_table(launcher: Launcher, db: Database, wire: Any) -> None:
    cat = wire.catalog("overwrite", "users", "empty", properties=USERS)
    assert wire.write(launcher, db.config, cat, wire.record("users", {"id": 1}), wire.record("empty", {"id": 1}))[0] == 0
    code, states, _ = wire.write(launcher, db.config, cat, wire.record("users", {"id": 2, "name": "new"}), wire.state("users", 1))
    assert (code, states) == (0, [wire.state("users", 1)])
    assert db.rows("users") == [(2, "new")]
    assert db.rows("empty") == []
    assert db.tables() == ["empty", "users"]


def test_an_overwrite_refuses_to_drop_the_views_of_the_table(launcher: Launcher, db: Database, wire: Any) -> None:
    cat = wire.catalog("overwrite", "users", properties=USERS)
    assert wire.write(launcher, db.config, cat, wire.record("users", {"id": 1, "name": "old"}))[0] == 0
    db.query(f'CREATE VIEW "{db.schema}".names AS SELECT name FROM "{db.schema}".users')
    code, states, error = wire.write(launcher, db.config, cat, wire.record("users", {"id": 2}), wire.state("users", 1))
    assert (code, states) == (1, [])
    assert error.message.startswith(f"cannot drop table {db.schema}.users because other objects depend on it")
    assert db.rows("names", "name", "1") == [("old",)]
    assert db.tables() == ["users"]


def test_a_killed_overwrite_leaves_the_old_table(launcher: Launcher, db: Database, wire: Any) -> None:
    cat = wire.catalog("overwrite", "users", properties=USERS)
    assert wire.write(launcher, db.config, cat, wire.record("users", {"id": 1, "name": "old"}))[0] == 0
    with launcher.write({**db.config, "batch_size": 100}, cat) as process:
        assert process.stdin is not None
        process.stdin.write(b"".join(wire.record("users", {"id": n}) for n in range(1000)) + wire.state("users", 1))
        process.stdin.flush()
        staging = f"_airbyte_tmp_{hashlib.sha1(b'users').hexdigest()[:8]}_users"
        count = f'SELECT count(*) FROM "{db.schema}"."{staging}"'
        wait_until(lambda: staging in db.tables() and db.query(count)[0][0], 20, "rows loaded into the staging table")
        assert not wire.ready(process, 0.3)  # an overwrite's state waits for the swap
        assert db.rows("users") == [(1, "old")]  # readable all along
        process.kill()
        assert process.wait(10) == 143  # exited through its SIGTERM handler, cleaning up
    assert db.rows("users") == [(1, "old")]
    assert db.tables() == ["users"]


def test_a_failed_overwrite_leaves_the_old_table(launcher: Launcher, db: Database, wire: Any) -> None:
    cat = wire.catalog("overwrite", "users", properties=USERS)
    assert wire.write(launcher, db.config, cat, wire.record("users", {"id": 1, "name": "old"}))[0] == 0
    code, states, error = wire.write(launcher, db.config, cat, wire.record("users", {"id": 2}), b"oops\n", wire.state("users", 1))
    assert (code, states) == (1, [])
    assert error.message.startswith("input line 2 is not a protocol message: JSON is malformed")
    assert db.rows("users") == [(1, "old")]
    assert db.tables() == ["users"]


def test_an_orphaned_write_commits_nothing(launcher: Launcher, db: Database, wire: Any, tmp_path: Path) -> None:
    cat = wire.catalog("overwrite", "users", properties=USERS)
    assert wire.write(launcher, db.config, cat, wire.record("users", {"id": 1, "name": "old"}))[0] == 0
    lines = [wire.record("users", {"id": 2, "name": "partial"}), wire.state("users", 1)]
    wire.orphaned_write(launcher.command, db.config, cat, tmp_path, lines, lambda: len(db.tables()) == 2)
    assert db.rows("users") == [(1, "old")]
    assert db.tables() == ["users"]


def test_a_staging_table_left_by_sigkill_is_replaced(launcher: Launcher, db: Database, wire: Any) -> None:
    cat = wire.catalog("overwrite", "users", properties=USERS)
    with launcher.write({**db.config, "batch_size": 1}, cat) as process:
        assert process.stdin is not None
        process.stdin.write(wire.record("users", {"id": 9, "name": "leftover"}))
        process.stdin.flush()
        wait_until(db.tables, 20, "the staging table")
        process.kill(grace=0)
    code, _, _ = wire.write(launcher, db.config, cat, wire.record("users", {"id": 1, "name": "new"}))
    assert code == 0
    assert db.rows("users") == [(1, "new")]
    assert db.tables() == ["users"]


def test_append_dedup_keeps_the_latest_record_per_key(launcher: Launcher, db: Database, wire: Any) -> None:
    properties = {"id": {"type": "integer"}, "name": {"type": "string"}, "meta": {"type": "object"}}
    cat = wire.catalog("append_dedup", "users", properties=properties, primary_key=[["id"]], cursor=["meta", "updated"])

    def user(id: int, name: str, updated: int | None) -> bytes:
        return wire.record("users", {"id": id, "name": name, "meta": {"updated": updated}})

    assert (
        wire.write(
            launcher, db.config, cat, user(1, "ada", 1), user(2, "bob", 1), user(3, "cy", 5), user(5, "eve", 1), user(6, "fay", None)
        )[0]
        == 0
    )
    assert db.rows("users") == [(1, "ada"), (2, "bob"), (3, "cy"), (5, "eve"), (6, "fay")]
    lines = [
        user(2, "bob2", 2),
        user(3, "stale", 4),
        user(4, "dan", 1),
        user(2, "bob3", 2),
        user(5, "no cursor", None),
        user(6, "fay2", None),
    ]
    for batch_size in (1000, 2):  # one batch, and merges across batches
        code, _, _ = wire.write(launcher, {**db.config, "batch_size": batch_size}, cat, *lines)
        assert code == 0
        assert db.rows("users") == [(1, "ada"), (2, "bob3"), (3, "cy"), (4, "dan"), (5, "eve"), (6, "fay2")]


def test_append_dedup_on_a_typed_cursor_and_a_composite_key(launcher: Launcher, db: Database, wire: Any) -> None:
    properties = {
        "k1": {"type": "string"},
        "k2": {"type": "integer"},
        "name": {"type": "string"},
        "at": {"type": "string", "format": "date-time"},
    }
    cat = wire.catalog("append_dedup", "t", properties=properties, primary_key=[["k1"], ["k2"]], cursor=["at"])

    def row(k1: str | None, k2: int, name: str, at: str | None) -> bytes:
        return wire.record("t", {"k1": k1, "k2": k2, "name": name, "at": at})

    lines = [row("a", 1, "first", "2024-01-01T00:00:00Z"), row("a", 2, "other", None), row(None, 1, "null key", None)]
    lines += [
        row("a", 1, "older", "2023-12-31T23:59:59Z"),
        row("a", 1, "tie", "2024-01-01T01:00:00+01:00"),
        row(None, 1, "null key 2", None),
    ]
    code, _, _ = wire.write(launcher, db.config, cat, *lines)
    assert code == 0
    assert db.rows("t", "k1, k2, name", "k1, k2") == [("a", 1, "tie"), ("a", 2, "other"), (None, 1, "null key 2")]


def test_append_dedup_of_a_table_appended_to_before(launcher: Launcher, db: Database, wire: Any) -> None:
    properties = {"id": {"type": "integer"}, "name": {"type": "string"}}
    assert (
        wire.write(
            launcher,
            db.config,
            wire.catalog("append", "users", properties=properties),
            *(wire.record("users", {"id": i % 2, "name": f"n{i}"}) for i in range(4)),
        )[0]
        == 0
    )
    cat = wire.catalog("append_dedup", "users", properties=properties, primary_key=[["id"]])
    code, _, _ = wire.write(launcher, db.config, cat, wire.record("users", {"id": 1, "name": "new"}))
    assert code == 0
    assert db.rows("users") == [(0, "n2"), (1, "new")]


def test_append_dedup_ties_go_to_the_later_record_however_it_was_read(launcher: Launcher, db: Database, wire: Any) -> None:
    # raw ids count up in the order of the input, whether a row came in a run or through the slow path
    properties = {"id": {"type": "integer"}, "name": {"type": "string"}, "n": {"type": "integer"}}
    cat = wire.catalog("append_dedup", "users", properties=properties, primary_key=[["id"]])
    lines = [wire.record("users", {"id": i % 3, "name": f"n{i}", "n": "bad" if i % 4 == 1 else i}) for i in range(12)]
    code, _, _ = wire.write(launcher, db.config, cat, *lines)
    assert code == 0
    assert db.rows("users") == [(0, "n9"), (1, "n10"), (2, "n11")]
    lines = [wire.record("users", {"id": 0, "name": "run"}), wire.record("users", {"id": 0, "name": "slow", "n": "x"})]
    assert wire.write(launcher, db.config, cat, *lines)[0] == 0
    assert db.rows("users", "id, name, n") == [(0, "slow", None), (1, "n10", 10), (2, "n11", 11)]


def test_append_dedup_needs_a_primary_key(launcher: Launcher, db: Database, wire: Any) -> None:
    code, _, error = wire.write(launcher, db.config, wire.catalog("append_dedup", "users"), wire.record("users", {"id": 1}))
    assert code == 1
    assert (error.message, error.failure_type.value) == ("stream users is append_dedup but has no primary key", "config_error")


# STATES


def test_a_state_is_echoed_once_the_rows_before_it_are_committed(launcher: Launcher, db: Database, wire: Any) -> None:
    with launcher.write(db.config, wire.catalog("append", "users")) as process:
        assert process.stdin is not None
        process.stdin.write(b"".join(wire.record("users", {"id": n}) for n in range(500)) + wire.state("users", 1))
        process.stdin.flush()
        assert wire.ready(process, 20)  # the input pauses: the batch is committed, the state echoed
        assert process.stdout.readline() == wire.state("users", 1)
        assert db.query(f'SELECT count(*) FROM "{db.schema}".users') == [(500,)]
        process.stdin.write(wire.record("users", {"id": 500}) + wire.state("users", 2) + wire.state("users", 3))
        process.stdin.close()
        assert process.stdout.read() == wire.state("users", 2) + wire.state("users", 3)
        assert process.wait(10) == 0
    assert db.query(f'SELECT count(*) FROM "{db.schema}".users') == [(501,)]


def test_every_state_is_echoed_in_order_across_batches(launcher: Launcher, db: Database, wire: Any) -> None:
    cat = wire.catalog("append", "users", "orders")
    lines = []
    for n in range(300):
        lines += [wire.record("users", {"id": n}), wire.record("orders", {"id": n}), wire.state("users" if n % 2 else "orders", n)]
    code, states, _ = wire.write(launcher, {**db.config, "batch_size": 7}, cat, *lines)
    assert code == 0
    assert states == [line for line in lines if b'"STATE"' in line]
    assert db.query(f'SELECT count(*), count(DISTINCT id) FROM "{db.schema}".orders') == [(300, 300)]


def test_overwrite_states_wait_for_the_swap(launcher: Launcher, db: Database, wire: Any) -> None:
    cat = {"streams": [wire.stream("users", "overwrite", USERS), wire.stream("orders", "append", USERS)]}
    lines = [wire.record("users", {"id": 1}), wire.state("users", 1), wire.state("orders", 1), wire.state(None, 1), wire.state("users", 2)]
    code, states, _ = wire.write(launcher, db.config, cat, *lines)
    # the latest state of each overwritten stream (and GLOBAL or LEGACY ones) after the swap, in the order they came
    assert (code, states) == (0, [wire.state("orders", 1), wire.state(None, 1), wire.state("users", 2)])


def test_records_of_unknown_streams_fail_the_write(launcher: Launcher, db: Database, wire: Any) -> None:
    code, _, error = wire.write(
        launcher, db.config, wire.catalog("append", "users"), wire.record("users", {"id": 1}), wire.record("orders", {})
    )
    assert code == 1
    assert error.message == "input line 2 is a record of stream 'orders', which is not in the catalog"


# EXTRACTED AT: where only the write COPYs into a table, runs of one time go without it (postgres_copy.PgTable)

A, B, C, D = 1700000000123, 1700000005456, 1700000009789, 1700000012001
STAMPED = {"id": {"type": "integer"}, "s": {"type": "string"}, "n": {"type": "integer"}}


def stamped_records() -> tuple[list[bytes], dict[int, int | None]]:
    """Records of streams t and u in runs of one emitted_at: long and short ones, a time that comes
    back, some without one; every 37th takes the slow path as it is, every 53rd with a change. A
    stretch where t and u alternate sends the records after it line by line. Returns the lines
    and each id's emitted_at."""
    lines: list[bytes] = []
    emitted: dict[int, int | None] = {}

    def run(emitted_at: int | None, n: int, streams: str = "t") -> None:
        for _ in range(n):
            i = len(emitted)
            data = {"id": i, "s": 7 if i % 37 == 0 else f"s{i}", "n": "bad" if i % 53 == 0 else i}
            record: dict[str, Any] = {"stream": streams[i % len(streams)], "data": data}
            if emitted_at is not None:
                record["emitted_at"] = emitted_at
            lines.append(json.dumps({"type": "RECORD", "record": record}).encode() + b"\n")
            emitted[i] = emitted_at

    for emitted_at, n in ((A, 700), (B, 600), (A, 650), (C, 3), (A, 2), (B, 1), (None, 600), (B, 5), (D, 900), (None, 2), (A, 520)):
        run(emitted_at, n)
    run(C, 600, streams="tu")
    for emitted_at, n in ((D, 800), (A, 600), (B, 3), (A, 700), (None, 1), (C, 550)):
        run(emitted_at, n)
    return lines, emitted


@pytest.mark.parametrize("batch_size", [20_000, 250])
@pytest.mark.parametrize("mode", ["overwrite", "append", "append_dedup"])
def test_every_row_has_the_time_its_record_was_emitted(launcher: Launcher, db: Database, wire: Any, mode: str, batch_size: int) -> None:
    lines, emitted = stamped_records()
    cat = wire.catalog(mode, "t", "u", properties=STAMPED, primary_key=[["id"]] if mode == "append_dedup" else None)
    start = datetime.now(timezone.utc).replace(microsecond=0)
    code, _, error = wire.write(launcher, {**db.config, "batch_size": batch_size}, cat, *lines)
    end = datetime.now(timezone.utc)
    assert (code, error) == (0, None)
    found = dict(db.rows("t", 'id, "_airbyte_extracted_at"') + db.rows("u", 'id, "_airbyte_extracted_at"'))
    assert sorted(found) == sorted(emitted)
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    wrong = {
        i: (at, emitted[i])
        for i, at in found.items()
        if not (start <= at <= end if emitted[i] is None else at == epoch + timedelta(milliseconds=emitted[i]))
    }
    assert wrong == {}
    nulled = {"changes": [{"field": "n", "change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"}]}
    assert db.rows("t", 'id, s, "_airbyte_meta"', "id")[:2] == [(0, "7", nulled), (1, "s1", {"changes": []})]
    # no default is left on the table (nor a staging table)
    columns = "SELECT table_name, column_default FROM information_schema.columns WHERE table_schema = %s AND column_name = %s"
    assert sorted(db.query(columns, db.schema, "_airbyte_extracted_at")) == [("t", None), ("u", None)]
    assert db.tables() == ["t", "u"]


def iso(emitted_at: float) -> str:
    return (datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(milliseconds=emitted_at)).isoformat()[:23] + "Z"


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("overwrite", [(A, MIN_RUN + 10), (B, MIN_RUN), (None, 2), (C, 2 * MIN_RUN - 1), (None, 8)]),
        ("append", [(None, 4 * MIN_RUN + 19)]),  # the user's table: every row with its time
    ],
)
def test_runs_of_one_time_go_in_segments_without_it(wire: Any, mode: str, expected: list[tuple[int | None, int]]) -> None:
    columns = [Column("id", "id", Kind.INTEGER)]
    table = PgTable(StreamSpec("t", None, DestinationSyncMode(mode), [], [], columns), "s", "t")
    table.staging = sql.Identifier("s", "staging") if mode == "overwrite" else None
    table.set_columns(columns)
    bulk = RowCodec(columns, raw_ids=table.raw_ids).bulk
    assert bulk is not None
    added: list[float] = []

    def add_rows(*runs: tuple[int, int]) -> None:
        times = [at for at, n in runs for _ in range(n)]
        messages = bulk.block_decoder(None, "t")(b"".join(wire.record("t", {"id": i}) for i in range(len(times))))
        rows, controls = bulk.ready([message.record.data for message in messages])
        table.add_rows(rows, times, controls)
        added.extend(times)

    add_rows((A, MIN_RUN))  # long enough: without its time
    add_rows((A, 10), (B, MIN_RUN), (C, 2))  # goes on; long enough (a segment of its own); may go on in the next rows
    add_rows((C, MIN_RUN - 2))  # it did: MIN_RUN long
    table.add([7], C + 0.5, None)  # the slow path: joins the segment of its time (to the millisecond)
    added.append(C + 0.5)
    add_rows((C, MIN_RUN), (A, 3), (C, 4))  # goes on; too short; too short (another run than the first)
    table.add([8], None, None)  # now: with its time
    table.add([9], C, [{"field": "id", "change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"}])  # apart, with its time
    taken = table.take()
    assert taken is not None
    segments, changed, _ = taken
    assert [(tail and tail[1:-2].decode(), lines.count(b"\n")) for tail, lines in segments] == [(at and iso(at), n) for at, n in expected]
    times = []  # of each line: its last field, or the segment's
    for tail, lines in segments:
        for line in lines.splitlines():
            fields = line.split(b",")
            assert len(fields) == (2 if tail is not None else 3)
            times.append(tail[1:-2] if tail is not None else fields[-1].strip(b'"'))
    assert times[:-1] == [iso(at).encode() for at in added]
    assert changed.endswith(b',9,"%s"\n' % iso(C).encode())


@pytest.mark.parametrize("mode", ["overwrite", "append"])
def test_rows_encoded_at_once_are_the_rows_encoded_one_by_one(wire: Any, mode: str) -> None:
    """PgTable._join cuts one array of rows apart where a row ends and the next begins with a raw
    id; strings that look like that place must stay whole."""
    columns = [Column("id", "id", Kind.INTEGER), Column("s", "s", Kind.STRING)]
    table = PgTable(StreamSpec("t", None, DestinationSyncMode(mode), [], [], columns), "s", "t")
    table.staging = sql.Identifier("s", "staging") if mode == "overwrite" else None
    table.set_columns(columns)
    bulk = RowCodec(columns, raw_ids=table.raw_ids).bulk
    assert bulk is not None
    prefix = table.raw_ids.prefix
    tricky = ["x],[", f'],["{prefix}', f',],["{prefix}000000000001",', '\\"', "],[\\", ",]", "]", "", "plain"]
    values = [tricky[i % len(tricky)] for i in range(3 * MIN_RUN)]
    lines = b"".join(wire.record("t", {"id": i, "s": s}, emitted_at=A) for i, s in enumerate(values))
    messages = bulk.block_decoder(None, "t")(lines)
    rows, controls = bulk.ready([message.record.data for message in messages])
    raw_ids = [msgspec.json.encode(row.raw_id) for row in rows]
    expected = [b"%s,%d,%s" % (raw_id, i, msgspec.json.encode(s)) for i, (raw_id, s) in enumerate(zip(raw_ids, values, strict=True))]
    table.add_rows(rows, [A] * len(rows), controls)
    taken = table.take()
    assert taken is not None
    [(tail, lines)] = taken[0]
    if mode == "overwrite":  # without the time, and the comma before it
        assert (tail, lines.splitlines()) == (b'"%s"\n' % iso(A).encode(), expected)
    else:
        assert (tail, lines.splitlines()) == (None, [line + b',"%s"' % iso(A).encode() for line in expected])
