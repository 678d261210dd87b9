"""The write loop the SQL destinations share (``airpipe.destinations.loading.batching``), with tables that
record what they are given: which rows came in a run at once (the bulk path), which one by one."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import msgspec
import pytest
from msgspec.structs import astuple

from airpipe.destinations.loading import batching, blocks
from airpipe.destinations.loading.rows import RawIds, RowCodec
from airpipe.destinations.loading.sql import Column, Kind, StreamSpec
from airpipe.protocol import DestinationSyncMode

USERS = [Column("id", "id", Kind.INTEGER), Column("name", "name", Kind.STRING)]
NULLED = {"change": "NULLED", "reason": "DESTINATION_TYPECAST_ERROR"}
TRUNCATED = {"change": "TRUNCATED", "reason": "DESTINATION_SERIALIZATION_ERROR"}


class Table:
    """Keeps rows as ("bulk" or "line", values, emitted_at, changes); ``runs`` are the sizes of the
    runs added at once, ``controls`` what each was told about control characters."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.rows: list[tuple[str, list[Any], Any, Any]] = []
        self.runs: list[int] = []
        self.controls: list[bool] = []

    def add(self, values: Any, emitted_at: Any, changes: Any) -> None:
        self.rows.append(("line", list(values), emitted_at, changes))

    def add_rows(self, rows: list[Any], emitted_ats: list[Any], controls: bool) -> None:
        self.runs.append(len(rows))
        self.controls.append(controls)
        self.rows += [("bulk", list(astuple(row)[1:-1]), at, None) for row, at in zip(rows, emitted_ats, strict=True)]

    def take(self) -> list[Any] | None:
        rows, self.rows = self.rows, []
        return rows or None


class Loader:
    def __init__(self, events: list[Any]) -> None:
        self.events = events

    def load(self, batch: list[tuple[Table, list[Any]]]) -> None:
        self.events.append(("load", {table.name: rows for table, rows in batch}))

    def finish(self) -> None:
        self.events.append(("finish", None))

    def interrupt(self) -> None:
        pass

    def abort(self) -> None:
        self.events.append(("abort", None))


def target(name: str, columns: list[Column] = USERS, namespace: str | None = None) -> batching.Target:
    spec = StreamSpec(name, namespace, DestinationSyncMode.append, [], [], columns)
    return batching.Target(spec, RowCodec(columns), Table(name))


def record(stream: str, data: Any, emitted_at: int = 1700000000000, namespace: str | None = None, **more: Any) -> bytes:
    fields = {"stream": stream, "data": data, "emitted_at": emitted_at, **more}
    if namespace is not None:
        fields["namespace"] = namespace
    return json.dumps({"type": "RECORD", "record": fields}).encode() + b"\n"


def state(n: int) -> bytes:
    return json.dumps({"type": "STATE", "state": {"type": "LEGACY", "data": {"n": n}}}).encode() + b"\n"


def write(tmp_path: Path, targets: list[batching.Target], *lines: bytes, batch_rows: int = 1000) -> list[Any]:
    """The events of a whole write: ("load", {table: rows}), ("state", line) as echoed, ("finish", None)."""
    path = tmp_path / "input.jsonl"
    path.write_bytes(b"".join(lines))
    events: list[Any] = []
    with path.open("rb") as input:
        for line in batching.write(input, targets, Loader(events), batch_rows=batch_rows):
            events.append(("state", line))
    return events


def committed(events: list[Any], table: str) -> list[tuple[str, list[Any], Any, Any]]:
    return [row for kind, batch in events if kind == "load" for row in batch.get(table, [])]


def users(n: int, start: int = 0) -> list[bytes]:
    return [record("users", {"id": i, "name": f"user {i}"}) for i in range(start, start + n)]


# THE BULK PATH


def test_a_block_of_records_is_added_as_one_run(tmp_path: Path) -> None:
    users_ = target("users")
    events = write(tmp_path, [users_], b'{"type":"LOG","log":{"level":"INFO","message":"hi"}}\n', *users(50))
    assert committed(events, "users") == [("bulk", [i, f"user {i}"], 1700000000000, None) for i in range(50)]
    assert users_.table.runs == [50]
    assert users_.table.controls == [False]


