"""What happens to sources, destinations and connections over their lives, beyond create and
update: their change history and reverting to a change, the trash and restoring from it, clones,
and the same change to many connections at once. Each change is made by the services that own
the rules (actors, connections), and recorded in the history in its own transaction.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from airpipe.errors import Conflict, NotFound
from airpipe.models import DESTINATION, SOURCE, Actor, ActorDefinition, Connection, by_id, transaction
from airpipe.schemas.actors import (
    DestinationIdRequestBody,
    DestinationRead,
    DestinationReadList,
    SourceIdRequestBody,
    SourceRead,
    SourceReadList,
)
from airpipe.schemas.base import ConnectionStatus
from airpipe.schemas.connections import ConnectionCreate, ConnectionIdRequestBody, ConnectionRead, ConnectionReadList, ConnectionUpdate
from airpipe.schemas.history import (
    ChangeAction,
    ConnectionBulkUpdate,
    ConnectionCloneRequestBody,
    ConnectionHistoryRequestBody,
    DestinationCloneRequestBody,
    DestinationHistoryRequestBody,
    HistoryEntryRead,
    HistoryIdRequestBody,
    HistoryReadList,
    SourceCloneRequestBody,
    SourceHistoryRequestBody,
    TrashRequestBody,
)
from airpipe.services import actors, authorship, connections, definitions, history
from airpipe.services.converters import connection_read, destination_read, source_read
from airpipe.services.workspaces import get_workspace_model

# HISTORY


def source_history(request: SourceHistoryRequestBody) -> HistoryReadList:
    _any_actor(SOURCE, request.source_id)
    return history.list_history(request.source_id, request.pagination)


def destination_history(request: DestinationHistoryRequestBody) -> HistoryReadList:
    _any_actor(DESTINATION, request.destination_id)
    return history.list_history(request.destination_id, request.pagination)


def connection_history(request: ConnectionHistoryRequestBody) -> HistoryReadList:
    connections.get_connection_model(request.connection_id)
    return history.list_history(request.connection_id, request.pagination)


def source_history_entry(request: HistoryIdRequestBody) -> HistoryEntryRead:
    return history.get_entry(SOURCE, request.history_id)


def destination_history_entry(request: HistoryIdRequestBody) -> HistoryEntryRead:
    return history.get_entry(DESTINATION, request.history_id)


def connection_history_entry(request: HistoryIdRequestBody) -> HistoryEntryRead:
    return history.get_entry("connection", request.history_id)


def revert_source(request: HistoryIdRequestBody) -> SourceRead:
    return source_read(*_revert_actor(SOURCE, request.history_id))


def revert_destination(request: HistoryIdRequestBody) -> DestinationRead:
    return destination_read(*_revert_actor(DESTINATION, request.history_id))


def _revert_actor(actor_type: str, history_id: int) -> tuple[Actor, dict[str, Any]]:
    """Put back the name, configuration and tags a change left (a change of a deleted one: 409)."""
    row = history.entry(actor_type, history_id)
    snapshot = row.snapshot
    actor = _any_actor(actor_type, row.resource_id)
    if actor.tombstone:
        raise Conflict(f"{actor_type} {actor.id} is in the trash: restore it first")
    if str(actor.definition_id) != snapshot["definitionId"]:
        raise Conflict(f"{actor_type} {actor.id} was recreated from another connector since that change")
    tags = snapshot.get("tags") or []
    return actors.update_actor(actor_type, actor.id, snapshot["configuration"], snapshot["name"], tags, ChangeAction.reverted)


def revert_connection(request: HistoryIdRequestBody) -> ConnectionRead:
    """Put back the settings a change left (its status too, unless that change deleted it),
    through connections/update's rules (validation, stream schedules, notifications)."""
    row = history.entry("connection", request.history_id)
    connection = connections.live_connection(row.resource_id)
    snapshot = row.snapshot
    then = Connection(source=connection.source_id, destination=connection.destination_id)
    for name in history.CONNECTION_FIELDS:
        setattr(then, name, snapshot[name])
    status = connection.status if snapshot["status"] == "deprecated" else snapshot["status"]
    update = ConnectionUpdate(connection_id=connection.id, status=ConnectionStatus(status), **_settings(then))
    return connections.update_connection(update, ChangeAction.reverted)


def _settings(connection: Connection) -> dict[str, Any]:
    """A connection's settings as connections/create and /update take them: its read, decoded
    again (a read built from a row carries its enum fields as the stored text)."""
    read = msgspec.convert(msgspec.to_builtins(connection_read(connection)), ConnectionRead)
    return {name: getattr(read, name) for name in _SETTINGS}


_SETTINGS = ("name", "sync_catalog", "schedule_type", "schedule_data", "prefix", "namespace_definition", "namespace_format", "tags")


# TRASH AND RESTORE


def source_trash(request: TrashRequestBody) -> SourceReadList:
    return SourceReadList(sources=[source_read(*pair) for pair in _trash(SOURCE, request.workspace_id)])


def destination_trash(request: TrashRequestBody) -> DestinationReadList:
    return DestinationReadList(destinations=[destination_read(*pair) for pair in _trash(DESTINATION, request.workspace_id)])


