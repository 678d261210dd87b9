"""Where a local destination may write: inside one local root, and nowhere else.

A path is always relative to the root, as Airbyte's ``/local`` mount is: ``/local/x``, ``/x`` and
``x`` all mean ``<local root>/x``. The check is made on the resolved path, so ``..`` and symlinks
that lead out of the root are refused too. The service layer calls this when a destination is
saved; the destination calls it again before it writes (the filesystem may have changed).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

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
    target = (root / relative).resolve()
    if target != root and root not in target.parents:
        raise ValueError(f"the path {path!r} leads outside the local root {root}")
    return target


def local_root(environ: Mapping[str, str] | None = None) -> Path:
    """The directory every destination_path is resolved in (the same default as airpipe's settings)."""
    env = os.environ if environ is None else environ
    root = env.get("AIRPIPE_LOCAL_ROOT") or str(Path(env.get("AIRPIPE_DATA_DIR") or ".airpipe").expanduser() / "local")
    return Path(root).expanduser().absolute()
