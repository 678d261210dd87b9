"""Data sinks: labelled key/value stores of a workspace, written through the API (by people, or by
the built-in destination ``airpipe/destination-data-sink``) and read back by key."""

from __future__ import annotations

import uuid

import peewee

from airpipe.models.config import Workspace
from airpipe.models.db import BaseModel, ForeignKeyField, JSONField, now


class DataSink(BaseModel):
    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    workspace = ForeignKeyField(Workspace, backref="data_sinks", on_delete="CASCADE", index=False)
    workspace_id: uuid.UUID  # the foreign key's raw value, which peewee adds at run time
    #: 1, 2, 3... within the workspace, shown as ``SNK-<serial>``; unique there, never reused
    serial = peewee.IntegerField()
    label = peewee.TextField()
    description = peewee.TextField(null=True)
    tags = JSONField()  # a list of strings
    icon = JSONField(null=True)  # whatever the client draws it with
    created_at = peewee.BigIntegerField(default=now)
    updated_at = peewee.BigIntegerField(default=now)

    class Meta:
        indexes = ((("workspace", "serial"), True),)


class DataSinkEntry(BaseModel):
    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    sink = ForeignKeyField(DataSink, backref="entries", on_delete="CASCADE", index=False)
    sink_id: uuid.UUID
    key = peewee.TextField()
    value = JSONField()
    data_type = peewee.CharField()  # string, number, boolean, json
    created_at = peewee.BigIntegerField(default=now)
    updated_at = peewee.BigIntegerField(default=now)

    class Meta:
        indexes = ((("sink", "key"), True),)