def connection_trash(request: TrashRequestBody) -> ConnectionReadList:
    get_workspace_model(request.workspace_id)
    query = (
        Connection.select(Connection)
        .join(Actor, on=Connection.source)
        .where(Actor.workspace == request.workspace_id, Connection.status == "deprecated")
        .order_by(Connection.updated_at.desc(), Connection.id)
    )
    return ConnectionReadList(connections=[connection_read(c) for c in query])


def _trash(actor_type: str, workspace_id: uuid.UUID) -> list[tuple[Actor, dict[str, Any]]]:
    """The workspace's deleted sources or destinations, most recently deleted first."""
    get_workspace_model(workspace_id)
    query = (
        Actor.select(Actor, ActorDefinition)
        .join(ActorDefinition)
        .where(Actor.workspace == workspace_id, Actor.actor_type == actor_type, Actor.tombstone == True)  # noqa: E712
        .order_by(Actor.updated_at.desc(), Actor.id)
    )
    found = list(query)
    specs = definitions.specifications(found)
    return [(actor, specs[actor.definition_id]) for actor in found]


def restore_source(request: SourceIdRequestBody) -> SourceRead:
    return source_read(*_restore_actor(SOURCE, request.source_id))


def restore_destination(request: DestinationIdRequestBody) -> DestinationRead:
    return destination_read(*_restore_actor(DESTINATION, request.destination_id))


def _restore_actor(actor_type: str, actor_id: uuid.UUID) -> tuple[Actor, dict[str, Any]]:
    """Out of the trash; its connections stay deleted (restore each that should come back)."""
    with transaction():
        actor = _any_actor(actor_type, actor_id)
        if not actor.tombstone:
            raise Conflict(f"{actor_type} {actor_id} is not in the trash")
        actor.tombstone = False
        authorship.touch(actor)
        actor.save()
        history.record_actor(actor, ChangeAction.restored)
    return actor, definitions.specification(actor.definition)


def restore_connection(request: ConnectionIdRequestBody) -> ConnectionRead:
    """Out of the trash, inactive (it syncs again once enabled); 409 while its source or
    destination is in the trash itself."""
    with transaction():
        connection = connections.get_connection_model(request.connection_id)
        if connection.status != "deprecated":
            raise Conflict(f"connection {connection.id} is not in the trash")
        for side in (connection.source, connection.destination):
            if side.tombstone:
                raise Conflict(f"the connection's {side.actor_type} {side.id} is in the trash: restore it first")
        connection.status = "inactive"
        authorship.touch(connection)
        connection.save()
        history.record_connection(connection, ChangeAction.restored, connection.source.workspace_id)
    return connection_read(connection)


def _any_actor(actor_type: str, actor_id: uuid.UUID) -> Actor:
    """The source or destination, deleted or not (404 only if it never existed)."""
    actor = by_id(Actor, actor_id)
    if actor is None or actor.actor_type != actor_type:
        raise NotFound(actor_type, actor_id)
    return actor


# CLONES


def clone_source(request: SourceCloneRequestBody) -> SourceRead:
    return source_read(*_clone_actor(SOURCE, request.source_id, request.name))


def clone_destination(request: DestinationCloneRequestBody) -> DestinationRead:
    return destination_read(*_clone_actor(DESTINATION, request.destination_id, request.name))


def _clone_actor(actor_type: str, actor_id: uuid.UUID, name: str | None) -> tuple[Actor, dict[str, Any]]:
    """A copy in the same workspace; its secrets are copied server-side, never sent anywhere."""
    original = actors.get_actor(actor_type, actor_id)
    return actors.create_actor(
        actor_type,
        original.workspace_id,
        original.definition_id,
        original.configuration,
        name or f"{original.name} (copy)",
        original.tags,
        ChangeAction.cloned,
    )


def clone_connection(request: ConnectionCloneRequestBody) -> ConnectionRead:
    """A copy of the settings, inactive and with no state (its first sync starts from scratch),
    made by connections/create."""
    original = connections.live_connection(request.connection_id)
    settings = {**_settings(original), "name": request.name or f"{original.name} (copy)"}
    create = ConnectionCreate(
        source_id=original.source_id, destination_id=original.destination_id, status=ConnectionStatus.inactive, **settings
    )
    return connections.create_connection(create, ChangeAction.cloned)


# BULK


def bulk_update_connections(request: ConnectionBulkUpdate) -> ConnectionReadList:
    """One change to many connections: each goes through connections/update's rules, and all
    of them are saved together or, if one is refused (404, 409, 422), none is."""
    changes: dict[str, Any] = {}
    if request.schedule_type is not None:
        changes.update(schedule_type=request.schedule_type, schedule_data=request.schedule_data)
    if request.tags is not None:
        changes["tags"] = request.tags
    updated = []
    with transaction():
        for connection_id in dict.fromkeys(request.connection_ids):
            current = connections.live_connection(connection_id)
            status = request.status or ConnectionStatus(current.status)
            updated.append(connections.update_connection(ConnectionUpdate(connection_id=connection_id, status=status, **changes)))
    return ConnectionReadList(connections=updated)
