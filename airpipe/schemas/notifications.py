"""Notification channels: where airpipe tells people that a sync failed, succeeded, or that a
connection was disabled (worker/notifications.py sends them)."""

from __future__ import annotations

import enum
import uuid
from typing import Annotated

import msgspec

from airpipe.schemas.base import Base, Int64, Name, Url


class NotificationType(enum.Enum):
    webhook = "webhook"  # JSON, HMAC-signed
    slack = "slack"  # a Slack-compatible incoming webhook: {"text": ...}
    email = "email"  # through AIRPIPE_SMTP_*


class NotificationEvent(enum.Enum):
    sync_succeeded = "sync_succeeded"
    sync_failed = "sync_failed"
    connection_disabled = "connection_disabled"
    alert_fired = "alert_fired"
    alert_resolved = "alert_resolved"


class NotificationCreate(Base, kw_only=True):
    workspace_id: uuid.UUID
    name: Name
    type: NotificationType
    url: Url | None = None
    email: Name | None = None
    #: default: every event
    events: list[NotificationEvent] | None = None


class NotificationIdRequestBody(Base):
    notification_id: uuid.UUID


class NotificationRotateSecret(Base, kw_only=True):
    notification_id: uuid.UUID
    #: how long the old secret still signs deliveries (beside the new one); default a day
    grace_seconds: Annotated[int, msgspec.Meta(ge=0, le=30 * 86400)] = 86400


class NotificationRead(Base, kw_only=True):
    notification_id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    type: NotificationType
    #: masked (services/secrets.mask_url): scheme, host and the path's first segment; the rest is a credential
    url: str | None = None
    email: str | None = None
    events: list[NotificationEvent]
    created_at: int
    #: a webhook's signing secret: only in the answers to create and rotate_secret
    secret: str | None = None


class NotificationReadList(Base):
    notifications: list[NotificationRead]


class DeliveryListRequestBody(Base, kw_only=True):
    notification_id: uuid.UUID
    after_id: Int64 | None = None
    page_size: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 100


class DeliveryRead(Base, kw_only=True):
    id: int
    event: NotificationEvent
    status: str  # pending, delivered, failed
    attempts: int
    last_error: str | None = None
    created_at: int
    delivered_at: int | None = None


class DeliveryReadList(Base):
    deliveries: list[DeliveryRead]
