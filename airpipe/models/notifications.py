"""Notification channels (a webhook, a Slack-compatible webhook, an e-mail address) and the
deliveries of events to them: an outbox, written in the transaction that made the event."""

from __future__ import annotations

import uuid

import peewee

from airpipe.models.config import Workspace
from airpipe.models.crypto import EncryptedJSONField
from airpipe.models.db import BaseModel, ForeignKeyField, JSONField, now


class NotificationChannel(BaseModel):
    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    workspace = ForeignKeyField(Workspace, backref="notification_channels", on_delete="CASCADE")
    workspace_id: uuid.UUID  # the foreign key's raw value, which peewee adds at run time
    name = peewee.TextField()
    kind = peewee.CharField()  # webhook, slack, email
    #: webhook, slack; encrypted at rest: such a URL is often all it takes to post (a Slack incoming webhook)
    url = EncryptedJSONField(null=True)
    email = peewee.TextField(null=True)  # email
    events = JSONField()  # the event names it wants
    #: webhooks sign with {"current": key, "previous": key, "previous_until": epoch}: a rotated
    #: key stays valid (deliveries carry both signatures) until then; encrypted at rest
    secret = EncryptedJSONField(null=True)
    created_at = peewee.BigIntegerField(default=now)
    updated_at = peewee.BigIntegerField(default=now)


class NotificationDelivery(BaseModel):
    """One event for one channel: pending until sent, retried with backoff, failed after the last try."""

    id = peewee.BigAutoField()
    channel = ForeignKeyField(NotificationChannel, backref="deliveries", on_delete="CASCADE", index=False)
    channel_id: uuid.UUID
    event = peewee.CharField()
    payload = JSONField()
    status = peewee.CharField(default="pending")  # pending, delivered, failed
    attempts = peewee.IntegerField(default=0)
    #: when it is due (again); a worker sending it moves this ahead, so no other worker takes it meanwhile
    next_attempt_at = peewee.BigIntegerField(default=now)
    last_error = peewee.TextField(null=True)
    created_at = peewee.BigIntegerField(default=now)
    delivered_at = peewee.BigIntegerField(null=True)

    class Meta:
        indexes = ((("channel", "id"), False), (("status", "next_attempt_at"), False))
