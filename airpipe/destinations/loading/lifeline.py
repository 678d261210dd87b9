"""End of input means "commit" to a destination, but a worker that was killed also closes our
input. A destination asks ``orphaned()`` before it commits: if the process that started it is
gone (we were re-parented), the input ended because the sync died, and nothing is committed."""

from __future__ import annotations

import os

_PARENT = os.getppid()


class Orphaned(Exception):
    def __init__(self) -> None:
        super().__init__(f"the process that started this destination ({_PARENT}) is gone: nothing is committed")


def check_parent() -> None:
    """Raise Orphaned if the worker that started this process has died."""
    if os.getppid() != _PARENT:
        raise Orphaned()
