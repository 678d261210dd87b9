"""Where a local destination may write: inside one local root, and nowhere else.

A path is always relative to the root, as Airbyte's ``/local`` mount is: ``/local/x``, ``/x`` and
``x`` all mean ``<local root>/x``. The check is made on the resolved path, so ``..`` and symlinks
that lead out of the root are refused too. The service layer calls this when a destination is
saved; the destination calls it again before it writes (the filesystem may have changed).

That check alone is not enough: a symbolic link can be put in place between the check and the
write (``/local/out/users.jsonl -> /etc/...``), and a file name added after it is not checked at
all. So connectors open what they read and write with ``open_local``, which walks the path from
the root one component at a time with ``O_NOFOLLOW`` (relative to the directory opened before, by
descriptor): no component can be a symbolic link, whenever it was made.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Mapping
from pathlib import Path

from airpipe.connectors.entrypoint import ConfigError

#: the mount point Airbyte's docs write local paths under; accepted and stripped
LOCAL_PREFIX = "/local"


def resolve_local_path(path: str, local_root: Path) -> Path:
    """The absolute path ``path`` names inside ``local_root``; ValueError if it is empty or escapes."""
    if not isinstance(path, str) or not path.strip():
        raise ValueError("the path must not be empty")
    if "\x00" in path:
        raise ValueError("the path must not contain a NUL character")
    relative = path.strip()
    if relative == LOCAL_PREFIX or relative.startswith(LOCAL_PREFIX + "/"):
        relative = relative[len(LOCAL_PREFIX) :]
    relative = relative.lstrip("/")
    root = local_root.resolve()
    lexical = Path(os.path.normpath(root / relative))
    target = lexical.resolve()
    for candidate in (lexical, target):
        if candidate != root and root not in candidate.parents:
            link = next((p for p in [*reversed(lexical.parents), lexical] if root in p.parents and p.is_symlink()), None)
            why = f": {link} is a symbolic link" if candidate is target and link is not None else ""
            raise ValueError(f"the path {path!r} leads outside the local root {root}{why}")
    return target


def local_root(environ: Mapping[str, str] | None = None) -> Path:
    """The directory every destination_path is resolved in (the same default as airpipe's settings)."""
    env = os.environ if environ is None else environ
    root = env.get("AIRPIPE_LOCAL_ROOT") or str(Path(env.get("AIRPIPE_DATA_DIR") or ".airpipe").expanduser() / "local")
    return Path(root).expanduser().absolute()


def open_local(
    path: str | Path, flags: int, root: Path | int, mode: int = 0o666, *, make_dirs: bool = False, root_path: Path | None = None
) -> int:
    """A descriptor of ``path`` opened with ``flags``, no component of it a symbolic link.

    ``root`` is the local root (``path`` then is absolute inside it, as ``resolve_local_path``
    returns it) or a directory descriptor this function returned (``path`` then is relative to
    it). Each directory on the way is opened with ``O_NOFOLLOW | O_DIRECTORY`` relative to the one
    before, and created when missing if ``make_dirs`` (the root too, which is the operator's and
    not checked); the last component is opened with ``flags | O_NOFOLLOW`` (add ``O_DIRECTORY``
    to open a directory). A symbolic link anywhere is a ConfigError naming it (under
    ``root_path``, the path of a ``root`` descriptor); other failures are the OSError of the open.
    """
    if isinstance(root, int):
        parts, shown = Path(path).parts, root_path or Path()
        if Path(path).is_absolute() or ".." in parts:
            raise ValueError(f"{path!r} is not a plain relative path")
        directory = os.dup(root)
    else:
        if make_dirs:
            root.mkdir(parents=True, exist_ok=True)  # the root is the operator's: no check on the way to it
        shown = root.resolve()
        parts = Path(path).relative_to(shown).parts
        directory = os.open(shown, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    action = "writes" if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND) else "reads"
    try:
        last = len(parts) - 1
        for i, name in enumerate(parts):
            shown = shown / name
            is_dir = i < last or flags & os.O_DIRECTORY
            if is_dir:
                wanted = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
                try:
                    opened = _open_at(name, wanted, 0, directory, shown, action)
                except FileNotFoundError:
                    if not make_dirs:
                        raise
                    try:
                        os.mkdir(name, 0o777, dir_fd=directory)
                    except FileExistsError:
                        pass  # made a moment ago by another writer
                    opened = _open_at(name, wanted, 0, directory, shown, action)
            else:
                opened = _open_at(name, flags | os.O_NOFOLLOW | os.O_CLOEXEC, mode, directory, shown, action)
            os.close(directory)
            directory = opened
        opened, directory = directory, -1
        return opened
    finally:
        if directory != -1:
            os.close(directory)


def _open_at(name: str, flags: int, mode: int, directory: int, shown: Path, action: str) -> int:
    try:
        return os.open(name, flags, mode, dir_fd=directory)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EEXIST):
            try:
                link = stat.S_ISLNK(os.stat(name, dir_fd=directory, follow_symlinks=False).st_mode)
            except OSError:
                link = False
            if link:
                raise link_refused(shown, action) from None
        raise type(exc)(exc.errno, exc.strerror, str(shown)) from None  # the whole path, not the last part


def link_refused(path: Path, action: str = "writes") -> ConfigError:
    return ConfigError(f"{path} is a symbolic link; airpipe {action} only inside the local root")
