"""Applications: a client id and secret a program trades for short-lived bearer tokens (the
public API's ``applications/token``). Only hashes are stored: a secret or a token is shown once."""

from __future__ import annotations

import uuid

import peewee

from airpipe.models.db import BaseModel, ForeignKeyField, now


class Application(BaseModel):
    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    name = peewee.TextField()
    client_id = peewee.CharField(unique=True)
    secret_hash = peewee.CharField()  # sha256 of the secret: it is random and long, so no salt or stretching is needed
    created_at = peewee.BigIntegerField(default=now)


class ApplicationToken(BaseModel):
    token_hash = peewee.CharField(primary_key=True)  # sha256 of the bearer token
    application = ForeignKeyField(Application, backref="tokens", on_delete="CASCADE")
    expires_at = peewee.BigIntegerField(index=True)
