"""Data sink: upserts each record into the entries of an airpipe data sink, keyed by its primary key.

    python -m airpipe.destinations.data_sink spec|check|write ...

Destinations run with no database (see ARCHITECTURE.md), so this one writes through airpipe's own
API over HTTP: ``data_sinks/entries/upsert`` with a batch of entries (``batch_size`` records, 500 by
default, or fewer when the input pauses), each ``{"key": <primary key>, "value": <the record>,
"dataType": "json"}``. The key is the stream's primary key (the configured one, else the one the
source defines), its values joined with ":" when it has several fields; a stream without one, or a
record missing a value of it, fails the write, naming the stream. Keys do not name their stream:
streams with overlapping keys written into one sink overwrite each other's entries.

A STATE is echoed, exactly as it arrived, once the server has accepted every batch before it. An
upsert is idempotent, so a failed request (the server unreachable, or a 5xx) is tried again a few
times before the write fails; records of a retried sync are upserted again, not duplicated.

Sync modes: ``append`` and ``append_dedup`` both upsert (a key holds the latest record). There is
no ``overwrite``: the sink is not emptied first, since its entries may have other writers.

Network: the connector sandbox (bubblewrap) keeps the network, so 127.0.0.1 is reachable from
inside it; ``url`` must name the API as seen from the machine the worker runs on.
"""

from __future__ import annotations

import base64
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import IO, Any

import msgspec

from airpipe.connectors.entrypoint import ConfigError, Destination, main
from airpipe.destinations.loading.blocks import input_blocks
from airpipe.destinations.loading.lifeline import check_parent
from airpipe.destinations.loading.messages import decode_message, not_a_message
from airpipe.protocol import AirbyteConnectionStatus, ConfiguredAirbyteCatalog, ConnectorSpecification, DestinationSyncMode, Status

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_BATCH = 500
#: tries of one request before the write fails, and the wait before the second (doubled after)
TRIES, BACKOFF = 4, 0.5
TIMEOUT = 60.0

SPEC = ConnectorSpecification(
    documentation_url="https://github.com/airpipe/airpipe#data-sinks",
    supports_incremental=True,
    supported_destination_sync_modes=[DestinationSyncMode.append, DestinationSyncMode.append_dedup],
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Data Sink Destination Spec",
        "type": "object",
        "required": ["data_sink_id"],
        "properties": {
            "url": {
                "title": "airpipe URL",
                "description": "The airpipe API the sink lives in, as the worker's machine reaches it.",
                "type": "string",
                "default": DEFAULT_URL,
                "pattern": "^https?://",
            },
            "data_sink_id": {
                "title": "Data sink id",
                "description": "The sink to upsert records into.",
                "type": "string",
                "format": "uuid",
            },
            "username": {"title": "Username", "description": "HTTP Basic user, if the API asks for one.", "type": "string"},
            "password": {"title": "Password", "description": "HTTP Basic password.", "type": "string", "airbyte_secret": True},
            "batch_size": {
                "title": "Batch size",
                "description": "Records per request (a batch is also sent when the input pauses).",
                "type": "integer",
                "minimum": 1,
                "maximum": 10000,
                "default": DEFAULT_BATCH,
            },
        },
    },
)


class DataSinkDestination(Destination):
    def spec(self) -> ConnectorSpecification:
        return SPEC

    def check(self, config: dict[str, Any]) -> AirbyteConnectionStatus:
        try:
            Api(config).get_sink()
        except ConfigError as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(exc))
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def write(self, config: dict[str, Any], catalog: ConfiguredAirbyteCatalog, input: IO[bytes]) -> Iterator[bytes]:
        api = Api(config)
        api.get_sink()  # a wrong url, id or password fails before any input is read
        keys = {(s.stream.namespace, s.stream.name): s.primary_key or s.stream.source_defined_primary_key for s in catalog.streams}
        writer = _Writer(api, keys, int(config.get("batch_size") or DEFAULT_BATCH))
        yield from writer.run(input)
        check_parent()  # input also ends when the worker was killed: then send nothing more
        yield from writer.flush()


