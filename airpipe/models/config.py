"""Configuration: workspaces, connector definitions, sources and destinations, connections."""

from __future__ import annotations

import uuid

import peewee

from airpipe.models.db import BaseModel, JSONField, now

SOURCE = "source"
DESTINATION = "destination"


class Workspace(BaseModel):
    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    customer_id = peewee.UUIDField(default=uuid.uuid4)
    name = peewee.CharField()
    slug = peewee.CharField()
    email = peewee.CharField(null=True)
    initial_setup_complete = peewee.BooleanField(default=False)
    onboarding_complete = peewee.BooleanField(default=False)
    anonymous_data_collection = peewee.BooleanField(default=False)
    news = peewee.BooleanField(default=False)
    security_updates = peewee.BooleanField(default=False)
    tombstone = peewee.BooleanField(default=False)
    created_at = peewee.BigIntegerField(default=now)


class ActorDefinition(BaseModel):
    """A connector image: what sources (actor_type "source") or destinations are made from."""

    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    actor_type = peewee.CharField()
    name = peewee.CharField()
    docker_repository = peewee.CharField()
    docker_image_tag = peewee.CharField()
    documentation_url = peewee.CharField(null=True)
    #: the connector's cached `spec` output and the tag it was read from
    spec = JSONField(null=True)
    spec_tag = peewee.CharField(null=True)
    tombstone = peewee.BooleanField(default=False)
    created_at = peewee.BigIntegerField(default=now)

    @classmethod
    def live(cls, actor_type: str) -> peewee.ModelSelect:
        return cls.select().where(cls.actor_type == actor_type, cls.tombstone == False)  # noqa: E712


class Actor(BaseModel):
    """A configured source or destination."""

    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    actor_type = peewee.CharField()
    workspace = peewee.ForeignKeyField(Workspace, backref="actors")
    definition = peewee.ForeignKeyField(ActorDefinition, backref="actors")
    name = peewee.CharField()
    configuration = JSONField()
    tombstone = peewee.BooleanField(default=False)
    created_at = peewee.BigIntegerField(default=now)
    updated_at = peewee.BigIntegerField(default=now)

    @classmethod
    def live(cls, actor_type: str) -> peewee.ModelSelect:
        return cls.select().where(cls.actor_type == actor_type, cls.tombstone == False)  # noqa: E712


class Connection(BaseModel):
    id = peewee.UUIDField(primary_key=True, default=uuid.uuid4)
    name = peewee.CharField()
    source = peewee.ForeignKeyField(Actor, backref="source_connections")
    destination = peewee.ForeignKeyField(Actor, backref="destination_connections")
    status = peewee.CharField(default="active")
    #: the configured catalog in Airbyte's later `syncCatalog` shape
    catalog = JSONField()
    schedule_type = peewee.CharField(default="manual")
    schedule_units = peewee.BigIntegerField(null=True)
    schedule_time_unit = peewee.CharField(null=True)
    cron_expression = peewee.CharField(null=True)
    cron_time_zone = peewee.CharField(null=True)
    prefix = peewee.CharField(default="")
    namespace_definition = peewee.CharField(default="source")
    namespace_format = peewee.CharField(null=True)
    created_at = peewee.BigIntegerField(default=now)
    updated_at = peewee.BigIntegerField(default=now)

    @classmethod
    def visible(cls) -> peewee.ModelSelect:
        """Lists skip deprecated (deleted) connections."""
        return cls.select().where(cls.status != "deprecated")


class ConnectionState(BaseModel):
    """The checkpoint a connection resumes from: the last state the destination echoed."""

    connection = peewee.ForeignKeyField(Connection, primary_key=True, backref="state")
    state_type = peewee.CharField()
    state = JSONField()
    updated_at = peewee.BigIntegerField(default=now)
