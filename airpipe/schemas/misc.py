"""Health, debugging and (not yet existing) operations."""

from __future__ import annotations

import uuid
from typing import Any

from airpipe.schemas.base import Base


class HealthCheckRead(Base):
    available: bool
    db: bool


class DebugRead(Base):
    info: dict[str, Any]


class OperationRead(Base):
    operation_id: uuid.UUID
    name: str
    workspace_id: uuid.UUID
    operator_configuration: dict[str, Any]


class OperationReadList(Base):
    operations: list[OperationRead]
