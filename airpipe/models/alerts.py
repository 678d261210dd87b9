"""Alert rules, the alerts they fire (and that resolve), and the timeline of both."""

from __future__ import annotations

import uuid

import peewee

from airpipe.models.config import Connection, Workspace
from airpipe.models.db import BaseModel, ForeignKeyField, now


class AlertRule(BaseModel):
    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    workspace = ForeignKeyField(Workspace, backref="alert_rules", on_delete="CASCADE")
    workspace_id: uuid.UUID
    #: None: every connection of the workspace
    connection = ForeignKeyField(Connection, null=True, on_delete="CASCADE")
    connection_id: uuid.UUID | None
    name = peewee.TextField()
    kind = peewee.CharField()  # consecutive_failures, no_success_within, records_below
    threshold = peewee.BigIntegerField()  # failures, seconds or records
    severity = peewee.CharField()  # info, warning, critical
    created_at = peewee.BigIntegerField(default=now)


class Alert(BaseModel):
    """A rule firing for one connection, until it resolves (by itself, or by hand)."""

    id = peewee.BigAutoField()
    rule = ForeignKeyField(AlertRule, backref="alerts", on_delete="CASCADE")
    rule_id: uuid.UUID
    connection = ForeignKeyField(Connection, on_delete="CASCADE")
    connection_id: uuid.UUID
    status = peewee.CharField(default="firing")  # firing, resolved
    message = peewee.TextField()
    fired_at = peewee.BigIntegerField(default=now)
    resolved_at = peewee.BigIntegerField(null=True)
    resolved_by = peewee.CharField(null=True)  # "condition" (by itself) or "manual"

    class Meta:
        indexes = ((("rule", "connection", "status"), False),)


class AlertEvent(BaseModel):
    """The timeline: an alert fired, or resolved."""

    id = peewee.BigAutoField()
    alert = ForeignKeyField(Alert, backref="events", on_delete="CASCADE")
    alert_id: int
    kind = peewee.CharField()  # fired, resolved
    message = peewee.TextField()
    at = peewee.BigIntegerField(default=now)
