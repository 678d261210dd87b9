"""One conformance suite for every built-in connector (``registry.BUILTIN_DEFINITIONS``).

Every check runs the real connector process through ``Launcher``, with ``AIRPIPE_LOCAL_ROOT`` set to
a temporary directory. Each built-in has a small fixture in ``FIXTURES`` (keyed by its repository):
a valid config over a little data made for the test (and removed after it), a config with bad
credentials or a bad path (and the secret it carries, if any), and:

- for sources: the ONE stream to read, whether incremental is claimed (and its cursor if the user
  must pick one);
- for destinations: how to read back what a write left, to compare it with the records sent.

A built-in added to the registry without a fixture here fails ``test_every_builtin_has_a_fixture``
and every parametrized test of it. A built-in that fails a check is marked in ``KNOWN_BUGS`` (a
strict xfail, so the mark goes once the bug is fixed).
"""

from __future__ import annotations

import json
import os
import queue
import re
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import jsonschema
import pytest
from suitekit import AirpipeServer, Logs

from airpipe.connectors import registry
from airpipe.connectors.errors import ConnectorError
from airpipe.connectors.launcher import INHERITED_ENV, ConnectorProcess, Launcher
from airpipe.protocol import (
    AirbyteCatalog,
    AirbyteStream,
    ConnectorSpecification,
    DestinationSyncMode,
    MessageType,
    Status,
    SyncMode,
    encode,
)
from airpipe.services.workspaces import DEFAULT_WORKSPACE_ID

#: a property whose name says it holds a secret must be marked airbyte_secret
SECRET_NAME = re.compile(r"password|secret|token|key", re.IGNORECASE)
#: seconds a destination may take to echo a STATE once its input pauses
ECHO_TIMEOUT = 10.0


class Context:
    """What a fixture works with: the test's local root, a unique token, and PostgreSQL on demand."""

    def __init__(self, request: pytest.FixtureRequest, root: Path) -> None:
        self.request = request
        self.root = root
        self.token = uuid.uuid4().hex[:10]
        self.cleanups: list[Callable[[], None]] = []

    def postgres(self) -> Postgres:
        return Postgres(self.request.getfixturevalue("postgres_url"))


