"""A connector's inputs (config, catalog, state) as the paths Airbyte's CLI takes, kept off the disk.

On Linux each input is an anonymous in-memory file (``memfd_create``) that the connector inherits
and opens as ``/dev/fd/N``: the plaintext config never reaches a filesystem, and it vanishes with
the last process holding it, even when the worker is killed with SIGKILL. Where that is not
possible, each input is a 0600 file in the connector's private run directory (``rundir.py``),
removed when the connector ends, or by the next sweep if the worker died first.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from airpipe.protocol import encode

#: False on systems without memfd_create or /dev/fd (and in tests of the file fallback)
IN_MEMORY = hasattr(os, "memfd_create") and os.path.isdir("/dev/fd")


class Inputs:
    """``args`` (``--config PATH ...``) and the descriptors the child must inherit (``pass_fds``)."""

    def __init__(self, values: Mapping[str, Any], run_dir: Path) -> None:
        self.args: list[str] = []
        self.pass_fds: list[int] = []
        self._files: list[Path] = []
        try:
            for name, value in values.items():
                self.args += [f"--{name}", self._store(name, encode(value), run_dir)]
        except BaseException:
            self.close()
            self.remove()
            raise

    def _store(self, name: str, data: bytes, run_dir: Path) -> str:
        if IN_MEMORY:
            try:
                fd = os.memfd_create(f"airpipe-{name}", os.MFD_CLOEXEC)  # Popen's pass_fds lets the child have it
            except OSError:
                pass  # e.g. a seccomp policy forbids it: the file fallback below
            else:
                self.pass_fds.append(fd)
                _write_all(fd, data)
                return f"/dev/fd/{fd}"
        path = run_dir / f"{name}.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        self._files.append(path)
        with open(fd, "wb") as file:
            file.write(data)
        return str(path)

    def close(self) -> None:
        """Drop our copies of the in-memory files (call once the child has inherited them)."""
        for fd in self.pass_fds:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.pass_fds = []

    def remove(self) -> None:
        """Remove the fallback files (the connector has ended)."""
        for path in self._files:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        self._files = []


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
