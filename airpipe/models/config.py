"""Configuration: workspaces, connector definitions, sources and destinations, connections.

User-given strings are TEXT, not VARCHAR(255): PostgreSQL would refuse a longer name.
"""

from __future__ import annotations

import uuid
from typing import Any

import peewee

from airpipe.models.crypto import EncryptedJSONField
from airpipe.models.db import BaseModel, ForeignKeyField, JSONField, now

SOURCE = "source"
DESTINATION = "destination"


class Workspace(BaseModel):
    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    customer_id = peewee.UUIDField(default=uuid.uuid4)
    name = peewee.TextField()
    slug = peewee.TextField()
    email = peewee.TextField(null=True)
    initial_setup_complete = peewee.BooleanField(default=False)
    onboarding_complete = peewee.BooleanField(default=False)
    anonymous_data_collection = peewee.BooleanField(default=False)
    news = peewee.BooleanField(default=False)
    security_updates = peewee.BooleanField(default=False)
    tombstone = peewee.BooleanField(default=False)
    created_at = peewee.BigIntegerField(default=now)
    # added later (nullable: rows from before have none)
    updated_at = peewee.BigIntegerField(null=True)
    created_by = peewee.TextField(null=True)  # the principal's name: a user, a key, an application
    updated_by = peewee.TextField(null=True)
    tags = JSONField(null=True)  # a list of strings


class SourceOrDestination:
    """Rows of either side (``actor_type`` "source" or "destination"), deleted by a tombstone."""

    @classmethod
    def live(cls, actor_type: str) -> peewee.ModelSelect[Any]:  # Any: the model it is mixed into
        """The rows of one side that are not deleted."""
        model: Any = cls  # a mixin: the model class it is mixed into has these fields
        rows: peewee.ModelSelect[Any] = model.select().where(model.actor_type == actor_type, model.tombstone == False)  # noqa: E712
        return rows


class ActorDefinition(SourceOrDestination, BaseModel):
    """A connector image: what sources (actor_type "source") or destinations are made from."""

    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    actor_type = peewee.CharField()
    name = peewee.TextField()
    docker_repository = peewee.TextField()
    docker_image_tag = peewee.TextField()
    documentation_url = peewee.TextField(null=True)
    #: the connector's cached `spec` output and the tag it was read from
    spec = JSONField(null=True)
    spec_tag = peewee.TextField(null=True)
    tombstone = peewee.BooleanField(default=False)
    created_at = peewee.BigIntegerField(default=now)


class Actor(SourceOrDestination, BaseModel):
    """A configured source or destination."""

    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    actor_type = peewee.CharField()
    workspace = ForeignKeyField(Workspace, backref="actors")
    definition = ForeignKeyField(ActorDefinition, backref="actors")
    # what peewee adds at run time, declared for the type checker: the foreign keys' raw values
    workspace_id: uuid.UUID
    definition_id: uuid.UUID
    name = peewee.TextField()
    #: encrypted at rest: it holds the connector's credentials
    configuration = EncryptedJSONField()
    tombstone = peewee.BooleanField(default=False)
    created_at = peewee.BigIntegerField(default=now)
    updated_at = peewee.BigIntegerField(default=now)
    created_by = peewee.TextField(null=True)
    updated_by = peewee.TextField(null=True)
    tags = JSONField(null=True)


class Connection(BaseModel):
    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    name = peewee.TextField()
    source = ForeignKeyField(Actor, backref="source_connections")
    destination = ForeignKeyField(Actor, backref="destination_connections")
    source_id: uuid.UUID  # the foreign keys' raw values, which peewee adds at run time
    destination_id: uuid.UUID
    status = peewee.CharField(default="active")
    #: the configured catalog in Airbyte's later `syncCatalog` shape
    catalog = JSONField()
    schedule_type = peewee.CharField(default="manual")
    schedule_units = peewee.BigIntegerField(null=True)
    schedule_time_unit = peewee.CharField(null=True)
    cron_expression = peewee.TextField(null=True)
    cron_time_zone = peewee.TextField(null=True)
    prefix = peewee.TextField(default="")
    namespace_definition = peewee.CharField(default="source")
    namespace_format = peewee.TextField(null=True)
    created_at = peewee.BigIntegerField(default=now)
    updated_at = peewee.BigIntegerField(default=now)
    #: when the schedule last fired (epoch seconds); null before its first run (services/schedules.py)
    last_scheduled_at = peewee.BigIntegerField(null=True)
    created_by = peewee.TextField(null=True)
    updated_by = peewee.TextField(null=True)
    tags = JSONField(null=True)

    @classmethod
    def visible(cls) -> peewee.ModelSelect[Connection]:
        """Lists skip deprecated (deleted) connections."""
        return cls.select().where(cls.status != "deprecated")

    class Meta:
        # Everything a page of a workspace's list needs to find its ids, without reading the
        # rows: in a row, created_at and name sit after the catalog (kilobytes, overflow pages)
        indexes = ((("source", "status", "created_at", "name", "id"), False),)


class DiscoveredCatalog(BaseModel):
    """A source's last discovered catalog (Airbyte's actor catalog), so that creating a connection
    without a syncCatalog does not start a connector each time. It is forgotten when the source's
    config changes, and not used once its definition's tag differs or it is old."""

    source = ForeignKeyField(Actor, primary_key=True, on_delete="CASCADE")
    catalog = JSONField()
    docker_image_tag = peewee.TextField()
    discovered_at = peewee.BigIntegerField(default=now)


class ConnectionState(BaseModel):
    """The checkpoint a connection resumes from: the last state the destination echoed."""

    connection = ForeignKeyField(Connection, primary_key=True, backref="state")
    state_type = peewee.CharField()
    state = JSONField()
    updated_at = peewee.BigIntegerField(default=now)


class StreamSchedule(BaseModel):
    """A stream with a schedule of its own (its settings are in the connection's catalog, the
    truth; this row is written with it) and when the scheduler last started it."""

    id = peewee.AutoField()
    connection = ForeignKeyField(Connection, backref="stream_schedules", on_delete="CASCADE")
    connection_id: uuid.UUID
    stream_name = peewee.TextField()
    stream_namespace = peewee.TextField(default="")  # "" for none: a unique index treats NULLs as distinct
    last_scheduled_at = peewee.BigIntegerField(null=True)

    class Meta:
        indexes = ((("connection", "stream_name", "stream_namespace"), True),)