def test_values_are_typed_the_same_in_bulk_and_line_by_line(tmp_path: Path) -> None:
    columns = [
        Column("i", "i", Kind.INTEGER),
        Column("n", "n", Kind.NUMBER),
        Column("b", "b", Kind.BOOLEAN),
        Column("t", "t", Kind.TIMESTAMP),
        Column("d", "d", Kind.DATE),
        Column("o", "o", Kind.OBJECT),
        Column("a", "a", Kind.ARRAY),
        Column("j", "j", Kind.JSON),
        Column("s", "s", Kind.STRING),
    ]
    data = {"i": 1, "n": 0.5, "b": True, "t": "2024-01-02T03:04:05Z", "d": "2024-01-02", "o": {"k": [1]}, "a": [1], "j": "x", "s": "é"}
    nulls = {"o": None, "a": None, "j": None}
    lines = [record("t", data), record("t", nulls)]
    bulk, by_line = target("t", columns), target("t", columns)
    by_line.codec.bulk = None  # this one's records take the per-line path
    rows = [[values for _, values, _, _ in committed(write(tmp_path, [t], *lines), "t")] for t in (bulk, by_line)]
    assert rows[0] == rows[1]
    assert rows[0][0][5:] == ['{"k": [1]}', "[1]", '"x"', "é"] and rows[0][1] == [None] * 9
    assert (bulk.table.runs, by_line.table.runs) == ([2], [])


def test_a_value_that_does_not_fit_takes_the_slow_path_in_its_place(tmp_path: Path) -> None:
    users_ = target("users")
    lines = users(4) + [record("users", {"id": "four", "name": "bad"})] + users(5, start=5)
    rows = committed(write(tmp_path, [users_], *lines), "users")
    assert [values for _, values, _, _ in rows] == [[i, f"user {i}"] for i in range(4)] + [[None, "bad"]] + [
        [i, f"user {i}"] for i in range(5, 10)
    ]
    assert rows[4] == ("line", [None, "bad"], 1700000000000, [{"field": "id", **NULLED}])
    assert users_.table.runs == [4, 5]


def test_a_json_value_of_the_wrong_shape_takes_the_slow_path(tmp_path: Path) -> None:
    columns = [Column("id", "id", Kind.INTEGER), Column("o", "o", Kind.OBJECT)]
    t = target("t", columns)
    lines = [record("t", {"id": 1, "o": {"a": 1}}), record("t", {"id": 2, "o": [1]}), record("t", {"id": 3, "o": None})]
    rows = committed(write(tmp_path, [t], *lines), "t")
    assert rows == [
        ("bulk", [1, '{"a": 1}'], 1700000000000, None),
        ("line", [2, None], 1700000000000, [{"field": "o", **NULLED}]),
        ("bulk", [3, None], 1700000000000, None),
    ]


def test_nul_characters_are_removed_and_noted_by_the_slow_path(tmp_path: Path) -> None:
    columns = [Column("s", "s", Kind.STRING), Column("j", "j", Kind.JSON)]
    t = target("t", columns)
    lines = [record("t", {"s": "a", "j": 1}), record("t", {"s": "b\x00c", "j": 2}), record("t", {"s": "d", "j": {"k\x00": 3}})]
    lines.append(record("t", {"s": "e", "j": 4}))
    rows = committed(write(tmp_path, [t], *lines), "t")
    assert rows == [
        ("bulk", ["a", "1"], 1700000000000, None),
        ("line", ["bc", "2"], 1700000000000, [{"field": "s", **TRUNCATED}]),
        ("line", ["d", '{"k":3}'], 1700000000000, [{"field": "j", **TRUNCATED}]),
        ("bulk", ["e", "4"], 1700000000000, None),
    ]


def test_control_characters_are_reported_to_the_table(tmp_path: Path) -> None:
    columns = [Column("s", "s", Kind.STRING), Column("j", "j", Kind.JSON)]
    plain, escaped, spaced = target("t", columns), target("t", columns), target("t", columns)
    write(tmp_path, [plain], record("t", {"s": 'a \\ " b', "j": {"k": "tab\\t"}}))
    write(tmp_path, [escaped], record("t", {"s": "a\nb", "j": 1}))
    # a tab between the tokens of a JSON value stays in its text as it came
    write(tmp_path, [spaced], b'{"type":"RECORD","record":{"stream":"t","data":{"s":"x","j":{"k":\t1}}}}\n')
    assert (plain.table.controls, escaped.table.controls, spaced.table.controls) == ([False], [True], [True])


