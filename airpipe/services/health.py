"""Health, debug information and the (still empty) operations list."""

from __future__ import annotations

import platform
import sys

from airpipe import __version__
from airpipe.models import Workspace, db
from airpipe.schemas.connections import ConnectionIdRequestBody
from airpipe.schemas.misc import DebugRead, HealthCheckRead, OperationReadList
from airpipe.services import options
from airpipe.services.connections import get_connection_model
from airpipe.worker import queue
from airpipe.worker.watch import live_workers


def health() -> HealthCheckRead:
    """What the service depends on: the database, the queue and (production) a live worker.
    Opens its own database connection: a database that is down is a finding, not an error."""
    problems = []
    workers = None
    try:
        with db.connection_context():
            Workspace.select().limit(1).exists()
            workers = live_workers(options.worker_liveness)
    except Exception as exc:  # the health check reports a broken database, it does not raise it
        problems.append(f"the database is unreachable ({_first_line(exc)})")
    try:
        queue.ping()
        queue_ok = True
    except Exception as exc:
        queue_ok = False
        problems.append(f"the queue is unreachable ({_first_line(exc)})")
    if options.workers_required and workers == 0:
        problems.append(f"no worker has beaten in the last {options.worker_liveness:g} s: start `airpipe worker`")
    return HealthCheckRead(
        available=not problems, db=workers is not None, queue=queue_ok, workers=workers, message="; ".join(problems) or None
    )


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


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