class Postgres:
    """The session's test database: a connection for SQL, and connector configs for it."""

    def __init__(self, url: str) -> None:
        import psycopg2
        import psycopg2.extensions

        self.url = url
        dsn = psycopg2.extensions.parse_dsn(url)
        self.params = {
            "host": dsn.get("host", "127.0.0.1"),
            "port": int(dsn.get("port", 5432)),
            "database": dsn["dbname"],
            "username": dsn.get("user", "postgres"),
        }

    def execute(self, statements: str, params: Any = None) -> list[tuple[Any, ...]]:
        import psycopg2

        connection = psycopg2.connect(self.url)
        connection.autocommit = True
        try:
            with connection.cursor() as cursor:
                cursor.execute(statements, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            connection.close()


# FIXTURES


class Builtin:
    """A built-in's conformance fixture. ``setup`` makes its data; the configs are read after it."""

    kind: ClassVar[str]  # "source" or "destination"
    #: substrings (any case) the FAILED message of ``bad_config`` must contain: they name the problem
    problem: ClassVar[tuple[str, ...]]

    def __init__(self, ctx: Context, repository: str) -> None:
        self.ctx = ctx
        self.repository = repository
        #: secret values the configs carry: never to be seen in a message or a log line
        self.secrets: list[str] = []

    def setup(self) -> None:
        pass

    def valid_config(self) -> dict[str, Any]:
        raise NotImplementedError

    def bad_config(self) -> dict[str, Any]:
        raise NotImplementedError


class SourceBuiltin(Builtin):
    kind = "source"
    #: the stream read by itself (sources with several streams: not the first one)
    stream: ClassVar[str]
    #: whether its streams claim incremental (checked both ways)
    incremental: ClassVar[bool]
    #: the cursor to configure when the source does not define one
    cursor_field: ClassVar[list[str] | None] = None
    #: a stream whose data holds edge values (special numbers, nested arrays, odd text), if the
    #: source has such values to offer; ``edge_config`` reads it
    edge_stream: ClassVar[str | None] = None

    def edge_config(self) -> dict[str, Any]:
        return self.valid_config()


class DestinationBuiltin(Builtin):
    kind = "destination"
    STREAM = "conformance_items"
    PROPERTIES: ClassVar[dict[str, Any]] = {
        "id": {"type": "integer"},
        "name": {"type": ["null", "string"]},
        "amount": {"type": "number"},
    }

    def read_back(self) -> list[dict[str, Any]]:
        """The stream's records as the destination holds them now, by id ([] if none were written)."""
        raise NotImplementedError


class FakerFixture(SourceBuiltin):
    problem = ("count",)
    stream = "products"
    incremental = True

    def valid_config(self) -> dict[str, Any]:
        return {"count": 30, "seed": 7, "state_every": 10}

    def bad_config(self) -> dict[str, Any]:
        return {"count": -5}


class FileFixture(SourceBuiltin):
    problem = ("nope.csv",)
    stream = "people"
    incremental = False
    edge_stream = "edges"

    def setup(self) -> None:
        (self.ctx.root / "data").mkdir()
        (self.ctx.root / "data" / "people.csv").write_text(
            'id,name,score,active\n1,Ada,1.5,true\n2,"Lovelace, Ada",,false\n3,"Zoë ""quoted""\nline two",-2,TRUE\n', encoding="utf-8"
        )
        # a column of integers, a number beyond 64 bits and a leading zero; exponents; any-case
        # booleans; "NaN" as text; a column that is always empty
        (self.ctx.root / "data" / "edges.csv").write_bytes(
            b"\xef\xbb\xbfid,count,ratio,flag,text,blank\r\n1,-0,1E5,TRUE,,\r\n2,9223372036854775808,-0.5,false,NaN,\r\n"
            b"3,01,2.5e-3,True, spaced ,\r\n"
        )

    def valid_config(self) -> dict[str, Any]:
        return {"url": "/local/data/people.csv"}

    def edge_config(self) -> dict[str, Any]:
        return {"url": "data/edges.csv"}

    def bad_config(self) -> dict[str, Any]:
        return {"url": "/local/data/missing/nope.csv"}


class PostgresSourceFixture(SourceBuiltin):
    problem = ("no_such_role_",)
    stream = "items"
    incremental = True
    cursor_field = ["updated_at"]
    edge_stream = "edge_values"

    def setup(self) -> None:
        self.db = self.ctx.postgres()
        self.schema = f"conf_src_{self.ctx.token}"
        self.secrets = [f"pw-valid-{self.ctx.token}", f"pw-bad-{self.ctx.token}"]
        self.db.execute(f"CREATE SCHEMA {self.schema}")
        self.ctx.cleanups.append(lambda: self.db.execute(f"DROP SCHEMA {self.schema} CASCADE"))
        self.db.execute(
            f"""
            SET search_path TO {self.schema};
            CREATE TABLE items (
                id serial PRIMARY KEY, name text NOT NULL, price numeric(10, 2), tags text[], doc jsonb,
                updated_at timestamptz, day date, active boolean
            );
            INSERT INTO items (name, price, tags, doc, updated_at, day, active) VALUES
                ('pen', 1.50, '{{a,b}}', '{{"k": [1, 2]}}', '2024-01-01 10:00:00+00', '2024-01-01', true),
                ('mug', NULL, '{{}}', 'null', '2024-01-02 10:00:00+00', NULL, false),
                ('lamp', 20, NULL, NULL, '2024-01-02 10:00:00+00', '2024-02-29', NULL),
                ('no cursor', 3.25, '{{"x y"}}', '[1, "two"]', NULL, '1999-12-31', true);
            CREATE TABLE others (id integer PRIMARY KEY, note text);
            INSERT INTO others VALUES (1, 'not selected'), (2, 'not selected either');
            CREATE VIEW item_names AS SELECT id, name FROM items;
            CREATE TABLE edge_values (
                id integer PRIMARY KEY, n numeric, f float8, matrix integer[], big numeric, ts timestamptz, j json, t text NOT NULL
            );
            INSERT INTO edge_values VALUES
                (1, 'NaN', 'Infinity', '{{{{1,2}},{{3,4}}}}', 1e30, 'infinity', '{{"a": [1, null]}}', e'two\\nlines'),
                (2, 1.5, '-Infinity', '{{}}', -1e-30, '2024-01-01 00:00:00.123456+00', 'null', ''),
                (3, NULL, 'NaN', '{{NULL,5}}', 0, NULL, '"text"', 'x');
            """
        )

    def valid_config(self) -> dict[str, Any]:
        # the server trusts every local connection: the password is only there to be kept secret
        return {**self.db.params, "password": self.secrets[0], "schemas": [self.schema], "ssl_mode": "disable"}

    def bad_config(self) -> dict[str, Any]:
        return {**self.valid_config(), "username": f"no_such_role_{self.ctx.token}", "password": self.secrets[1]}


class LocalJsonFixture(DestinationBuiltin):
    problem = ("outside",)

    def valid_config(self) -> dict[str, Any]:
        return {"destination_path": "/local/json_out"}

    def bad_config(self) -> dict[str, Any]:
        return {"destination_path": "/local/../../outside_the_root"}

    def read_back(self) -> list[dict[str, Any]]:
        path = self.ctx.root / "json_out" / f"{self.STREAM}.jsonl"
        if not path.exists():
            return []
        lines = path.read_bytes().splitlines()
        return sorted((json.loads(line)["_airbyte_data"] for line in lines), key=lambda record: record["id"])


class SqliteFixture(DestinationBuiltin):
    problem = ("outside",)

    def valid_config(self) -> dict[str, Any]:
        return {"destination_path": "/local/conformance.db"}

    def bad_config(self) -> dict[str, Any]:
        return {"destination_path": "../outside_the_root.db"}

    def read_back(self) -> list[dict[str, Any]]:
        path = self.ctx.root / "conformance.db"
        if not path.exists():
            return []
        connection = sqlite3.connect(path)
        try:
            if not connection.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.STREAM,)).fetchall():
                return []
            rows = connection.execute(f'SELECT id, name, amount FROM "{self.STREAM}" ORDER BY id').fetchall()
        finally:
            connection.close()
        return [{"id": id, "name": name, "amount": amount} for id, name, amount in rows]


