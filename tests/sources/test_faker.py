from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from typing import Any

import jsonschema
import msgspec
import pytest

from airpipe.connectors.launcher import Launcher
from airpipe.protocol import AirbyteMessage, MessageType, SyncMode, decode_message
from airpipe.sources.faker import CHUNK, STREAMS, Faker, first_id_after, read_stream, timestamp

Catalog = Callable[..., dict[str, Any]]


class Read(msgspec.Struct):
    records: list[bytes]  # RECORD lines without emitted_at (the only wall-clock field)
    data: dict[str, list[dict[str, Any]]]
    states: list[bytes]
    exit_code: int
    error: Any = None

    def ids(self, stream: str) -> list[int]:
        return [record["id"] for record in self.data.get(stream, [])]

    def final_states(self) -> list[Any]:
        """The last STATE of each stream, as a saved state list."""
        last = {}
        for line in self.states:
            state = msgspec.json.decode(line)["state"]
            last[state["stream"]["stream_descriptor"]["name"]] = state
        return list(last.values())


def read(faker: Launcher, config: dict[str, Any], catalog: dict[str, Any], state: Any = None) -> Read:
    result = Read([], {}, [], -1)
    with faker.read(config, catalog, state) as process:
        for line in process:
            message = process.handle_line(line)
            if message is None:
                continue
            if message.type is MessageType.RECORD:
                assert message.record is not None
                result.records.append(re.sub(rb',"emitted_at":\d+', b"", line))
                result.data.setdefault(message.record.stream, []).append(message.record.data)
            elif message.type is MessageType.STATE:
                result.states.append(line.rstrip(b"\n"))
        result.exit_code = process.wait(30)
        result.error = process.trace_error
    return result


def test_counts_and_checkpoints(faker: Launcher, faker_catalog: Catalog) -> None:
    result = read(faker, {"count": 25, "state_every": 10}, faker_catalog())
    assert result.exit_code == 0
    assert result.ids("users") == list(range(1, 26))
    assert result.ids("products") == [1, 2, 3]
    assert result.ids("purchases") == list(range(1, 26))
    cursors = [(s["stream"]["stream_descriptor"]["name"], s["stream"]["stream_state"]["updated_at"]) for s in map(_state, result.states)]
    assert cursors == [
        ("users", "2024-01-01T00:00:10Z"),
        ("users", "2024-01-01T00:00:20Z"),
        ("users", "2024-01-01T00:00:25Z"),
        ("products", "2024-01-01T00:00:03Z"),
        ("purchases", "2024-01-01T00:00:10Z"),
        ("purchases", "2024-01-01T00:00:20Z"),
        ("purchases", "2024-01-01T00:00:25Z"),
    ]
    assert result.states[0] == (
        b'{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},'
        b'"stream_state":{"updated_at":"2024-01-01T00:00:10Z"}}}}'
    )


def _state(line: bytes) -> Any:
    return msgspec.json.decode(line)["state"]


def test_records_match_the_discovered_schemas(faker: Launcher, faker_catalog: Catalog) -> None:
    result = read(faker, {"count": 30}, faker_catalog())
    schemas = {s.name: s.json_schema for s in Faker().discover({}).streams}
    for stream, records in result.data.items():
        for record in records:
            jsonschema.validate(record, schemas[stream])
            assert set(record) == set(schemas[stream]["properties"])
    assert result.data["users"][0]["email"].endswith("1@example.com")


def test_the_same_config_gives_the_same_bytes(faker: Launcher, faker_catalog: Catalog) -> None:
    first = read(faker, {"count": 40, "seed": 7}, faker_catalog())
    second = read(faker, {"count": 40, "seed": 7}, faker_catalog())
    other_seed = read(faker, {"count": 40, "seed": 8}, faker_catalog())
    assert len(first.records) == 40 + 4 + 40
    assert first.records == second.records
    assert first.data["users"] != other_seed.data["users"]


def test_raising_count_adds_records_and_keeps_the_old_ones(faker: Launcher, faker_catalog: Catalog) -> None:
    small = read(faker, {"count": 25}, faker_catalog())
    large = read(faker, {"count": 40}, faker_catalog())
    for stream in ("users", "products", "purchases"):
        assert large.data[stream][: len(small.data[stream])] == small.data[stream]
    cursors = [user["updated_at"] for user in large.data["users"]]
    assert cursors == sorted(cursors) and len(set(cursors)) == 40


