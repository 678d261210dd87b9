"""Who changed what: the current principal's name on the rows it creates and changes."""

from __future__ import annotations

from typing import Any

from airpipe import principal
from airpipe.models import now


def by() -> str:
    """The name changes are made in: a user, an API key, an application, or "scheduler"."""
    return principal.current().name


def touch(row: Any) -> None:
    """``row`` (a workspace, source, destination or connection) changed now, by the principal."""
    row.updated_at = now()
    row.updated_by = by()