def test_changes_a_source_reported_take_the_slow_path(tmp_path: Path) -> None:
    users_ = target("users")
    change = {"field": "name", "change": "TRUNCATED", "reason": "SOURCE_FIELD_SIZE_LIMITATION"}
    lines = users(2) + [record("users", {"id": 2}, meta={"changes": [change]}), record("users", {"id": 3}, meta={"changes": []})]
    rows = committed(write(tmp_path, [users_], *lines), "users")
    assert [(path, changes) for path, _, _, changes in rows] == [("bulk", None), ("bulk", None), ("line", [change]), ("bulk", None)]


def test_a_record_with_the_keys_of_the_bulk_rows_fields_keeps_its_values(tmp_path: Path) -> None:
    users_ = target("users")
    lines = [record("users", {"id": 1, "_airpipe_raw_id": "x", "_airpipe_extracted_at": 5}), *users(1, start=2)]
    rows = committed(write(tmp_path, [users_], *lines), "users")
    assert [values for _, values, _, _ in rows] == [[1, None], [2, "user 2"]]


def test_a_schemaless_stream_is_a_run_of_json_texts(tmp_path: Path) -> None:
    blobs = target("blobs", [Column(None, "_airbyte_data", Kind.JSON)])
    rows = committed(write(tmp_path, [blobs], record("blobs", {"a": [1, None]}), record("blobs", None)), "blobs")
    assert rows == [("bulk", ['{"a": [1, null]}'], 1700000000000, None), ("bulk", [None], 1700000000000, None)]


# STREAMS, STATES AND BATCHES


def test_runs_of_several_streams_in_one_block(tmp_path: Path) -> None:
    users_, orders = target("users"), target("orders")
    lines = users(3) + [record("orders", {"id": i}) for i in range(2)] + users(4, start=3)
    events = write(tmp_path, [users_, orders], *lines)
    assert [values for _, values, _, _ in committed(events, "users")] == [[i, f"user {i}"] for i in range(7)]
    assert [values for _, values, _, _ in committed(events, "orders")] == [[0, None], [1, None]]
    # the first record of another stream fails the decoder of the one before: it takes the per-line
    # path, which changes the stream, and the records after it are decoded together again
    assert (users_.table.runs, orders.table.runs) == ([3, 3], [1])


def test_interleaved_streams_keep_their_order(tmp_path: Path) -> None:
    users_, orders = target("users"), target("orders")
    lines = [record("users" if i % 3 else "orders", {"id": i}) for i in range(300)]
    events = write(tmp_path, [users_, orders], *lines)
    assert [values[0] for _, values, _, _ in committed(events, "users")] == [i for i in range(300) if i % 3]
    assert [values[0] for _, values, _, _ in committed(events, "orders")] == list(range(0, 300, 3))


def test_records_named_with_and_without_their_namespace(tmp_path: Path) -> None:
    users_ = target("users", namespace="ns")
    lines = [record("users", {"id": 0}, namespace="ns"), record("users", {"id": 1}), record("users", {"id": 2})]
    lines += [record("users", {"id": 3}, namespace="ns"), record("users", {"id": 4}, namespace="other")]
    events = write(tmp_path, [users_], *lines)
    assert [values[0] for _, values, _, _ in committed(events, "users")] == [0, 1, 2, 3, 4]


def test_states_are_echoed_in_order_once_the_rows_before_them_are_committed(tmp_path: Path) -> None:
    users_ = target("users")
    lines = users(10) + [state(1)] + users(5, start=10) + [state(2), state(3)] + users(5, start=15)
    events = write(tmp_path, [users_], *lines, batch_rows=4)
    loads = [len(batch["users"]) for kind, batch in events if kind == "load" and batch]
    assert max(loads) <= 4 and sum(loads) == 20
    echoed, rows = [], 0  # each state, and how many rows were committed when it was echoed
    for kind, value in events:
        if kind == "load":
            rows += len(value.get("users", []))
        elif kind == "state":
            echoed.append((value, rows))
    assert [line for line, _ in echoed] == [state(1), state(2), state(3)]
    assert [rows >= before for (_, rows), before in zip(echoed, (10, 15, 15), strict=True)] == [True] * 3


def test_a_batch_holds_batch_rows_records_even_within_a_run(tmp_path: Path) -> None:
    users_ = target("users")
    events = write(tmp_path, [users_], *users(10), batch_rows=3)
    assert [len(batch["users"]) for kind, batch in events if kind == "load" and batch] == [3, 3, 3, 1]


