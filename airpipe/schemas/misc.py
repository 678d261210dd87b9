"""Health, debugging and (not yet existing) operations."""

from __future__ import annotations

import uuid
from typing import Any

from airpipe.schemas.base import Base


class HealthCheckRead(Base):
    available: bool
    db: bool
    #: the job queue (Redis, or the embedded queue's file) answers
    queue: bool | None = None
    #: worker processes that beat recently
    workers: int | None = None
    #: what is down, when something is
    message: str | None = None

    @property
    def http_status(self) -> int:
        """503 when not available, so a load balancer or orchestrator probe needs no JSON."""
        return 200 if self.available else 503


class DebugRead(Base):
    info: dict[str, Any]


class OperationRead(Base):
    operation_id: uuid.UUID
    name: str
    workspace_id: uuid.UUID
    operator_configuration: dict[str, Any]


class OperationReadList(Base):
    operations: list[OperationRead]