class PostgresDestinationFixture(DestinationBuiltin):
    problem = ("no_such_role_",)

    def setup(self) -> None:
        self.db = self.ctx.postgres()
        self.schema = f"conf_dst_{self.ctx.token}"
        self.secrets = [f"pw-valid-{self.ctx.token}", f"pw-bad-{self.ctx.token}"]
        self.ctx.cleanups.append(lambda: self.db.execute(f"DROP SCHEMA IF EXISTS {self.schema} CASCADE"))

    def valid_config(self) -> dict[str, Any]:
        return {**self.db.params, "password": self.secrets[0], "schema": self.schema, "ssl_mode": "disable"}

    def bad_config(self) -> dict[str, Any]:
        return {**self.valid_config(), "username": f"no_such_role_{self.ctx.token}", "password": self.secrets[1]}

    def read_back(self) -> list[dict[str, Any]]:
        if not self.db.execute("SELECT 1 FROM pg_tables WHERE schemaname = %s AND tablename = %s", (self.schema, self.STREAM)):
            return []
        rows = self.db.execute(f'SELECT id, name, amount FROM "{self.schema}"."{self.STREAM}" ORDER BY id')
        return [{"id": id, "name": name, "amount": amount} for id, name, amount in rows]


class DataSinkFixture(DestinationBuiltin):
    """A sink of its own in the module's `airpipe serve` (``sink_server``), read back through the API."""

    problem = ("no data sink",)

    def setup(self) -> None:
        self.server: AirpipeServer = self.ctx.request.getfixturevalue("sink_server")
        self.sink_id = self.server.post("data_sinks/create", {"workspaceId": str(DEFAULT_WORKSPACE_ID), "label": self.ctx.token})[
            "dataSinkId"
        ]

    def valid_config(self) -> dict[str, Any]:
        return {"url": self.server.url, "data_sink_id": self.sink_id}

    def bad_config(self) -> dict[str, Any]:
        return {**self.valid_config(), "data_sink_id": str(uuid.UUID(int=0))}

    def read_back(self) -> list[dict[str, Any]]:
        entries = self.server.post("data_sinks/get", {"dataSinkId": self.sink_id, "includeEntries": True})["entries"]
        return sorted((entry["value"] for entry in entries), key=lambda record: record["id"])


@pytest.fixture(scope="module")
def sink_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirpipeServer]:
    """The API the data-sink destination writes to (destinations have no database of their own)."""
    with AirpipeServer(tmp_path_factory.mktemp("sink-server")) as server:
        yield server


FIXTURES: dict[str, type[Builtin]] = {
    registry.FAKER.docker_repository: FakerFixture,
    registry.FILE_SOURCE.docker_repository: FileFixture,
    registry.POSTGRES_SOURCE.docker_repository: PostgresSourceFixture,
    registry.LOCAL_JSON.docker_repository: LocalJsonFixture,
    registry.POSTGRES_DESTINATION.docker_repository: PostgresDestinationFixture,
    registry.SQLITE_DESTINATION.docker_repository: SqliteFixture,
    registry.DATA_SINK_DESTINATION.docker_repository: DataSinkFixture,
}

#: the data sink's by-design departures (tests/destinations/test_data_sink.py covers its writes)
NO_PRIMARY_KEY = "by design: a data sink keys entries by the stream's primary key, and this catalog has none"
NO_OVERWRITE = "by design: no overwrite (a sink is upserted by key, never emptied: it may have other writers)"
#: (test name, repository) -> the bug it fails on; each becomes a strict xfail
KNOWN_BUGS: dict[tuple[str, str], str] = {
    ("test_spec", "airpipe/destination-data-sink"): NO_OVERWRITE,
    ("test_write_keeps_records_whose_values_do_not_fit", "airpipe/destination-data-sink"): NO_PRIMARY_KEY,
    ("test_write_keeps_records_with_numbers_beyond_doubles", "airpipe/destination-data-sink"): NO_PRIMARY_KEY,
    ("test_write_fails_on_a_record_whose_text_is_not_unicode", "airpipe/destination-data-sink"): NO_PRIMARY_KEY,
    ("test_write_echoes_every_state_after_its_data", "airpipe/destination-data-sink"): NO_PRIMARY_KEY,
    ("test_write_echoes_a_state_while_input_stays_open", "airpipe/destination-data-sink"): NO_PRIMARY_KEY,
    ("test_a_killed_overwrite_keeps_the_previous_data", "airpipe/destination-data-sink"): NO_PRIMARY_KEY,
}


def builtins(test: str, kind: str | None = None, where: Callable[[type[Builtin]], bool] | None = None) -> list[Any]:
    """The parameters of a test: every built-in (of ``kind``) in the registry, a built-in without a
    fixture included (it fails), with the marks it needs."""
    params = []
    for definition in registry.BUILTIN_DEFINITIONS:
        if kind is not None and definition.actor_type != kind:
            continue
        fixture = FIXTURES.get(definition.docker_repository)
        if where is not None and fixture is not None and not where(fixture):
            continue
        marks = [pytest.mark.postgres] if "postgres" in definition.docker_repository else []
        bug = KNOWN_BUGS.get((test, definition.docker_repository))
        if bug is not None:
            marks.append(pytest.mark.xfail(strict=True, reason=bug))
        params.append(pytest.param(definition.docker_repository, marks=marks, id=definition.docker_repository.split("/")[-1]))
    return params