class _Writer:
    def __init__(self, api: Api, keys: dict[tuple[str | None, str], list[list[str]] | None], batch_size: int) -> None:
        self.api, self.keys, self.batch_size = api, keys, batch_size
        self.entries: list[dict[str, Any]] = []
        self.states: list[bytes] = []  # echoed once the entries before them are accepted
        self.lines = 0

    def run(self, input: IO[bytes]) -> Iterator[bytes]:
        for block in input_blocks(input):
            if block is None:  # the input is idle: send what waits now
                yield from self.flush()
                continue
            for line in block.split(b"\n")[:-1]:
                self.lines += 1
                yield from self.line(line)

    def line(self, line: bytes) -> Iterator[bytes]:
        try:
            message = decode_message(line)
        except msgspec.DecodeError as exc:
            if not line.strip():
                return
            raise not_a_message(line, self.lines, exc) from None
        record = message.record
        if message.type == "RECORD" and record is not None:
            stream = (record.namespace, record.stream)
            if stream not in self.keys:
                stream = (None, record.stream)
            if stream not in self.keys:
                raise ValueError(f"input line {self.lines} is a record of stream {record.stream!r}, which is not in the catalog")
            self.entries.append({"key": self.key(record.stream, self.keys[stream], record.data), "value": record.data, "dataType": "json"})
            if len(self.entries) >= self.batch_size:
                yield from self.flush()
        elif message.type == "STATE":
            if self.entries or self.states:
                self.states.append(line + b"\n")
            else:  # nothing waits to be sent: everything before it is accepted already
                yield line + b"\n"

    def key(self, stream: str, primary_key: list[list[str]] | None, data: msgspec.Raw) -> str:
        if not primary_key:
            raise ConfigError(f"the stream {stream!r} has no primary key: a data sink keys its entries by it")
        record = msgspec.json.decode(data)
        parts = []
        for path in primary_key:
            value: Any = record
            for name in path:
                value = value.get(name) if isinstance(value, dict) else None
            if value is None:
                raise ValueError(f"a record of stream {stream!r} has no value for its primary key {'.'.join(path)!r}")
            parts.append(value if isinstance(value, str) else msgspec.json.encode(value).decode())
        return ":".join(parts)

    def flush(self) -> Iterator[bytes]:
        if self.entries:
            self.api.upsert(self.entries)
            self.entries = []
        states, self.states = self.states, []
        yield from states


class Api:
    """The few calls of airpipe's API this destination makes."""

    def __init__(self, config: dict[str, Any]) -> None:
        self.url = str(config.get("url") or DEFAULT_URL).rstrip("/")
        self.sink_id = str(config["data_sink_id"])
        self.headers = {"Content-Type": "application/json"}
        if config.get("username"):
            credentials = f"{config['username']}:{config.get('password') or ''}".encode()
            self.headers["Authorization"] = "Basic " + base64.b64encode(credentials).decode()

    def get_sink(self) -> Any:
        return self.post("data_sinks/get", {"dataSinkId": self.sink_id})

    def upsert(self, entries: list[dict[str, Any]]) -> None:
        self.post("data_sinks/entries/upsert", {"dataSinkId": self.sink_id, "entries": entries})

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST ``body`` to ``/api/v1/<path>``; a refusal the user can fix is a ConfigError, one that
        may pass (unreachable, a 5xx) is tried again, then raised."""
        data = msgspec.json.encode(body)
        request = urllib.request.Request(f"{self.url}/api/v1/{path}", data, self.headers, method="POST")
        for attempt in range(1, TRIES + 1):
            try:
                with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                    return msgspec.json.decode(response.read() or b"null")
            except urllib.error.HTTPError as exc:
                detail = _message(exc)
                if exc.code == 401:
                    raise ConfigError(f"{self.url} refused the credentials (401): set username and password") from None
                if exc.code == 404:
                    raise ConfigError(f"{self.url} has no data sink {self.sink_id} ({detail})") from None
                if exc.code < 500 or attempt == TRIES:
                    raise ConfigError(f"{path} at {self.url} failed with {exc.code}: {detail}") from None
            except (urllib.error.URLError, OSError) as exc:
                if attempt == TRIES:
                    reason = getattr(exc, "reason", exc)
                    raise ConfigError(f"cannot reach airpipe at {self.url}: {reason}") from None
            time.sleep(BACKOFF * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover


def _message(error: urllib.error.HTTPError) -> str:
    try:
        body = msgspec.json.decode(error.read())
    except (msgspec.DecodeError, OSError):
        return error.reason or ""
    return str(body.get("message")) if isinstance(body, dict) and body.get("message") else str(body)


if __name__ == "__main__":
    main(DataSinkDestination())
