"""The web app's composite views: a connection with its source, destination and sync status."""

from __future__ import annotations

import msgspec
import peewee

from airpipe.models import ACTIVE, RESET, SYNC, Actor, ActorDefinition, Connection, Job
from airpipe.schemas.connections import ConnectionIdRequestBody, WbConnectionRead, WbConnectionReadList
from airpipe.schemas.lists import WorkspaceListRequestBody
from airpipe.services import definitions
from airpipe.services.connections import get_connection_model, workspace_connections
from airpipe.services.converters import connection_read, destination_read, source_read


def get_connection(request: ConnectionIdRequestBody) -> WbConnectionRead:
    return _wb_reads([get_connection_model(request.connection_id)])[0]


def list_connections(request: WorkspaceListRequestBody) -> WbConnectionReadList:
    return WbConnectionReadList(connections=_wb_reads(workspace_connections(request)))


def _wb_reads(connections: list[Connection]) -> list[WbConnectionRead]:
    """The views of ``connections`` in four queries, however many there are: their sources and
    destinations with definitions, their last successful syncs, their active jobs."""
    if not connections:
        return []
    actor_ids = {c.source_id for c in connections} | {c.destination_id for c in connections}
    actors = {a.id: a for a in Actor.select(Actor, ActorDefinition).join(ActorDefinition).where(Actor.id.in_(actor_ids))}
    specs = definitions.specifications(actors.values())
    scopes = [str(c.id) for c in connections]
    syncs = Job.select(Job.scope, peewee.fn.MAX(Job.updated_at).alias("last")).where(
        Job.scope.in_(scopes), Job.config_type.in_((SYNC, RESET)), Job.status == "succeeded"
    )
    rows = syncs.group_by(Job.scope).dicts()
    last_sync = {row["scope"]: row["last"] for row in rows}  # type: ignore[index]  # .dicts() gives dicts; the stubs say models
    active = Job.select(Job.scope).where(Job.scope.in_(scopes), Job.config_type.in_((SYNC, RESET)), Job.status.in_(ACTIVE))
    syncing = {row.scope for row in active}
    views = []
    for connection in connections:
        source, destination = actors[connection.source_id], actors[connection.destination_id]
        views.append(
            WbConnectionRead(
                **msgspec.structs.asdict(connection_read(connection)),
                source=source_read(source, specs[source.definition_id]),
                destination=destination_read(destination, specs[destination.definition_id]),
                last_sync=last_sync.get(str(connection.id)),
                is_syncing=str(connection.id) in syncing,
            )
        )
    return views
