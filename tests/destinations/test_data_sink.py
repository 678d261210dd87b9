"""The data-sink destination against a real `airpipe serve` (HTTP Basic on): keys from primary keys,
batches, STATE echoed only once the entries before it are on the server, and the failures that name
their cause (a stream or record without a primary key, wrong credentials, an unknown sink)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from suitekit import AirpipeServer
from wirekit import Wire

from airpipe.connectors import registry
from airpipe.connectors.launcher import Launcher
from airpipe.services.workspaces import DEFAULT_WORKSPACE_ID

USER, PASSWORD = "ada", "open sesame"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirpipeServer]:
    env = {"AIRPIPE_BASIC_AUTH_USER": USER, "AIRPIPE_BASIC_AUTH_PASSWORD": PASSWORD}
    with AirpipeServer(tmp_path_factory.mktemp("sink-api"), env, auth=f"{USER}:{PASSWORD}") as running:
        yield running


@pytest.fixture
def sink(server: AirpipeServer) -> dict[str, Any]:
    made: dict[str, Any] = server.post("data_sinks/create", {"workspaceId": str(DEFAULT_WORKSPACE_ID), "label": "test"})
    return made


@pytest.fixture
def config(server: AirpipeServer, sink: dict[str, Any]) -> dict[str, Any]:
    return {"url": server.url, "data_sink_id": sink["dataSinkId"], "username": USER, "password": PASSWORD}


@pytest.fixture
def launcher() -> Launcher:
    return Launcher(registry.resolve(registry.DATA_SINK_DESTINATION.docker_repository), timeout=60)


def entries(server: AirpipeServer, sink: dict[str, Any]) -> dict[str, Any]:
    read = server.post("data_sinks/get", {"dataSinkId": sink["dataSinkId"], "includeEntries": True})
    return {entry["key"]: entry["value"] for entry in read["entries"]}


def test_records_are_upserted_by_primary_key_in_batches(
    launcher: Launcher, server: AirpipeServer, sink: dict[str, Any], config: dict[str, Any]
) -> None:
    catalog = Wire.catalog("append_dedup", "orders", primary_key=[["shop"], ["id"]])
    lines = [Wire.record("orders", {"shop": "north", "id": i, "n": i}) for i in range(5)]
    lines.append(Wire.record("orders", {"shop": "north", "id": 1, "n": "again"}))  # the later one wins
    code, states, error = Wire.write(launcher, {**config, "batch_size": 2}, catalog, *lines, Wire.state("orders", 1))
    assert (code, error) == (0, None) and len(states) == 1
    assert entries(server, sink) == {f"north:{i}": {"shop": "north", "id": i, "n": "again" if i == 1 else i} for i in range(5)}


def test_a_state_is_echoed_once_the_records_before_it_are_on_the_server(
    launcher: Launcher, server: AirpipeServer, sink: dict[str, Any], config: dict[str, Any]
) -> None:
    catalog = Wire.catalog("append", "users", primary_key=[["id"]])
    with launcher.write(config, catalog) as process:
        assert process.stdin is not None
        process.stdin.write(Wire.record("users", {"id": 1}) + Wire.record("users", {"id": 2}) + Wire.state("users", 1))
        process.stdin.flush()  # input stays open: the pause sends the batch
        assert Wire.ready(process, 30), "no state echoed while the input paused"
        line = process.stdout.readline()
        assert json.loads(line)["state"]["stream"]["stream_state"] == {"n": 1}
        assert entries(server, sink) == {"1": {"id": 1}, "2": {"id": 2}}
        process.stdin.write(Wire.record("users", {"id": "three"}) + Wire.state("users", 2))
        process.stdin.close()
        rest = [line for line in process if process.handle_line(line) is not None]
        assert process.wait(30) == 0
    assert [json.loads(line)["state"]["stream"]["stream_state"] for line in rest] == [{"n": 2}]
    assert entries(server, sink)["three"] == {"id": "three"}


def test_a_stream_or_record_without_a_primary_key_fails_naming_the_stream(
    launcher: Launcher, server: AirpipeServer, sink: dict[str, Any], config: dict[str, Any]
) -> None:
    keyless = Wire.catalog("append", "events")
    code, states, error = Wire.write(launcher, config, keyless, Wire.record("events", {"id": 1}), Wire.state("events", 1))
    assert code != 0 and states == [] and error.message == "the stream 'events' has no primary key: a data sink keys its entries by it"

    keyed = Wire.catalog("append", "events", primary_key=[["id"]])
    lines = [Wire.record("events", {"id": 1}), Wire.state("events", 1), Wire.record("events", {"name": "no id"})]
    code, states, error = Wire.write(launcher, config, keyed, *lines)
    assert code != 0 and error.message == "a record of stream 'events' has no value for its primary key 'id'"
    assert entries(server, sink) == {}  # the batch before the failure was never sent
    assert states == []


def test_a_record_whose_text_is_not_unicode_fails_naming_stream_and_field(
    launcher: Launcher, sink: dict[str, Any], config: dict[str, Any]
) -> None:
    bad = Wire.record("users", {"id": 9, "name": "placeholder"}).replace(b'"placeholder"', b'"before\\ud800after"')
    code, states, error = Wire.write(launcher, config, Wire.catalog("append", "users", primary_key=[["id"]]), bad)
    assert code != 0 and states == []
    assert "a record of stream 'users' holds text that is not valid Unicode (a lone surrogate) in field 'name'" in error.message


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"password": "wrong"}, "refused the credentials (401)"),
        ({"data_sink_id": "00000000-0000-4000-8000-000000000000"}, "has no data sink 00000000-0000-4000-8000-000000000000"),
    ],
)
def test_check_and_write_name_what_is_wrong(launcher: Launcher, config: dict[str, Any], change: dict[str, str], message: str) -> None:
    assert launcher.check(config).status.value == "SUCCEEDED"
    status = launcher.check({**config, **change})
    assert status.status.value == "FAILED" and message in (status.message or "")
    assert "wrong" not in (status.message or "")
    code, _, error = Wire.write(launcher, {**config, **change}, Wire.catalog("append", "users", primary_key=[["id"]]))
    assert code != 0 and message in error.message
