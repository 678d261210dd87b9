"""Local JSON: writes each stream to ``<destination_path>/<stream>.jsonl`` under the local root.

    python -m airpipe.destinations.local_json spec|check|write ...

Each line is ``{"_airbyte_ab_id": uuid4, "_airbyte_emitted_at": ms, "_airbyte_data": {...}}``, as
Airbyte's destination-local-json writes it. The local root is ``$AIRPIPE_LOCAL_ROOT``, else
``$AIRPIPE_DATA_DIR/local`` (``./.airpipe/local`` by default), as in airpipe's settings.

Sync modes:

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
import re
import select
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, Any

import msgspec

from airpipe.connectors.entrypoint import ConfigError, Destination, main
from airpipe.destinations.lifeline import check_parent
from airpipe.destinations.local_paths import local_root, resolve_local_path
from airpipe.destinations.messages import decode_message
from airpipe.protocol import (
    AirbyteConnectionStatus,
    ConfiguredAirbyteCatalog,
    ConfiguredAirbyteStream,
    ConnectorSpecification,
    DestinationSyncMode,
    Status,
)

#: while input streams in, states that arrive within this many seconds of the last fsync wait for
#: the next one (or for a pause in the input), so a source that checkpoints every few records
#: does not cost an fsync per checkpoint
COMMIT_INTERVAL = 0.5
WRITE_BUFFER = 1 << 20

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
            path.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path, prefix=".airpipe-check-"):
                pass
        except OSError as exc:
            return AirbyteConnectionStatus(status=Status.FAILED, message=f"cannot write to {path}: {exc.strerror or exc}")
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def write(self, config: dict[str, Any], catalog: ConfiguredAirbyteCatalog, input: IO[bytes]) -> Iterator[bytes]:
        directory = destination_dir(config)
        directory.mkdir(parents=True, exist_ok=True)
        files = _open_files(directory, catalog)
        try:
            yield from _pump(input, files, directory)
        except BaseException:
            for file in files.values():
                file.abort()
            raise


def _pump(input: IO[bytes], files: dict[str, StreamFile], directory: Path) -> Iterator[bytes]:
    overwritten = {name for name, file in files.items() if file.mode is DestinationSyncMode.overwrite}
    writes = {name: file.file.write for name, file in files.items()}
    ready: list[bytes] = []  # states whose data needs only an fsync
    # States that also need the overwrite renames at the end: only the latest per stream (None:
    # global or legacy) is kept, since each supersedes the one before and memory must stay bounded.
    held: dict[str | None, bytes] = {}
    line_format, ids = record_line_format(), itertools.count()
    last_sync, number = time.monotonic(), 0
    for line in input_lines(input):
        if line is None:  # the input is idle: commit waiting states now, it costs no throughput
            if ready:
                yield from _sync(files, ready)
                last_sync = time.monotonic()
            continue
        number += 1
        try:
            message = decode_message(line)
        except msgspec.DecodeError as exc:
            if not line.strip():
                continue
            raise ValueError(f"input line {number} is not a protocol message: {exc}") from None
        record = message.record
        if record is not None and message.type == "RECORD":
            write = writes.get(record.stream)
            if write is None:
                raise ValueError(f"input line {number} is a record of stream {record.stream!r}, which is not in the catalog")
            emitted_at = record.emitted_at if record.emitted_at is not None else time.time() * 1000
            write(line_format % (next(ids), emitted_at, record.data))
        elif message.type == "STATE" and message.state is not None:
            stream = message.state.stream
            name = stream.stream_descriptor.name if stream is not None else None
            if (name in overwritten) if name is not None else bool(overwritten):
                held.pop(name, None)
                held[name] = line + b"\n"
            else:
                ready.append(line + b"\n")
            if ready and time.monotonic() - last_sync >= COMMIT_INTERVAL:
                yield from _sync(files, ready)
                last_sync = time.monotonic()
    check_parent()  # input also ends when the worker was killed: then commit nothing
    for file in files.values():
        file.commit()
    _fsync_dir(directory)  # the renames
    yield from ready
    yield from held.values()


def _sync(files: dict[str, StreamFile], states: list[bytes]) -> Iterator[bytes]:
    for file in files.values():
        file.sync()
    yield from states
    states.clear()


def input_lines(input: IO[bytes], chunk_size: int = 1 << 20) -> Iterator[bytes | None]:
    """The lines of ``input`` without their newlines, read in large chunks, and None whenever
    the next read would wait for the writer (nothing is ready on the pipe)."""
    fd, rest = input.fileno(), b""
    while True:
        if not select.select([fd], [], [], 0)[0]:
            yield None
        chunk = input.read1(chunk_size)
        if not chunk:
            break
        lines = (rest + chunk).split(b"\n") if rest else chunk.split(b"\n")
        rest = lines.pop()
        yield from lines
    if rest:
        yield rest


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


# FILES


class StreamFile:
    """One stream's output file in its sync mode: written through ``file``, then sync (fsync),
    commit at the end, or abort."""

    def __init__(self, target: Path, configured: ConfiguredAirbyteStream) -> None:
        self.target = target
        self.mode = configured.destination_sync_mode
        self.synced = -1  # the file position at the last fsync
        self.temp: Path | None = None
        self.primary_key = configured.primary_key or configured.stream.source_defined_primary_key or []
        self.cursor = configured.cursor_field or configured.stream.default_cursor_field or []
        if self.mode is DestinationSyncMode.append_dedup and not self.primary_key:
            raise ConfigError(f"stream {configured.stream.name} is append_dedup but has no primary key")
        if self.mode is DestinationSyncMode.overwrite:
            self.temp, self.file = _temp_file(target)
        else:
            drop_partial_line(target)
            self.file = open(target, "ab", buffering=WRITE_BUFFER)

    def sync(self) -> None:
        """Flush and fsync, if anything was written since the last time."""
        position = self.file.tell()
        if position != self.synced:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.synced = position

    def commit(self) -> None:
        self.sync()
        self.file.close()
        if self.temp is not None:
            os.replace(self.temp, self.target)
            self.temp = None
        elif self.mode is DestinationSyncMode.append_dedup:
            deduplicate(self.target, self.primary_key, self.cursor)

    def abort(self) -> None:
        self.file.close()
        if self.temp is not None:
            self.temp.unlink(missing_ok=True)
            self.temp = None


def _open_files(directory: Path, catalog: ConfiguredAirbyteCatalog) -> dict[str, StreamFile]:
    files: dict[str, StreamFile] = {}
    targets: dict[Path, str] = {}
    try:
        for configured in catalog.streams:
            name = configured.stream.name
            target = directory / f"{file_name(name)}.jsonl"
            if target in targets:
                raise ConfigError(f"streams {targets[target]!r} and {name!r} would both write to {target.name}")
            targets[target] = name
            files[name] = StreamFile(target, configured)
    except BaseException:
        for file in files.values():
            file.abort()
        raise
    _fsync_dir(directory)  # files created above survive a crash
    return files


def file_name(stream: str) -> str:
    """A stream name made safe as a file name: stream names come from the source, untrusted."""
    name = re.sub(r"[^\w.-]", "_", stream)
    return "_" + name if name.startswith(".") or not name else name


def drop_partial_line(path: Path) -> None:
    """Cut off a last line without its newline: the part of a write that was killed mid-line.

    It was never fsync'ed before a STATE was echoed, so the platform sends it again; left in
    place, the next append would glue a record onto it.
    """
    try:
        f = open(path, "r+b")
    except FileNotFoundError:
        return
    with f:
        end = f.seek(0, os.SEEK_END)
        position = end
        while position > 0:
            start = max(0, position - 65536)
            f.seek(start)
            block = f.read(position - start)
            newline = block.rfind(b"\n")
            if newline != -1:
                position = start + newline + 1
                break
            position = start
        if position != end:
            f.truncate(position)


_UMASK = os.umask(0)
os.umask(_UMASK)


def _temp_file(target: Path) -> tuple[Path, IO[bytes]]:
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.fchmod(fd, 0o666 & ~_UMASK)  # the final file gets ordinary permissions, not mkstemp's 0600
    return Path(temp), open(fd, "wb", buffering=WRITE_BUFFER)


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# DEDUP


class _Written(msgspec.Struct):
    data: Any = msgspec.field(default=None, name="_airbyte_data")


_decode_written = msgspec.json.Decoder(_Written).decode


def deduplicate(path: Path, primary_key: list[list[str]], cursor: list[str]) -> None:
    """Keep the latest line per primary key: the highest cursor, and of equals the later line.

    Two passes over the file keep memory to one entry per key (the key, its cursor and the line's
    offset), never the records themselves.
    """
    latest: dict[bytes, tuple[Any, int]] = {}
    lines = 0
    with open(path, "rb") as f:
        offset = 0
        for line in f:
            data = _decode_written(line).data
            key = msgspec.json.encode([_field(data, p) for p in primary_key])
            value = _field(data, cursor) if cursor else None
            seen = latest.get(key)
            if seen is None or _not_older(value, seen[0]):
                latest[key] = (value, offset)
            offset += len(line)
            lines += 1
    if len(latest) == lines:
        return
    keep = {offset for _, offset in latest.values()}
    temp, out = _temp_file(path)
    try:
        with open(path, "rb") as f, out:
            offset = 0
            for line in f:
                if offset in keep:
                    out.write(line)
                offset += len(line)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _field(data: Any, path: list[str]) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _not_older(value: Any, than: Any) -> bool:
    # A missing cursor sorts before any value (Airbyte's "NULLS LAST" when taking the latest).
    if than is None:
        return True
    if value is None:
        return False
    try:
        return bool(value >= than)
    except TypeError:  # cursors of different types: the later line wins
        return True


if __name__ == "__main__":
    main(LocalJson())
