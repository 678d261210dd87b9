"""Issue 9, item 10: first syncs that start together into one new schema all succeed.

Two writes that both find the schema missing both ran ``CREATE SCHEMA``; the second waited for the
first to commit, then failed on ``pg_namespace_nspname_index`` (``IF NOT EXISTS`` alone does not
help: it looks before it inserts). Here several PostgreSQL destination writes (and a check) run
against the test server in threads, each connected and then released together by a barrier, into
a fresh schema, round after round.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlparse

import msgspec
import psycopg2
import pytest

from airpipe.destinations import postgres
from airpipe.protocol import ConfiguredAirbyteCatalog, Status

pytestmark = pytest.mark.postgres

ROUNDS = 15
WRITERS = 3
#: the schemas every write of a round creates; two of them, so that two writes also need two locks
SCHEMAS = ("b", "a")


@pytest.fixture
def server(postgres_url: str) -> Iterator[Any]:
    connection = psycopg2.connect(postgres_url)
    connection.autocommit = True
    prefix = f"race_{uuid.uuid4().hex[:8]}"
    try:
        yield connection, prefix
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (prefix + "%",))
            for (schema,) in cursor.fetchall():
                cursor.execute(f'DROP SCHEMA "{schema}" CASCADE')
        connection.close()


def config_for(url: str, schema: str) -> dict[str, Any]:
    parsed = urlparse(url)
    return {
        "host": parsed.hostname,
        "port": parsed.port or 5432,
        "database": parsed.path.lstrip("/"),
        "username": parsed.username or "postgres",
        "password": parsed.password or "",
        "schema": schema,
    }


def catalog_for(writer: int, prefix: str) -> ConfiguredAirbyteCatalog:
    """Writer ``writer``'s own stream in each schema of the round (the order differs by writer)."""
    streams = []
    for schema in SCHEMAS if writer % 2 else reversed(SCHEMAS):
        stream = {"name": f"stream_{writer}", "namespace": f"{prefix}_{schema}", "supported_sync_modes": ["full_refresh"]}
        stream["json_schema"] = {"type": "object", "properties": {"id": {"type": "integer"}}}
        streams.append({"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "append"})
    return msgspec.convert({"streams": streams}, ConfiguredAirbyteCatalog)


def input_for(writer: int, prefix: str, directory: Path) -> IO[bytes]:
    """The write's input, a real file (the destination reads its stdin by file descriptor)."""
    records = [{"stream": f"stream_{writer}", "namespace": f"{prefix}_{s}", "data": {"id": writer}, "emitted_at": 1} for s in SCHEMAS]
    lines: list[dict[str, Any]] = [{"type": "RECORD", "record": record} for record in records]
    lines.append({"type": "STATE", "state": {"type": "LEGACY", "data": {"writer": writer}}})
    path = directory / f"{prefix}_{writer}.jsonl"
    path.write_bytes(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    return path.open("rb")


def test_first_writes_into_one_new_schema_all_succeed(
    postgres_url: str, server: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    admin, prefix = server
    connect = postgres.connect
    barrier = threading.Barrier(WRITERS + 1)

    def connect_then_wait(config: dict[str, Any]) -> Any:
        """Connected, every thread starts the destination's work at the same moment."""
        connection = connect(config)
        barrier.wait(30)
        return connection

    monkeypatch.setattr(postgres, "connect", connect_then_wait)
    for round_ in range(ROUNDS):
        round_prefix = f"{prefix}_{round_}"
        outcomes: dict[str, Any] = {}

        def write(writer: int, round_prefix: str = round_prefix, outcomes: dict[str, Any] = outcomes) -> None:
            try:
                config = config_for(postgres_url, f"{round_prefix}_a")
                with input_for(writer, round_prefix, tmp_path) as input:
                    out = list(postgres.Postgres().write(config, catalog_for(writer, round_prefix), input))
                outcomes[f"writer {writer}"] = [json.loads(line)["type"] for line in out]
            except Exception as exc:  # the outcome is asserted below, in the test's thread
                outcomes[f"writer {writer}"] = exc

        def check(round_prefix: str = round_prefix, outcomes: dict[str, Any] = outcomes) -> None:
            try:
                status = postgres.Postgres().check(config_for(postgres_url, f"{round_prefix}_b"))
                outcomes["check"] = (status.status, status.message)
            except Exception as exc:
                outcomes["check"] = exc

        threads = [threading.Thread(target=write, args=(writer,)) for writer in range(WRITERS)]
        threads.append(threading.Thread(target=check))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        expected = {f"writer {writer}": ["STATE"] for writer in range(WRITERS)}
        expected["check"] = (Status.SUCCEEDED, None)
        assert outcomes == expected, f"round {round_}"
        with admin.cursor() as cursor:
            cursor.execute(
                "SELECT schemaname, tablename FROM pg_tables WHERE schemaname LIKE %s AND tablename LIKE 'stream%%' ORDER BY 1, 2",
                (round_prefix + "%",),
            )
            tables = cursor.fetchall()
        assert tables == [(f"{round_prefix}_{s}", f"stream_{w}") for s in sorted(SCHEMAS) for w in range(WRITERS)]