# LINES


# lines that straddle reads, and one block
BAD_LINE_CHUNKS = pytest.mark.parametrize("chunk", [64, 1 << 20])


@BAD_LINE_CHUNKS
def test_a_line_that_is_not_json_is_named_by_its_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(blocks, "CHUNK_BYTES", chunk)
    with pytest.raises(ValueError, match=r"^input line 5 is not a protocol message: JSON is malformed"):
        write(tmp_path, [target("users")], *users(2), b"\n", *users(1), b"oops\n", *users(3))


@BAD_LINE_CHUNKS
def test_two_messages_on_one_line_are_named_by_its_number(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(blocks, "CHUNK_BYTES", chunk)
    with pytest.raises(ValueError, match=r"^input line 3 is not a protocol message: JSON is malformed: trailing characters"):
        write(tmp_path, [target("users")], *users(2), users(1)[0][:-1] + b" " + users(1)[0], *users(3))


@BAD_LINE_CHUNKS
def test_a_line_of_several_messages_ending_in_a_misfit_is_named_by_its_number(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(blocks, "CHUNK_BYTES", chunk)
    bad = record("users", {"id": "x"})[:-1]
    with pytest.raises(ValueError, match=r"^input line 2 is not a protocol message: JSON is malformed: trailing characters"):
        write(tmp_path, [target("users")], *users(1), b" ".join([users(1)[0][:-1]] * 2 + [bad]) + b"\n")


@BAD_LINE_CHUNKS
def test_a_record_of_a_stream_not_in_the_catalog_is_named_by_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    monkeypatch.setattr(blocks, "CHUNK_BYTES", chunk)
    with pytest.raises(ValueError, match=r"^input line 4 is a record of stream 'orders', which is not in the catalog$"):
        write(tmp_path, [target("users")], *users(3), record("orders", {"id": 1}), *users(3))


def test_blank_lines_are_skipped(tmp_path: Path) -> None:
    users_ = target("users")
    events = write(tmp_path, [users_], *users(2), b"\n", b"  \r\n", *users(2, start=2))
    assert [values[0] for _, values, _, _ in committed(events, "users")] == [0, 1, 2, 3]


@pytest.mark.parametrize("chunk", [16, 100])
def test_lines_read_in_small_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    monkeypatch.setattr(blocks, "CHUNK_BYTES", chunk)  # lines longer than a read, and lines that straddle reads
    users_ = target("users")
    events = write(tmp_path, [users_], *users(30), state(1), *users(30, start=30))
    assert [values[0] for _, values, _, _ in committed(events, "users")] == list(range(60))
    assert [value for kind, value in events if kind == "state"] == [state(1)]


def test_bulk_rows_encode_as_arrays_of_their_fields() -> None:
    raw_ids = RawIds()
    codec = RowCodec([Column("id", "id", Kind.INTEGER), Column("j", "j", Kind.JSON)], raw_ids=raw_ids)
    assert codec.bulk is not None
    messages = codec.bulk.block_decoder(None, "t")(record("t", {"id": 7, "j": {"a": 1}}) + record("t", {"id": 8, "j": None}))
    rows, controls = codec.bulk.ready([message.record.data for message in messages])
    first, second = (row.raw_id for row in rows)
    assert uuid.UUID(first).version == 4 and first < second < raw_ids.next()  # taken as they were decoded
    # the extracted at is the table's to set: left as it is, it encodes as nothing
    expected = b'[["%s",7,"{\\"a\\": 1}",],["%s",8,null,]]' % (first.encode(), second.encode())
    assert (msgspec.json.encode(rows), controls) == (expected, False)


def test_rows_decoded_before_a_row_added_alone_get_ids_after_it() -> None:
    raw_ids = RawIds()
    codec = RowCodec(USERS, raw_ids=raw_ids)
    assert codec.bulk is not None
    messages = codec.bulk.block_decoder(None, "users")(b"".join(users(4)))
    rows, _ = codec.bulk.ready([message.record.data for message in messages])
    raw_ids.keep_order(rows[:2])
    decoded = [row.raw_id for row in rows]
    alone = raw_ids.take()  # as the slow path takes one for the record after those two
    raw_ids.keep_order(rows[2:])
    assert [row.raw_id for row in rows[:2]] == decoded[:2]
    assert decoded[:2] < [alone] < [row.raw_id for row in rows[2:]] and rows[2].raw_id < rows[3].raw_id
