"""Local JSON's files: one ``<stream>.jsonl`` per stream, written in its sync mode.

- ``append`` opens the file for appending, after cutting off a last line a killed write left
  without its newline.
- ``overwrite`` writes a temporary file beside the target, renamed over it only on ``commit``.
- ``append_dedup`` appends, then on ``commit`` keeps only the latest record per primary key.

``sync`` flushes and fsyncs (a STATE is echoed only after it); ``abort`` removes temporary files.

Every file is opened, created, renamed and removed relative to the destination directory's
descriptor, with ``local_paths.open_local`` (no symbolic links): a link put in the directory, or
the directory swapped for one, cannot make a write land outside the local root.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path
from typing import IO, Any

import msgspec

from airpipe.connectors.entrypoint import ConfigError
from airpipe.connectors.local_paths import link_refused, open_local
from airpipe.protocol import ConfiguredAirbyteCatalog, ConfiguredAirbyteStream, DestinationSyncMode

WRITE_BUFFER = 1 << 20


class StreamFile:
    """One stream's output file in its sync mode: written through ``file``, then sync (fsync),
    commit at the end, or abort."""

    def __init__(self, directory: Directory, name: str, configured: ConfiguredAirbyteStream) -> None:
        self.directory = directory
        self.target = name
        self.mode = configured.destination_sync_mode
        self.synced = -1  # the file position at the last fsync
        self.temp: str | None = None
        self.primary_key = configured.primary_key or configured.stream.source_defined_primary_key or []
        self.cursor = configured.cursor_field or configured.stream.default_cursor_field or []
        if self.mode is DestinationSyncMode.append_dedup and not self.primary_key:
            raise ConfigError(f"stream {configured.stream.name} is append_dedup but has no primary key")
        if self.mode is DestinationSyncMode.overwrite:
            refuse_link(directory, name)  # the rename would replace a link, but say so now
            self.temp, self.file = temp_file(directory, name)
        else:
            drop_partial_line(directory, name)
            fd = directory.open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
            self.file = open(fd, "ab", buffering=WRITE_BUFFER)

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
            os.replace(self.temp, self.target, src_dir_fd=self.directory.fd, dst_dir_fd=self.directory.fd)
            self.temp = None
        elif self.mode is DestinationSyncMode.append_dedup:
            deduplicate(self.directory, self.target, self.primary_key, self.cursor)

    def abort(self) -> None:
        self.file.close()
        if self.temp is not None:
            self.directory.unlink(self.temp)
            self.temp = None


class Directory:
    """The destination directory, held open by descriptor: files are opened relative to it."""

    def __init__(self, path: Path, local_root: Path) -> None:
        self.path = path
        self.fd = open_local(path, os.O_RDONLY | os.O_DIRECTORY, local_root, make_dirs=True)

    def open(self, name: str, flags: int) -> int:
        return open_local(name, flags, self.fd, root_path=self.path)

    def unlink(self, name: str) -> None:
        try:
            os.unlink(name, dir_fd=self.fd)
        except FileNotFoundError:
            pass

    def fsync(self) -> None:
        os.fsync(self.fd)

    def close(self) -> None:
        os.close(self.fd)


def open_files(directory: Directory, catalog: ConfiguredAirbyteCatalog) -> dict[str, StreamFile]:
    files: dict[str, StreamFile] = {}
    targets: dict[str, str] = {}
    try:
        for configured in catalog.streams:
            name = configured.stream.name
            target = f"{file_name(name)}.jsonl"
            if target in targets:
                raise ConfigError(f"streams {targets[target]!r} and {name!r} would both write to {target}")
            targets[target] = name
            files[name] = StreamFile(directory, target, configured)
    except BaseException:
        for file in files.values():
            file.abort()
        raise
    directory.fsync()  # files created above survive a crash
    return files


def file_name(stream: str) -> str:
    """A stream name made safe as a file name: stream names come from the source, untrusted."""
    name = re.sub(r"[^\w.-]", "_", stream)
    return "_" + name if name.startswith(".") or not name else name


def drop_partial_line(directory: Directory, name: str) -> None:
    """Cut off a last line without its newline: the part of a write that was killed mid-line.

    It was never fsync'ed before a STATE was echoed, so the platform sends it again; left in
    place, the next append would glue a record onto it.
    """
    try:
        f = open(directory.open(name, os.O_RDWR), "r+b")
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


def temp_file(directory: Directory, target: str) -> tuple[str, IO[bytes]]:
    """A new file beside ``target`` (mode 0666 less the umask: the permissions the target gets)."""
    while True:
        temp = f".{target}.{secrets.token_hex(4)}.tmp"
        try:
            fd = directory.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        except FileExistsError:
            continue
        return temp, open(fd, "wb", buffering=WRITE_BUFFER)


def refuse_link(directory: Directory, name: str) -> None:
    """ConfigError if ``name`` is a symbolic link. The rename that overwrites it would replace the
    link, not follow it: this only says so before anything is written."""
    try:
        status = os.stat(name, dir_fd=directory.fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(status.st_mode):
        raise link_refused(directory.path / name)


# DEDUP


class _Written(msgspec.Struct):
    data: Any = msgspec.field(default=None, name="_airbyte_data")


_decode_written = msgspec.json.Decoder(_Written).decode


def deduplicate(directory: Directory, name: str, primary_key: list[list[str]], cursor: list[str]) -> None:
    """Keep the latest line per primary key: the highest cursor, and of equals the later line.

    Two passes over the file keep memory to one entry per key (the key, its cursor and the line's
    offset), never the records themselves.
    """
    latest: dict[bytes, tuple[Any, int]] = {}
    lines = 0
    with open(directory.open(name, os.O_RDONLY), "rb") as f:
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
    temp, out = temp_file(directory, name)
    try:
        with open(directory.open(name, os.O_RDONLY), "rb") as f, out:
            offset = 0
            for line in f:
                if offset in keep:
                    out.write(line)
                offset += len(line)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, name, src_dir_fd=directory.fd, dst_dir_fd=directory.fd)
    except BaseException:
        directory.unlink(temp)
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
