"""Local JSON: writes each stream to ``<destination_path>/<stream>.jsonl`` under the local root.

    python -m airpipe.destinations.local_json spec|check|write ...

Each line is ``{"_airbyte_ab_id": uuid4, "_airbyte_emitted_at": ms, "_airbyte_data": {...}}``, as
Airbyte's destination-local-json writes it. The local root is ``$AIRPIPE_LOCAL_ROOT``, else
``$AIRPIPE_DATA_DIR/local`` (``./.airpipe/local`` by default), as in airpipe's settings.

Sync modes (the files are ``airpipe.destinations.local_json_files``):

- ``append`` adds to the file.
- ``overwrite`` writes a temporary file beside the target and renames it over the target only when
  the input ends: a write that fails or is killed leaves the old data in place.
- ``append_dedup`` appends like ``append``, then at the end keeps only the latest record per primary
  key (by cursor, later lines winning ties) by rewriting the file through a temporary file.

A STATE message is echoed, exactly as it arrived, only once everything before it is durably
written (flushed and fsync'ed); fsyncs are batched while input streams in and happen at once when
it pauses. States that cover an ``overwrite`` stream wait for the final rename, since until then
that stream's new data is not in place (the latest of each stream is echoed then).

Record data is never decoded: it is copied from the input line as the bytes it arrived as
(msgspec.Raw). Stopping the write (SIGTERM, the way the launcher stops it) or a bad input line
removes the temporary files; only end of input commits.
"""

from __future__ import annotations

import itertools
import os
import secrets
import time
from collections.abc import Iterator, Mapping
from operator import attrgetter
from pathlib import Path
from typing import IO, Any

import msgspec

from airpipe.connectors.entrypoint import ConfigError, Destination, main
from airpipe.connectors.local_paths import local_root, resolve_local_path
from airpipe.destinations.loading.blocks import input_blocks
from airpipe.destinations.loading.lifeline import check_parent
from airpipe.destinations.loading.messages import Message, Record, decode_lines, decode_message, not_a_message
from airpipe.destinations.loading.state_gate import StateGate
from airpipe.destinations.local_json_files import Directory, StreamFile, file_name, open_files
from airpipe.protocol import AirbyteConnectionStatus, ConfiguredAirbyteCatalog, ConnectorSpecification, DestinationSyncMode, Status

__all__ = ["SPEC", "LocalJson", "destination_dir", "file_name", "local_root"]

#: while input streams in, states that arrive within this many seconds of the last fsync wait for
#: the next one (or for a pause in the input), so a source that checkpoints every few records
#: does not cost an fsync per checkpoint
COMMIT_INTERVAL = 0.5

SPEC = ConnectorSpecification(
    documentation_url="https://docs.airbyte.com/integrations/destinations/local-json",
    supports_incremental=True,
    supported_destination_sync_modes=[
        DestinationSyncMode.overwrite,
        DestinationSyncMode.append,
        DestinationSyncMode.append_dedup,
    ],
    connection_specification={
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Local JSON Destination Spec",
        "type": "object",
        "required": ["destination_path"],
        "properties": {
            "destination_path": {
                "title": "Destination path",
                "description": "A directory inside the local root (AIRPIPE_LOCAL_ROOT); /local/x and x both mean "
                "<local root>/x. One <stream>.jsonl file per stream is written there.",
                "type": "string",
                "format": "local-path",
                "examples": ["/local/json_data"],
            }
        },
    },
)


def destination_dir(config: Mapping[str, Any]) -> Path:
    try:
        return resolve_local_path(config["destination_path"], local_root())
    except ValueError as exc:
        raise ConfigError(f"destination_path: {exc}") from None


class LocalJson(Destination):
    def spec(self) -> ConnectorSpecification:
        return SPEC

    def check(self, config: dict[str, Any]) -> AirbyteConnectionStatus:
        try:
            path = destination_dir(config)
        except ConfigError as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(exc))
        try:
            directory = Directory(path, local_root())
            try:
                probe = f".airpipe-check-{secrets.token_hex(4)}"
                os.close(directory.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
                directory.unlink(probe)
            finally:
                directory.close()
        except ConfigError as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=str(exc))
        except OSError as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=f"cannot write to {path}: {exc.strerror or exc}")
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def write(self, config: dict[str, Any], catalog: ConfiguredAirbyteCatalog, input: IO[bytes]) -> Iterator[bytes]:
        directory = Directory(destination_dir(config), local_root())
        try:
            files = open_files(directory, catalog)
            writer = _Writer(files)
            try:
                yield from writer.run(input)
                check_parent()  # input also ends when the worker was killed: then commit nothing
                for file in files.values():
                    file.commit()
                directory.fsync()  # the renames
                yield from writer.finish()
            except BaseException:
                for file in files.values():
                    file.abort()
                raise
        finally:
            directory.close()


