"""The File source, run as a real process over files in a temporary local root and a local HTTP server."""

from __future__ import annotations

import functools
import gzip
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from airpipe.connectors import registry
from airpipe.connectors.launcher import Launcher
from airpipe.protocol import MessageType


@pytest.fixture
def root(tmp_path: Path) -> Path:
    local = tmp_path / "local"
    local.mkdir()
    return local


@pytest.fixture
def source(root: Path, logs: Any) -> Launcher:
    return Launcher(
        registry.resolve(registry.FILE_SOURCE.docker_repository), env={"AIRPIPE_LOCAL_ROOT": str(root)}, on_log=logs, timeout=30
    )


@pytest.fixture
def private_source(root: Path, logs: Any) -> Launcher:
    """The source with AIRPIPE_ALLOW_PRIVATE_URLS=1: it may read the test server on 127.0.0.1."""
    env = {"AIRPIPE_LOCAL_ROOT": str(root), "AIRPIPE_ALLOW_PRIVATE_URLS": "1"}
    return Launcher(registry.resolve(registry.FILE_SOURCE.docker_repository), env=env, on_log=logs, timeout=30)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A directory served on 127.0.0.1, and its base URL."""
    directory = tmp_path / "served"
    directory.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield directory, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class Read(msgspec.Struct):
    records: list[dict[str, Any]]
    streams: set[str]
    exit_code: int
    error: Any = None


def discover(source: Launcher, config: dict[str, Any]) -> dict[str, Any]:
    """The one stream, as JSON."""
    streams = source.discover(config).streams
    assert len(streams) == 1
    return msgspec.json.decode(msgspec.json.encode(streams[0]))


def read(source: Launcher, config: dict[str, Any], stream: dict[str, Any] | None = None) -> Read:
    stream = stream if stream is not None else discover(source, config)
    catalog = {"streams": [{"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}]}
    result = Read([], set(), -1)
    with source.read(config, catalog) as process:
        for line in process:
            message = process.handle_line(line)
            if message is not None and message.type is MessageType.RECORD:
                assert message.record is not None
                result.records.append(message.record.data)
                result.streams.add(message.record.stream)
        result.exit_code = process.wait(30)
        result.error = process.trace_error
    return result


PEOPLE = 'id,name,score,active,note\r\n1,Ada,1.5,true,\r\n2,"Bob, Jr.",2,FALSE,x\r\n\r\n3,Cy,-3e2,True,"two\nlines"\r\n'
PEOPLE_RECORDS = [
    {"id": 1, "name": "Ada", "score": 1.5, "active": True, "note": None},
    {"id": 2, "name": "Bob, Jr.", "score": 2, "active": False, "note": "x"},
    {"id": 3, "name": "Cy", "score": -300.0, "active": True, "note": "two\nlines"},
]


# CSV


def test_csv_types_are_inferred_and_values_converted(source: Launcher, root: Path) -> None:
    (root / "people.csv").write_text("\ufeff" + PEOPLE, newline="")
    stream = discover(source, {"url": "/local/people.csv"})
    assert stream["name"] == "people"
    assert stream["supported_sync_modes"] == ["full_refresh"]
    assert stream["json_schema"]["properties"] == {
        "id": {"type": "integer"},
        "name": {"type": "string"},
        "score": {"type": "number"},
        "active": {"type": "boolean"},
        "note": {"type": ["null", "string"]},
    }
    result = read(source, {"url": "people.csv"}, stream)
    assert result.exit_code == 0, result.error
    assert result.records == PEOPLE_RECORDS
    assert result.streams == {"people"}


def test_csv_numbers_are_sent_as_written(source: Launcher, root: Path) -> None:
    (root / "n.csv").write_text("x,code\n0.10,007\n12345678901234567890.5,12\n")
    stream = discover(source, {"url": "n.csv"})
    assert stream["json_schema"]["properties"] == {"x": {"type": "number"}, "code": {"type": "string"}}
    with source.read({"url": "n.csv"}, {"streams": [{"stream": stream}]}) as process:
        lines = [line for line in process if b'"RECORD"' in line]
    assert [line.split(b'"data":')[1].split(b',"emitted_at"')[0] for line in lines] == [
        b'{"x":0.10,"code":"007"}',
        b'{"x":12345678901234567890.5,"code":"12"}',
    ]


def test_csv_options_delimiter_header_and_dataset_name(source: Launcher, root: Path) -> None:
    (root / "data.tsv").write_text("a\tb\n1\tx\n")
    assert read(source, {"url": "data.tsv"}).records == [{"a": 1, "b": "x"}]
    (root / "semi.txt").write_text("1;x\n2;\n")
    config = {"url": "semi.txt", "format": "csv", "delimiter": ";", "header": False, "dataset_name": "rows"}
    stream = discover(source, config)
    assert stream["name"] == "rows"
    assert stream["json_schema"]["properties"] == {"column_1": {"type": "integer"}, "column_2": {"type": ["null", "string"]}}
    result = read(source, config, stream)
    assert result.records == [{"column_1": 1, "column_2": "x"}, {"column_1": 2, "column_2": None}]
    assert result.streams == {"rows"}


def test_csv_header_names_are_made_unique(source: Launcher, root: Path) -> None:
    (root / "dup.csv").write_text("a,a,,b\n1,2,3,4\n")
    assert read(source, {"url": "dup.csv"}).records == [{"a": 1, "a_2": 2, "column_3": 3, "b": 4}]


def test_a_mixed_column_is_a_string_and_an_empty_one_a_nullable_string(source: Launcher, root: Path) -> None:
    (root / "mixed.csv").write_text("m,e,n\n1,,1\ntrue,,2.5\n")
    stream = discover(source, {"url": "mixed.csv"})
    assert stream["json_schema"]["properties"] == {"m": {"type": "string"}, "e": {"type": ["null", "string"]}, "n": {"type": "number"}}
    assert read(source, {"url": "mixed.csv"}, stream).records == [{"m": "1", "e": None, "n": 1}, {"m": "true", "e": None, "n": 2.5}]


# JSON LINES


def test_jsonl_types_are_inferred_and_records_checked(source: Launcher, root: Path) -> None:
    lines = [
        {"id": 1, "price": 2, "tags": ["a"], "meta": {"k": 1}, "any": 1, "maybe": None},
        {"id": 2, "price": 2.5, "tags": [], "meta": {}, "any": "x", "late": True},
    ]
    (root / "events.jsonl").write_bytes(b"\xef\xbb\xbf" + b"\n".join(msgspec.json.encode(line) for line in lines) + b"\n\n")
    stream = discover(source, {"url": "events.jsonl"})
    assert stream["name"] == "events"
    assert stream["json_schema"]["properties"] == {
        "id": {"type": "integer"},
        "price": {"type": "number"},
        "tags": {"type": "array"},
        "meta": {"type": "object"},
        "any": {},
        "maybe": {"type": ["null", "string"]},
        "late": {"type": ["null", "boolean"]},
    }
    result = read(source, {"url": "events.jsonl"}, stream)
    assert result.exit_code == 0, result.error
    assert result.records == [
        {"id": 1, "price": 2, "tags": ["a"], "meta": {"k": 1}, "any": 1, "maybe": None, "late": None},
        {"id": 2, "price": 2.5, "tags": [], "meta": {}, "any": "x", "maybe": None, "late": True},
    ]


# COMPRESSION AND LOCATIONS


@pytest.mark.parametrize(("name", "config"), [("people.csv.gz", {}), ("people.bin", {"compression": "gzip", "format": "csv"})])
def test_gzip_files(source: Launcher, root: Path, name: str, config: dict[str, Any]) -> None:
    (root / name).write_bytes(gzip.compress(PEOPLE.encode()))
    result = read(source, {"url": f"/local/{name}", **config})
    assert result.exit_code == 0, result.error
    assert result.records == PEOPLE_RECORDS
    assert result.streams == {"people" if name.startswith("people.csv") else "people.bin"}


def test_jsonl_gzip(source: Launcher, root: Path) -> None:
    (root / "e.ndjson.gz").write_bytes(gzip.compress(b'{"a": 1}\n{"a": 2}\n'))
    assert read(source, {"url": "e.ndjson.gz"}).records == [{"a": 1}, {"a": 2}]


def test_http_urls_are_streamed(private_source: Launcher, http_root: tuple[Path, str]) -> None:
    source = private_source
    directory, base = http_root
    (directory / "people.csv.gz").write_bytes(gzip.compress(PEOPLE.encode()))
    (directory / "e.jsonl").write_bytes(b'{"a": "x"}\n')
    result = read(source, {"url": f"{base}/people.csv.gz?token=abc"})
    assert result.exit_code == 0, result.error
    assert result.records == PEOPLE_RECORDS
    assert read(source, {"url": f"{base}/e.jsonl"}).records == [{"a": "x"}]
    assert source.check({"url": f"{base}/e.jsonl"}).status.value == "SUCCEEDED"
    missing = source.check({"url": f"{base}/missing.csv?token=abc"})
    assert missing.status.value == "FAILED"
    assert missing.message == f"url: GET {base}/missing.csv answered HTTP 404 File not found"


def test_http_urls_of_loopback_addresses_are_refused_unless_allowed(
    source: Launcher, private_source: Launcher, http_root: tuple[Path, str]
) -> None:
    """Issue 9, item 9: a URL must not reach airpipe's own machine or network (SSRF)."""
    directory, base = http_root
    (directory / "e.jsonl").write_bytes(b'{"a": "x"}\n')
    refused = "a loopback address; set AIRPIPE_ALLOW_PRIVATE_URLS=1 to allow private addresses"
    status = source.check({"url": f"{base}/e.jsonl"})
    assert (status.status.value, status.message) == ("FAILED", f"url: 127.0.0.1 resolves to 127.0.0.1, {refused}")
    status = source.check({"url": base.replace("127.0.0.1", "localhost") + "/e.jsonl"})
    assert status.status.value == "FAILED"
    assert status.message.startswith("url: localhost resolves to ") and status.message.endswith(refused)
    stream = {"name": "e", "json_schema": {"type": "object", "properties": {"a": {"type": "string"}}}}
    result = read(source, {"url": f"{base}/e.jsonl"}, stream)
    assert (result.exit_code, result.records) == (1, [])
    assert result.error.failure_type.value == "config_error"
    assert result.error.message == f"url: 127.0.0.1 resolves to 127.0.0.1, {refused}"
    assert private_source.check({"url": f"{base}/e.jsonl"}).status.value == "SUCCEEDED"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("../outside.csv", "url: the path '../outside.csv' leads outside the local root {root}"),
        ("/local/../../etc/passwd.csv", "url: the path '/local/../../etc/passwd.csv' leads outside the local root {root}"),
        ("ftp://example.com/x.csv", "url: ftp:// is not supported; use an http(s) URL or a path inside the local root"),
        ("nothing.csv", "url: cannot open {root}/nothing.csv: No such file or directory"),
        ("data.xlsx", "url: cannot tell the format of 'data.xlsx' from its name; set format to csv or jsonl"),
    ],
)
def test_bad_locations_fail_the_check_and_the_read(source: Launcher, root: Path, url: str, message: str) -> None:
    expected = message.format(root=root.resolve())
    status = source.check({"url": url})
    assert (status.status.value, status.message) == ("FAILED", expected)
    stream = {"name": Path(url).stem, "json_schema": {"type": "object", "properties": {"a": {"type": "string"}}}}
    result = read(source, {"url": url}, stream)
    assert result.exit_code == 1
    assert (result.error.failure_type.value, result.error.message) == ("config_error", expected)


