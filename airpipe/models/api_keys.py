"""API keys: a name, scopes and an expiry; the key itself is shown once and stored as a hash."""

from __future__ import annotations

import uuid

import peewee

from airpipe.models.db import BaseModel, JSONField, Prepared, now


class ApiKey(BaseModel):
    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    name = peewee.TextField()
    #: the key's first characters, shown in lists so that a person can tell keys apart
    prefix = peewee.CharField()
    key_hash = peewee.CharField(unique=True)  # sha256: the key is random and long, so no salt is needed
    scopes = JSONField()  # ["read", "write:<workspaceId>", ...]
    expires_at = peewee.BigIntegerField(null=True)
    last_used_at = peewee.BigIntegerField(null=True)
    created_at = peewee.BigIntegerField(default=now)
    created_by = peewee.TextField(null=True)


#: the key a hash is of: what every request with a key reads (see Prepared)
api_key_by_hash = Prepared(ApiKey, lambda key_hash: ApiKey.select().where(ApiKey.key_hash == key_hash), "sha256")
