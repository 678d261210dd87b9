"""Run directories: one private working directory per connector process, under the data directory.

A connector runs in ``<data dir>/run/<host>-<pid>-<random>`` (mode 0700): its working directory,
where relative paths resolve and where its input files go when they cannot stay in memory
(``inputs.py``). The process that made it holds an exclusive ``flock`` on the directory while the
connector runs, and removes it afterwards. A worker killed with SIGKILL cannot remove anything, but
the kernel releases its locks: ``sweep`` (at worker start and in every tick) removes each directory
whose lock it can take, so what a dead worker left behind, configs included, does not outlive it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import socket
import tempfile
from pathlib import Path

#: the directories of one data directory are named so an operator can tell whose they are
_HOST = socket.gethostname().replace("/", "_")[:40] or "host"


class RunDir:
    """A locked, private directory; ``remove()`` deletes it and releases the lock."""

    def __init__(self, path: Path, lock_fd: int) -> None:
        self.path = path
        self._lock_fd: int | None = lock_fd

    @classmethod
    def create(cls, root: Path) -> RunDir:
        make_private_dir(root)
        while True:
            path = root / f"{_HOST}-{os.getpid()}-{secrets.token_hex(4)}"
            path.mkdir(mode=0o700)
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            # A sweep may take the lock of the new, empty directory before we do and remove it:
            # then ours is a lock on a deleted directory, and we start again with another name.
            if _try_lock(fd) and _same_file(fd, path):
                return cls(path, fd)
            os.close(fd)

    @classmethod
    def temporary(cls) -> RunDir:
        """A directory of the system's temporary directory, for a launcher given no run root."""
        path = Path(tempfile.mkdtemp(prefix="airpipe-run-"))
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        fcntl.flock(fd, fcntl.LOCK_EX)
        return cls(path, fd)

    def remove(self) -> None:
        if self._lock_fd is None:
            return
        shutil.rmtree(self.path, ignore_errors=True)
        os.close(self._lock_fd)  # after the removal: a sweep must never see it unlocked and half full
        self._lock_fd = None


def sweep(root: Path) -> list[Path]:
    """Remove the run directories under ``root`` that nobody holds (their process died); returns them."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(root))
    except FileNotFoundError:
        return removed
    for entry in entries:
        path = Path(entry.path)
        if entry.is_symlink() or not entry.is_dir():
            with contextlib.suppress(OSError):
                path.unlink()  # nothing of ours: a stray file left by hand
            continue
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            continue
        try:
            if _try_lock(fd):
                shutil.rmtree(path, ignore_errors=True)
                removed.append(path)
        finally:
            os.close(fd)
    return removed


def make_private_dir(path: Path) -> None:
    """``path`` as a directory only we can enter (an existing one is narrowed to 0700)."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)


def _try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _same_file(fd: int, path: Path) -> bool:
    try:
        on_disk = path.stat()
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)
