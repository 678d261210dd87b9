"""Local JSON's files: one ``<stream>.jsonl`` per stream, written in its sync mode.

- ``append`` opens the file for appending, after cutting off a last line a killed write left
  without its newline.
- ``overwrite`` writes a temporary file beside the target, renamed over it only on ``commit``.
- ``append_dedup`` appends, then on ``commit`` keeps only the latest record per primary key.

``sync`` flushes and fsyncs (a STATE is echoed only after it); ``abort`` removes temporary files.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import IO, Any

import msgspec

from airpipe.connectors.entrypoint import ConfigError
from airpipe.protocol import ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, DestinationSyncMode

WRITE_BUFFER = 1 << 20


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
            self.temp, self.file = temp_file(target)
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


def open_files(directory: Path, catalog: ConfiguredAirbyteCatalog) -> dict[str, StreamFile]:
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
    fsync_dir(directory)  # files created above survive a crash
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


def temp_file(target: Path) -> tuple[Path, IO[bytes]]:
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    os.fchmod(fd, 0o666 & ~_UMASK)  # the final file gets ordinary permissions, not mkstemp's 0600
    return Path(temp), open(fd, "wb", buffering=WRITE_BUFFER)


def fsync_dir(directory: Path) -> None:
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
    temp, out = temp_file(path)
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