def test_every_builtin_has_a_fixture() -> None:
    definitions = {d.docker_repository: d for d in registry.BUILTIN_DEFINITIONS}
    assert sorted(definitions) == sorted(FIXTURES), "every built-in needs a conformance fixture in FIXTURES (and only they)"
    for repository, definition in definitions.items():
        assert FIXTURES[repository].kind == definition.actor_type, repository
        assert registry.resolve(repository)[1:] == ["-m", definition.module]


@pytest.fixture
def builtin(request: pytest.FixtureRequest, tmp_path: Path, logs: Logs) -> Iterator[Builtin]:
    repository: str = request.param
    fixture = FIXTURES.get(repository)
    if fixture is None:
        pytest.fail(f"the built-in {repository} has no conformance fixture: add one to FIXTURES in {Path(__file__).name}")
    root = tmp_path / "local"
    root.mkdir()
    ctx = Context(request, root)
    made = fixture(ctx, repository)
    try:
        made.setup()
        yield made
        # whatever a test did, no secret may have reached a log line
        for secret in made.secrets:
            leaked = logs.containing(secret)
            assert not leaked, f"a secret of the config was logged: {leaked}"
    finally:
        for cleanup in reversed(ctx.cleanups):
            cleanup()


@pytest.fixture
def launcher(builtin: Builtin, logs: Logs) -> Launcher:
    return Launcher(
        registry.resolve(builtin.repository),
        env={"AIRPIPE_LOCAL_ROOT": str(builtin.ctx.root)},
        on_log=logs,
        timeout=30,
        kill_grace=5,
    )


def as_json(value: Any) -> Any:
    return json.loads(encode(value))


# SPEC AND CHECK (every built-in)


