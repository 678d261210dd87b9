"""Alert rules, their alerts and the timeline (worker/alerts.py applies the rules)."""

from __future__ import annotations

import enum
import uuid
from typing import Annotated

import msgspec

from airpipe.schemas.base import Base, Int64, Name


class AlertKind(enum.Enum):
    consecutive_failures = "consecutive_failures"  # threshold: how many failed syncs in a row
    no_success_within = "no_success_within"  # threshold: seconds without a successful sync
    records_below = "records_below"  # threshold: a successful sync moving fewer records fires


class Severity(enum.Enum):
    info = "info"
    warning = "warning"
    critical = "critical"


class AlertStatus(enum.Enum):
    firing = "firing"
    resolved = "resolved"


class AlertRuleCreate(Base, kw_only=True):
    workspace_id: uuid.UUID
    #: the rule's connection; none: every connection of the workspace
    connection_id: uuid.UUID | None = None
    name: Name
    kind: AlertKind
    threshold: Annotated[int, msgspec.Meta(ge=1, le=2**63 - 1)]
    severity: Severity = Severity.warning


class AlertRuleIdRequestBody(Base):
    rule_id: uuid.UUID


class AlertRuleRead(Base, kw_only=True):
    rule_id: uuid.UUID
    workspace_id: uuid.UUID
    connection_id: uuid.UUID | None = None
    name: str
    kind: AlertKind
    threshold: int
    severity: Severity
    created_at: int


class AlertRuleReadList(Base):
    rules: list[AlertRuleRead]


class AlertListRequestBody(Base, kw_only=True):
    workspace_id: uuid.UUID
    statuses: list[AlertStatus] | None = None


class AlertIdRequestBody(Base):
    alert_id: Int64


class AlertRead(Base, kw_only=True):
    alert_id: int
    rule_id: uuid.UUID
    rule_name: str
    severity: Severity
    connection_id: uuid.UUID
    status: AlertStatus
    message: str
    fired_at: int
    resolved_at: int | None = None
    #: "condition" (it resolved by itself) or "manual"
    resolved_by: str | None = None


class AlertReadList(Base):
    alerts: list[AlertRead]


class AlertEventListRequestBody(Base, kw_only=True):
    workspace_id: uuid.UUID
    after_id: Int64 | None = None
    page_size: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100


class AlertEventRead(Base, kw_only=True):
    id: int
    alert_id: int
    kind: str  # fired, resolved
    message: str
    at: int
    rule_name: str
    severity: Severity
    connection_id: uuid.UUID


class AlertEventReadList(Base):
    events: list[AlertEventRead]