def test_not_gzip_is_a_config_error(source: Launcher, root: Path) -> None:
    (root / "plain.csv.gz").write_text("a\n1\n")
    status = source.check({"url": "plain.csv.gz"})
    assert status.status.value == "FAILED"
    assert "is not a valid gzip file" in (status.message or "")


# BAD ROWS


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a,b\n1,2\n3,4\n5,6,7\n", "line 4: expected 2 fields, found 3"),
        ('a,b\n1,"x\ny"\n2,z\n3\n', "line 5: expected 2 fields, found 1"),
        ("a,b\n1,2\n3,4\n\nx,5\n", "line 5, column 'a': 'x' is not an integer"),
        ("a,b\n1,2.5\n3,4\n5,five\n", "line 4, column 'b': 'five' is not a number"),
        ("a,b\n1,true\n2,false\n3,yes\n", "line 4, column 'b': 'yes' is not true or false"),
        (
            "a,b\n1,2\n3,4\n,5\n",
            "line 4, column 'a': '' is empty, but the column is not nullable (it had no empty field in the sampled rows)",
        ),
    ],
)
def test_a_bad_csv_row_fails_the_read_with_its_line(source: Launcher, root: Path, content: str, message: str) -> None:
    (root / "bad.csv").write_text(content)
    result = read(source, {"url": "bad.csv", "sample_rows": 2})
    assert result.exit_code == 1
    assert (result.error.failure_type.value, result.error.message) == ("config_error", message)
    assert [record["a"] for record in result.records][:2] == [1, 3 if "3,4" in content else 2]  # the rows before were sent


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"a": 1}\n{"a": 2}\n\n{"a": 3\n', "line 4: not valid JSON (Input data was truncated)"),
        (b'{"a": 1}\n{"a": 2}\n{"a": "3"}\n', "line 3: Expected `int`, got `str` - at `$.a`"),
        (b'{"a": 1}\n{"a": 2}\n{"a": null}\n', "line 3: Expected `int`, got `null` - at `$.a`"),
        (b'{"a": 1}\n{"a": 2}\n{"b": 3}\n', "line 3: Object missing required field `a`"),
        (b'{"a": 1}\n{"a": 2}\n[3]\n', "line 3: Expected `object`, got `array`"),
    ],
)
def test_a_bad_json_line_fails_the_read_with_its_line(source: Launcher, root: Path, content: bytes, message: str) -> None:
    (root / "bad.jsonl").write_bytes(content)
    result = read(source, {"url": "bad.jsonl", "sample_rows": 2})
    assert result.exit_code == 1
    assert (result.error.failure_type.value, result.error.message) == ("config_error", message)
    assert result.records == [{"a": 1}, {"a": 2}]


def test_a_bad_line_in_the_sample_fails_discover(source: Launcher, root: Path) -> None:
    (root / "bad.jsonl").write_bytes(b'{"a": 1}\nnot json\n')
    status = source.check({"url": "bad.jsonl"})
    assert status.status.value == "FAILED"
    assert status.message is not None and status.message.startswith("line 2: not valid JSON")


def test_a_column_gone_from_the_file_is_a_config_error(source: Launcher, root: Path) -> None:
    (root / "t.csv").write_text("a,b\n1,2\n")
    stream = discover(source, {"url": "t.csv"})
    (root / "t.csv").write_text("a,c\n1,2\n")
    result = read(source, {"url": "t.csv"}, stream)
    assert result.error.message == "the file has no column 'b' (its columns: a, c); discover the schema again"
    renamed = read(source, {"url": "t.csv", "dataset_name": "other"}, stream)
    assert renamed.error.message == "the catalog's stream 't' is not this file's ('other'); discover the schema again"