def secret_properties(schema: Any, path: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property schema, anywhere in a JSON schema (oneOf options and nested objects too), whose
    name says it is a secret."""
    if isinstance(schema, dict):
        properties = schema.get("properties")
        if isinstance(properties, dict):
            for name, prop in properties.items():
                if SECRET_NAME.search(name) and isinstance(prop, dict):
                    yield f"{path}.{name}", prop
        for key, value in schema.items():
            yield from secret_properties(value, f"{path}.{key}" if key != "properties" else path)
    elif isinstance(schema, list):
        for i, item in enumerate(schema):
            yield from secret_properties(item, f"{path}[{i}]")


@pytest.mark.parametrize("builtin", builtins("test_spec"), indirect=True)
def test_spec(builtin: Builtin, launcher: Launcher) -> None:
    spec = launcher.spec()
    assert isinstance(spec, ConnectorSpecification)
    schema = spec.connection_specification
    jsonschema.Draft7Validator.check_schema(schema)
    assert schema.get("type") == "object"
    for path, prop in secret_properties(schema):
        assert prop.get("airbyte_secret") is True, f"{path} looks like a secret but is not marked airbyte_secret"
    # the fixture's configs are what the spec describes (the bad one is bad beyond its shape, or by it)
    jsonschema.Draft7Validator(schema).validate(builtin.valid_config())
    if isinstance(builtin, DestinationBuiltin):
        modes = spec.supported_destination_sync_modes or []
        assert {DestinationSyncMode.append, DestinationSyncMode.overwrite} <= set(modes)


@pytest.mark.parametrize("builtin", builtins("test_check_valid_config"), indirect=True)
def test_check_valid_config(builtin: Builtin, launcher: Launcher) -> None:
    status = launcher.check(builtin.valid_config())
    assert status.status is Status.SUCCEEDED, status.message


@pytest.mark.parametrize("builtin", builtins("test_check_bad_config"), indirect=True)
def test_check_bad_config(builtin: Builtin, launcher: Launcher, logs: Logs) -> None:
    status = launcher.check(builtin.bad_config())
    assert status.status is Status.FAILED
    assert status.message and status.message.strip()
    for word in builtin.problem:
        assert word.lower() in status.message.lower(), f"the message does not name the problem ({word!r}): {status.message}"
    for secret in builtin.secrets:
        assert secret not in status.message
        assert not [message for _, message in logs if secret in message]


@pytest.mark.parametrize("builtin", builtins("test_bad_config_fails_the_other_verbs_cleanly"), indirect=True)
def test_bad_config_fails_the_other_verbs_cleanly(builtin: Builtin, launcher: Launcher) -> None:
    """discover (sources) and write (destinations) with the bad config: a failure, as a TRACE error
    that names the problem without the secret (the fixture checks the logs)."""
    if isinstance(builtin, SourceBuiltin):
        with pytest.raises(ConnectorError) as failed:
            launcher.discover(builtin.bad_config())
        message = str(failed.value)
    else:
        with launcher.write(builtin.bad_config(), destination_catalog(DestinationSyncMode.append)) as process:
            assert process.stdin is not None
            process.stdin.write(lines_of(records(1)) + state_line(DestinationBuiltin.STREAM, 1))
            process.stdin.close()
            echoed = [line for line in process if (m := process.handle_line(line)) is not None and m.type is MessageType.STATE]
            code = process.wait(30)
        assert code != 0 and echoed == []
        assert process.trace_error is not None
        message = process.trace_error.message
    for word in builtin.problem:
        assert word.lower() in message.lower(), f"the message does not name the problem ({word!r}): {message}"
    for secret in builtin.secrets:
        assert secret not in message


# SOURCES


def selected(catalog: AirbyteCatalog, name: str) -> AirbyteStream:
    found = [stream for stream in catalog.streams if stream.name == name]
    assert len(found) == 1, f"the source has no single stream {name!r}: {[s.name for s in catalog.streams]}"
    return found[0]


def configured(stream: AirbyteStream, sync_mode: SyncMode, cursor_field: list[str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"stream": as_json(stream), "sync_mode": sync_mode.value, "destination_sync_mode": "append"}
    if cursor_field is not None:
        entry["cursor_field"] = cursor_field
    return {"streams": [entry]}


class Read:
    def __init__(self) -> None:
        self.records: list[tuple[str, str | None, dict[str, Any]]] = []  # (stream, namespace, data)
        self.states: list[dict[str, Any]] = []
        self.exit_code: int | None = None
        self.error: Any = None


def read(launcher: Launcher, config: dict[str, Any], catalog: dict[str, Any], state: Any = None) -> Read:
    result = Read()
    with launcher.read(config, catalog, state) as process:
        for line in process:
            message = process.handle_line(line)
            if message is None:
                continue
            if message.type is MessageType.RECORD and message.record is not None:
                result.records.append((message.record.stream, message.record.namespace, message.record.data))
            elif message.type is MessageType.STATE and message.state is not None:
                result.states.append(as_json(message.state))
        result.exit_code = process.wait(30)
        result.error = process.trace_error
    assert result.exit_code == 0 and result.error is None, f"the read failed: {result.error} {process.last_lines}"
    return result


def raw_catalog(launcher: Launcher, config: dict[str, Any], directory: Path) -> dict[str, Any]:
    """The CATALOG message as the connector printed it (the Struct fills in defaults, such as
    supported_sync_modes, that the wire must carry)."""
    path = directory / "discover-config.json"
    path.write_text(json.dumps(config))
    env = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ} | launcher.env
    done = subprocess.run([*launcher.command, "discover", "--config", str(path)], env=env, capture_output=True, timeout=30, check=False)
    path.unlink()
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    catalogs = [json.loads(line) for line in done.stdout.splitlines() if line.startswith(b"{") and b'"CATALOG"' in line]
    assert len(catalogs) == 1
    return catalogs[0]["catalog"]


@pytest.mark.parametrize("builtin", builtins("test_discover", "source"), indirect=True)
def test_discover(builtin: SourceBuiltin, launcher: Launcher, tmp_path: Path) -> None:
    catalog = launcher.discover(builtin.valid_config())
    assert len(catalog.streams) >= 1
    names = [(stream.namespace, stream.name) for stream in catalog.streams]
    assert len(set(names)) == len(names), f"streams named twice: {names}"
    for stream in catalog.streams:
        jsonschema.Draft7Validator.check_schema(stream.json_schema)
        assert stream.json_schema.get("type") == "object", stream.name
        assert stream.supported_sync_modes
    for stream in raw_catalog(launcher, builtin.valid_config(), tmp_path)["streams"]:
        assert stream.get("supported_sync_modes"), f"{stream['name']} lists no supported_sync_modes"
        assert set(stream["supported_sync_modes"]) <= {mode.value for mode in SyncMode}


@pytest.mark.parametrize("builtin", builtins("test_incremental_is_claimed_as_expected", "source"), indirect=True)
def test_incremental_is_claimed_as_expected(builtin: SourceBuiltin, launcher: Launcher) -> None:
    """Faker and Postgres offer incremental on every stream; File is full refresh only and must not claim it."""
    spec = launcher.spec()
    catalog = launcher.discover(builtin.valid_config())
    claimed = {stream.name: SyncMode.incremental in stream.supported_sync_modes for stream in catalog.streams}
    if builtin.incremental:
        assert all(claimed.values()), claimed
        assert spec.supports_incremental is True
    else:
        assert not any(claimed.values()), claimed
        assert not spec.supports_incremental
        assert all(stream.source_defined_cursor is not True and not stream.default_cursor_field for stream in catalog.streams)


@pytest.mark.parametrize("builtin", builtins("test_read_one_stream", "source"), indirect=True)
def test_read_one_stream(builtin: SourceBuiltin, launcher: Launcher) -> None:
    config = builtin.valid_config()
    stream = selected(launcher.discover(config), builtin.stream)
    result = read(launcher, config, configured(stream, SyncMode.full_refresh))
    assert result.records, "the stream has data but none was read"
    assert {(name, namespace) for name, namespace, _ in result.records} == {(stream.name, stream.namespace)}
    for state in result.states:
        if state.get("type") == "STREAM":
            assert state["stream"]["stream_descriptor"]["name"] == stream.name


@pytest.mark.parametrize("builtin", builtins("test_records_match_the_discovered_schema", "source"), indirect=True)
def test_records_match_the_discovered_schema(builtin: SourceBuiltin, launcher: Launcher) -> None:
    config = builtin.valid_config()
    catalog = launcher.discover(config)
    stream = selected(catalog, builtin.stream)
    result = read(launcher, config, configured(stream, SyncMode.full_refresh))
    validator = jsonschema.Draft7Validator(stream.json_schema)
    assert result.records
    for _, _, data in result.records:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
        assert not errors, f"record {data} does not match the discovered schema: {errors}"


@pytest.mark.parametrize(
    "builtin",
    builtins("test_edge_values_match_the_discovered_schema", "source", lambda fixture: fixture.edge_stream is not None),
    indirect=True,
)
def test_edge_values_match_the_discovered_schema(builtin: SourceBuiltin, launcher: Launcher, logs: Logs) -> None:
    """The schema describes every value the source can send, not only the ordinary ones."""
    assert builtin.edge_stream is not None
    config = builtin.edge_config()
    stream = selected(launcher.discover(config), builtin.edge_stream)
    result = read(launcher, config, configured(stream, SyncMode.full_refresh))
    dropped = [message for level, message in logs if level == "ERROR"]
    assert not dropped, f"lines that are not valid messages: {dropped}"
    assert len(result.records) == 3
    validator = jsonschema.Draft7Validator(stream.json_schema)
    errors = [f"{data}: {list(e.absolute_path)}: {e.message}" for _, _, data in result.records for e in validator.iter_errors(data)]
    assert not errors, "records do not match the discovered schema:\n" + "\n".join(errors)


def last_states(states: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the platform saves from a read: the last STATE of each stream (or the last global/legacy one)."""
    saved: dict[Any, dict[str, Any]] = {}
    for state in states:
        stream = state.get("stream")
        key = (stream["stream_descriptor"]["name"], stream["stream_descriptor"].get("namespace")) if stream else state.get("type")
        saved[key] = state
    return list(saved.values())


@pytest.mark.parametrize(
    "builtin", builtins("test_incremental_read_resumes_from_its_state", "source", lambda fixture: fixture.incremental), indirect=True
)
def test_incremental_read_resumes_from_its_state(builtin: SourceBuiltin, launcher: Launcher) -> None:
    config = builtin.valid_config()
    stream = selected(launcher.discover(config), builtin.stream)
    cursor = builtin.cursor_field if not stream.source_defined_cursor else None
    catalog = configured(stream, SyncMode.incremental, cursor)
    first = read(launcher, config, catalog)
    assert first.records and first.states, "an incremental read must emit records and a final STATE"
    second = read(launcher, config, catalog, last_states(first.states))
    assert second.records == [], "nothing changed since the first read, yet records were read again"


# DESTINATIONS


def record_line(stream: str, data: dict[str, Any]) -> bytes:
    return json.dumps({"type": "RECORD", "record": {"stream": stream, "data": data, "emitted_at": 1_700_000_000_000}}).encode() + b"\n"


def state_line(stream: str, n: int) -> bytes:
    state = {"type": "STREAM", "stream": {"stream_descriptor": {"name": stream}, "stream_state": {"n": n}}}
    return json.dumps({"type": "STATE", "state": state}).encode() + b"\n"


def destination_catalog(mode: DestinationSyncMode) -> dict[str, Any]:
    stream = {
        "name": DestinationBuiltin.STREAM,
        "json_schema": {"type": "object", "properties": DestinationBuiltin.PROPERTIES},
        "supported_sync_modes": ["full_refresh", "incremental"],
    }
    return {"streams": [{"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": mode.value}]}


def records(*ids: int, tag: str = "") -> list[dict[str, Any]]:
    names = ["Ada", 'Zoë "quoted", with a comma', "tab\there\nand a new line", None, "ünïcödé ✓"]
    amounts = [1.5, -2, 1000.25, 0, 3]
    return [{"id": i, "name": names[i % len(names)] and f"{names[i % len(names)]}{tag}", "amount": amounts[i % len(amounts)]} for i in ids]


def normal(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Records as comparable values: numbers as floats (Decimal from PostgreSQL, REAL from SQLite)."""

    def number(value: Any) -> Any:
        return float(value) if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool) else value

    return sorted(({key: number(value) for key, value in row.items()} for row in rows), key=lambda row: row["id"])


def lines_of(data: list[dict[str, Any]]) -> bytes:
    return b"".join(record_line(DestinationBuiltin.STREAM, record) for record in data)


def write_all(launcher: Launcher, builtin: DestinationBuiltin, mode: DestinationSyncMode, data: list[dict[str, Any]]) -> None:
    """A whole write of ``data`` and a STATE; it must succeed."""
    with launcher.write(builtin.valid_config(), destination_catalog(mode)) as process:
        assert process.stdin is not None
        process.stdin.write(lines_of(data) + state_line(DestinationBuiltin.STREAM, 1))
        process.stdin.close()
        echoed = [message for line in process if (message := process.handle_line(line)) is not None]
        code = process.wait(30)
    assert code == 0, process.last_lines
    assert [m.type for m in echoed if m.type is MessageType.STATE] == [MessageType.STATE]


def write_misfits(launcher: Launcher, builtin: DestinationBuiltin, payload: bytes, ids: list[int]) -> None:
    """Records whose values do not fit the schema are written anyway (a SQL destination NULLs what
    its column cannot hold, noting it in _airbyte_meta): a bad value must not fail the sync."""
    with launcher.write(builtin.valid_config(), destination_catalog(DestinationSyncMode.append)) as process:
        assert process.stdin is not None
        process.stdin.write(payload + state_line(DestinationBuiltin.STREAM, 1))
        process.stdin.close()
        echoed = [line for line in process if (m := process.handle_line(line)) is not None and m.type is MessageType.STATE]
        code = process.wait(30)
    error = process.trace_error.message if process.trace_error is not None else None
    assert code == 0 and error is None, f"the write failed ({error})"
    assert len(echoed) == 1
    assert [row["id"] for row in builtin.read_back()] == ids


@pytest.mark.parametrize("builtin", builtins("test_write_keeps_records_whose_values_do_not_fit", "destination"), indirect=True)
def test_write_keeps_records_whose_values_do_not_fit(builtin: DestinationBuiltin, launcher: Launcher) -> None:
    data = [
        {"id": 10, "name": {"an": ["object"]}, "amount": "12.5"},
        {"id": 11, "name": 42, "amount": True},
        {"id": 12, "name": "no amount"},
        {"id": 13, "name": "x\u0000y", "amount": [1]},
    ]
    write_misfits(launcher, builtin, lines_of(data), [10, 11, 12, 13])


@pytest.mark.parametrize("builtin", builtins("test_write_keeps_records_with_numbers_beyond_doubles", "destination"), indirect=True)
def test_write_keeps_records_with_numbers_beyond_doubles(builtin: DestinationBuiltin, launcher: Launcher) -> None:
    """JSON numbers have no range: 1e400 is valid JSON (the File source passes CSV numbers on as
    written, and the worker passes records on as raw bytes), though no double holds it."""
    data = [{"id": 20, "name": "huge", "amount": 1.0}, {"id": 21, "name": "tiny", "amount": 2.0}]
    payload = lines_of(data).replace(b'"amount": 1.0', b'"amount": 1e400').replace(b'"amount": 2.0', b'"amount": -1e400')
    assert payload.count(b"e400") == 2
    write_misfits(launcher, builtin, payload, [20, 21])


#: a record whose text is not valid Unicode, and the words the failure must hold (stream and field)
BAD_TEXT = {
    "lone-surrogate": (b'"name": "before\\ud800after"', "a lone surrogate"),
    "not-utf8": (b'"name": "before\xffafter"', "bytes that are not UTF-8"),
}


@pytest.mark.parametrize("bad_text", BAD_TEXT)
@pytest.mark.parametrize("builtin", builtins("test_write_fails_on_a_record_whose_text_is_not_unicode", "destination"), indirect=True)
def test_write_fails_on_a_record_whose_text_is_not_unicode(builtin: DestinationBuiltin, launcher: Launcher, bad_text: str) -> None:
    """Issue 9, item 4: such a record can be neither stored as it is nor decoded, and replacing its
    text would lose data quietly: the write fails, naming the stream and field, and commits nothing.
    Records are passed on as the bytes they arrived as (the worker does not read them), so each
    destination must find it, in any line of a block (records before and after it, compact or not)."""
    stream = DestinationBuiltin.STREAM
    old = records(1, 2, tag=" (old)")
    write_all(launcher, builtin, DestinationSyncMode.overwrite, old)
    text, what = BAD_TEXT[bad_text]
    bad = record_line(stream, {"id": 9, "name": "placeholder"}).replace(b'"name": "placeholder"', text)
    compact = json.dumps({"type": "RECORD", "record": {"stream": stream, "data": {"id": 7}, "emitted_at": 1}}, separators=(",", ":"))
    payload = lines_of(records(3, 4)) + compact.encode() + b"\n" + bad + lines_of(records(5, 6)) + state_line(stream, 1)
    with launcher.write(builtin.valid_config(), destination_catalog(DestinationSyncMode.overwrite)) as process:
        assert process.stdin is not None
        process.stdin.write(payload)
        process.stdin.close()
        echoed = [line for line in process if (m := process.handle_line(line)) is not None and m.type is MessageType.STATE]
        code = process.wait(30)
    assert code != 0 and process.trace_error is not None, "the write succeeded"
    assert echoed == []
    expected = f"a record of stream '{stream}' holds text that is not valid Unicode ({what}) in field 'name': it cannot be passed on"
    assert process.trace_error.message.endswith(expected), process.trace_error.message
    assert normal(builtin.read_back()) == normal(old)


class Lines:
    """A process's stdout lines, read by a thread, so they can be awaited with a timeout."""

    def __init__(self, process: ConnectorProcess) -> None:
        self.process = process
        self.queue: queue.Queue[bytes | None] = queue.Queue()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            for line in self.process.stdout:
                self.queue.put(line)
        except (ValueError, OSError):  # closed under us (the test failed and the process is stopped)
            pass
        finally:
            self.queue.put(None)

    def next_state(self, timeout: float) -> dict[str, Any] | None:
        """The next STATE echoed (as JSON); None at the end of the output or after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return None
            if line is None:
                self.queue.put(None)  # the end stays the end
                return None
            message = self.process.handle_line(line)
            if message is not None and message.type is MessageType.STATE:
                return dict(json.loads(line)["state"])


@pytest.mark.parametrize("builtin", builtins("test_write_echoes_every_state_after_its_data", "destination"), indirect=True)
def test_write_echoes_every_state_after_its_data(builtin: DestinationBuiltin, launcher: Launcher) -> None:
    """Records and states in, all at once: every state echoed, in order, each when the records
    before it can be read back; exit 0; then the destination holds exactly the records."""
    stream = DestinationBuiltin.STREAM
    batches = [records(1, 2, 3), records(4, 5), records(6)]
    sent_states = [json.loads(state_line(stream, n))["state"] for n in range(1, len(batches) + 1)]
    before: list[list[dict[str, Any]]] = []  # the records sent before each state
    payload = b""
    for n, batch in enumerate(batches, 1):
        payload += lines_of(batch) + state_line(stream, n)
        before.append([r for b in batches[:n] for r in b])
    echoed: list[dict[str, Any]] = []
    with launcher.write(builtin.valid_config(), destination_catalog(DestinationSyncMode.append)) as process:
        assert process.stdin is not None
        process.stdin.write(payload)
        process.stdin.close()
        for line in process:
            message = process.handle_line(line)
            if message is None or message.type is not MessageType.STATE:
                continue
            echoed.append(json.loads(line)["state"])
            index = sent_states.index(echoed[-1]) if echoed[-1] in sent_states else None
            assert index is not None, f"echoed a state it was never sent: {echoed[-1]}"
            held = {row["id"] for row in builtin.read_back()}
            missing = [r["id"] for r in before[index] if r["id"] not in held]
            assert not missing, f"state {index + 1} was echoed before records {missing} could be read"
        code = process.wait(30)
    assert code == 0 and process.trace_error is None, process.last_lines
    assert echoed == sent_states
    assert normal(builtin.read_back()) == normal([r for batch in batches for r in batch])


@pytest.mark.parametrize("builtin", builtins("test_write_echoes_a_state_while_input_stays_open", "destination"), indirect=True)
def test_write_echoes_a_state_while_input_stays_open(builtin: DestinationBuiltin, launcher: Launcher) -> None:
    """A state is committed when the input pauses, not only at its end: the platform saves states
    as a long sync goes, and the records before the state are readable by then."""
    stream = DestinationBuiltin.STREAM
    first, second = records(1, 2, 3), records(4, 5)
    with launcher.write(builtin.valid_config(), destination_catalog(DestinationSyncMode.append)) as process:
        assert process.stdin is not None
        lines = Lines(process)
        process.stdin.write(lines_of(first) + state_line(stream, 1))
        process.stdin.flush()
        state = lines.next_state(ECHO_TIMEOUT)
        assert state == json.loads(state_line(stream, 1))["state"], f"no echo within {ECHO_TIMEOUT} s while the input paused"
        assert normal(builtin.read_back()) == normal(first)
        process.stdin.write(lines_of(second) + state_line(stream, 2))
        process.stdin.close()
        assert lines.next_state(30) == json.loads(state_line(stream, 2))["state"]
        assert normal(builtin.read_back()) == normal(first + second)
        assert lines.next_state(30) is None
        code = process.wait(30)
        lines.thread.join(5)
    assert code == 0 and process.trace_error is None, process.last_lines


@pytest.mark.parametrize("grace", [5.0, 0.0], ids=["sigterm", "sigkill"])
@pytest.mark.parametrize("builtin", builtins("test_a_killed_overwrite_keeps_the_previous_data", "destination"), indirect=True)
def test_a_killed_overwrite_keeps_the_previous_data(builtin: DestinationBuiltin, launcher: Launcher, grace: float) -> None:
    """kill() before the end of the input, after a STATE: the old data stays, whole; a state echoed
    would say the new data was committed, which it must not be. The next write still works."""
    stream = DestinationBuiltin.STREAM
    old, new = records(1, 2, 3, tag=" (old)"), records(2, 3, 4, 5, tag=" (new)")
    write_all(launcher, builtin, DestinationSyncMode.overwrite, old)
    assert normal(builtin.read_back()) == normal(old)

    with launcher.write(builtin.valid_config(), destination_catalog(DestinationSyncMode.overwrite)) as process:
        assert process.stdin is not None
        process.stdin.write(lines_of(new) + state_line(stream, 1) + lines_of(records(6, tag=" (new)")))
        process.stdin.flush()
        # a deliberate gap: the destination takes the input in (and may load it into its staging)
        # before the kill; destinations show no common sign of having done so that could be polled
        time.sleep(0.5)
        assert process.process.poll() is None, process.last_lines
        process.kill(grace)
        echoed = [line for line in process if (m := process.handle_line(line)) is not None and m.type is MessageType.STATE]
    assert echoed == [], "a state of an overwrite stream was echoed before the end of the input"
    assert normal(builtin.read_back()) == normal(old)

    newest = records(7, 8, tag=" (newest)")
    write_all(launcher, builtin, DestinationSyncMode.overwrite, newest)
    assert normal(builtin.read_back()) == normal(newest)