class _Writer:
    """Input blocks in, records appended to their files, states out once their data is on disk.

    A block of whole lines is decoded in one call (``decode_lines``) and each run of records
    between two other messages is formatted and written in one ``write`` per stream: the loop over
    records runs in C (``map``), not in Python. A block that does not decode cleanly, or whose
    messages do not line up with its lines, takes the per-line path, which names the bad line.
    """

    def __init__(self, files: dict[str, StreamFile]) -> None:
        self.files = files
        self.writes = {name: file.file.write for name, file in files.items()}
        # pending: states whose data needs only an fsync; held: those that need the overwrite renames at the end
        self.states = StateGate({name for name, file in files.items() if file.mode is DestinationSyncMode.overwrite})
        self.format, self.ids = record_line_format(), itertools.count()
        self.last_sync = time.monotonic()
        self.lines = 0  # input lines before the block being written

    def run(self, input: IO[bytes]) -> Iterator[bytes]:
        for block in input_blocks(input):
            if block is None:  # the input is idle: commit waiting states now, it costs no throughput
                if self.states.pending:
                    yield from self.sync()
                continue
            lines = self.fast(block)
            if lines is None:
                self.slow(block)
            if self.states.pending and time.monotonic() - self.last_sync >= COMMIT_INTERVAL:
                yield from self.sync()
            self.lines += lines if lines is not None else block.count(b"\n")

    def sync(self) -> Iterator[bytes]:
        for file in self.files.values():
            file.sync()
        yield from self.states.take_pending()
        self.last_sync = time.monotonic()

    def finish(self) -> Iterator[bytes]:
        yield from self.states.take_pending()
        yield from self.states.held_states()

    def fast(self, block: bytes) -> int | None:
        """Write ``block`` if every line is a message and every record of a known stream; returns
        its number of lines, or None (nothing written) to leave it to the per-line path."""
        try:
            messages = decode_lines(block)
        except msgspec.DecodeError:
            return None
        kinds = list(map(_TYPE, messages))
        records = [m.record for m, kind in zip(messages, kinds, strict=True) if kind == "RECORD" and m.record is not None]
        if not set(map(_STREAM, records)) <= self.writes.keys():
            return None
        if len(records) == len(messages):  # the common block: records only
            if len(messages) != block.count(b"\n"):
                return None  # blank lines, or two messages on one: the per-line path decides
            self.write(records)
            return len(messages)
        lines = block.split(b"\n")
        lines.pop()
        others = [i for i, kind in enumerate(kinds) if kind != "RECORD"]
        # decode_lines skips blank lines: the others must be found where the lines say they are
        if len(lines) != len(messages) or any(decode_message(lines[i]) != messages[i] for i in others):
            return None
        start = 0
        for i in [*others, len(messages)]:
            if i > start:
                self.write([m.record for m in messages[start:i] if m.record is not None])
            if i < len(messages):
                self.other(lines[i], messages[i])
            start = i + 1
        return len(lines)

    def write(self, records: list[Record]) -> None:
        """Append records (in order per stream) to their streams' files, one write per stream."""
        streams = set(map(_STREAM, records))
        for stream in streams:
            mine = records if len(streams) == 1 else [r for r in records if r.stream == stream]
            emitted = list(map(_EMITTED_AT, mine))
            if None in emitted:
                now = time.time() * 1000
                emitted = [now if e is None else e for e in emitted]
            self.writes[stream](b"".join(map(self.format.__mod__, zip(self.ids, emitted, map(_DATA, mine), strict=False))))

    def slow(self, block: bytes) -> None:
        """Line by line, naming the first line that is not a message or not of a known stream."""
        for number, line in enumerate(block.split(b"\n")[:-1], self.lines + 1):
            try:
                message = decode_message(line)
            except msgspec.DecodeError as exc:
                if not line.strip():
                    continue
                raise not_a_message(line, number, exc) from None
            record = message.record
            if record is not None and message.type == "RECORD":
                if record.stream not in self.writes:
                    raise ValueError(f"input line {number} is a record of stream {record.stream!r}, which is not in the catalog")
                self.write([record])
            else:
                self.other(line, message)

    def other(self, line: bytes, message: Message) -> None:
        if message.type == "STATE" and message.state is not None:
            stream = message.state.stream
            name = stream.stream_descriptor.name if stream is not None else None
            self.states.add(name, line)


_TYPE, _STREAM, _EMITTED_AT, _DATA = (attrgetter(name) for name in ("type", "stream", "emitted_at", "data"))


def record_line_format() -> bytes:
    """The output line as a bytes %-format of (counter, emitted_at, data).

    ``_airbyte_ab_id`` is a version-4 UUID whose first 74 bits are random per process and whose
    last 48 bits count records: as unique as ``uuid.uuid4()`` for any realistic number of writes,
    at no cost per record (a fresh uuid4 per record cost more than everything else together).
    """
    raw = bytearray(os.urandom(10))
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex().encode()
    prefix = b"-".join((h[:8], h[8:12], h[12:16], h[16:20])) + b"-"
    return b'{"_airbyte_ab_id":"' + prefix + b'%012x","_airbyte_emitted_at":%d,"_airbyte_data":%b}\n'


if __name__ == "__main__":
    main(LocalJson())
