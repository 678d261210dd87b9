"""Change history: every create, update and delete of a source, destination or connection, with
a snapshot of the resource as that change left it (encrypted: a source's holds its secrets),
who made it and when; written in the transaction that made the change."""

from __future__ import annotations

import peewee

from airpipe.models.crypto import EncryptedJSONField
from airpipe.models.db import BaseModel, now


class ChangeRecord(BaseModel):
    id = peewee.BigAutoField()
    kind = peewee.CharField()  # source, destination, connection
    resource_id = peewee.UUIDField()
    workspace_id = peewee.UUIDField()
    action = peewee.CharField()  # created, updated, deleted, restored, reverted, cloned
    snapshot = EncryptedJSONField()
    changed_by = peewee.TextField(null=True)
    changed_at = peewee.BigIntegerField(default=now)

    class Meta:
        indexes = ((("resource_id", "id"), False),)


