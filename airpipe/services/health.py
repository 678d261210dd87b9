"""Health, debug information and the (still empty) operations list."""

from __future__ import annotations

import platform
import sys

from airpipe import __version__
from airpipe.models import Workspace, db
from airpipe.schemas.connections import ConnectionIdRequestBody
from airpipe.schemas.misc import DebugRead, HealthCheckRead, OperationReadList
from airpipe.services.connections import get_connection_model


def health() -> HealthCheckRead:
    try:
        Workspace.select().limit(1).exists()
        ok = True
    except Exception:  # the health check reports a broken database, it does not raise it
        ok = False
    return HealthCheckRead(available=ok, db=ok)


def debug_info() -> DebugRead:
    return DebugRead(
        info={
            "version": __version__,
            "python": sys.version.split()[0],
            "platform": platform.platform(),
            "database": type(db.obj).__name__,
        }
    )


def list_operations(request: ConnectionIdRequestBody) -> OperationReadList:
    get_connection_model(request.connection_id)
    return OperationReadList(operations=[])