def test_incremental_reads_resume_from_stream_state(faker: Launcher, faker_catalog: Catalog) -> None:
    first = read(faker, {"count": 25}, faker_catalog())
    resumed = read(faker, {"count": 40}, faker_catalog(), first.final_states())
    assert resumed.ids("users") == list(range(26, 41))
    assert resumed.ids("products") == [4]
    assert resumed.ids("purchases") == list(range(26, 41))
    full = read(faker, {"count": 40}, faker_catalog())
    assert resumed.records == [r for r in full.records if r not in first.records]


def test_nothing_new_emits_the_same_state_again(faker: Launcher, faker_catalog: Catalog) -> None:
    first = read(faker, {"count": 25}, faker_catalog("users"))
    again = read(faker, {"count": 25}, faker_catalog("users"), first.final_states())
    assert again.records == []
    assert again.states == first.states[-1:]


def test_a_legacy_state_blob_is_honoured(faker: Launcher, faker_catalog: Catalog) -> None:
    legacy = {"users": {"updated_at": "2024-01-01T00:00:20Z"}, "purchases": {"updated_at": "2024-01-01T00:00:30Z"}}
    result = read(faker, {"count": 35}, faker_catalog("users", "purchases"), legacy)
    assert result.ids("users") == list(range(21, 36))
    assert result.ids("purchases") == list(range(31, 36))


def test_full_refresh_ignores_state(faker: Launcher, faker_catalog: Catalog) -> None:
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "users"}, "stream_state": {"updated_at": "2024-01-01T00:00:20Z"}}}]
    result = read(faker, {"count": 25}, faker_catalog("users", sync_mode=SyncMode.full_refresh), state)
    assert result.ids("users") == list(range(1, 26))


def test_only_the_configured_streams_are_read(faker: Launcher, faker_catalog: Catalog) -> None:
    result = read(faker, {"count": 10}, faker_catalog("products"))
    assert Counter(_state(s)["stream"]["stream_descriptor"]["name"] for s in result.states) == {"products": 1}
    assert list(result.data) == ["products"]


def test_a_bad_cursor_is_a_config_error(faker: Launcher, faker_catalog: Catalog) -> None:
    state = {"users": {"updated_at": "yesterday"}}
    result = read(faker, {"count": 5}, faker_catalog("users"), state)
    assert result.exit_code == 1
    assert result.error.message == "the state's updated_at 'yesterday' is not an ISO 8601 timestamp"
    assert result.error.failure_type.value == "config_error"


def test_large_reads_print_whole_lines(faker: Launcher, faker_catalog: Catalog) -> None:
    # the fast path writes chunks of pre-encoded lines: each line must still be one whole message
    with faker.read({"count": 3000, "state_every": 500}, faker_catalog("users")) as process:
        types = Counter(decode_message(line).type for line in process)
        assert process.wait(30) == 0
    assert types == {MessageType.RECORD: 3000, MessageType.STATE: 6, MessageType.LOG: 1, MessageType.TRACE: 1}


@pytest.mark.parametrize(("state_every", "checkpoints"), [(4500, [4504, 9004, 10000]), (1, list(range(5, 10001))), (10**9, [10000])])
def test_checkpoints_do_not_depend_on_chunking(state_every: int, checkpoints: list[int]) -> None:
    items = list(read_stream(STREAMS["purchases"], 0, 5, 10000, state_every))
    lines = b"".join(item for item in items if isinstance(item, bytearray)).splitlines()
    assert [msgspec.json.decode(line)["record"]["data"]["id"] for line in lines] == list(range(5, 10001))
    states = [item.state for item in items if isinstance(item, AirbyteMessage)]
    assert [first_id_after(s.stream.stream_state["updated_at"]) - 1 for s in states] == checkpoints  # type: ignore[union-attr, index]
    assert max(len(item) for item in items if isinstance(item, bytearray)) < CHUNK * 200


@pytest.mark.parametrize(
    ("cursor", "first_id"),
    [
        ("2024-01-01T00:00:20Z", 21),
        ("2024-01-01T00:00:20.500Z", 21),
        ("2024-01-01T01:00:00+01:00", 1),
        ("2023-06-01T00:00:00Z", 1),
        ("2024-01-02T00:00:00", 86401),
    ],
)
def test_first_id_after(cursor: str, first_id: int) -> None:
    assert first_id_after(cursor) == first_id


def test_timestamps_count_seconds_from_2024() -> None:
    assert timestamp(1) == "2024-01-01T00:00:01Z"
    assert timestamp(86399) == "2024-01-01T23:59:59Z"
    assert timestamp(86400 * 31 + 3661) == "2024-02-01T01:01:01Z"
