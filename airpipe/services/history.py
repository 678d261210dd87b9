"""Change history of sources, destinations and connections (models.ChangeRecord): the services
that change one call ``record_*`` inside the transaction of the change; ``*/history/list|get``
read it back, with secrets masked; the revert verbs (in actors and connections) apply a snapshot.
"""

from __future__ import annotations

import uuid
from typing import Any

from airpipe import principal
from airpipe.errors import NotFound
from airpipe.models import Actor, ActorDefinition, ChangeRecord, Connection, by_id, insert
from airpipe.schemas.history import ChangeAction, HistoryEntryRead, HistoryReadList
from airpipe.schemas.lists import Pagination
from airpipe.services import definitions
from airpipe.services.secrets import mask

DEFAULT_PAGE_SIZE = 100

#: a connection's settings a snapshot keeps (and a revert puts back): all but its bookkeeping
CONNECTION_FIELDS = (
    "name",
    "status",
    "catalog",
    "schedule_type",
    "schedule_units",
    "schedule_time_unit",
    "cron_expression",
    "cron_time_zone",
    "prefix",
    "namespace_definition",
    "namespace_format",
    "tags",
)


def actor_snapshot(actor: Actor) -> dict[str, Any]:
    return {
        "name": actor.name,
        "definitionId": str(actor.definition_id),
        "workspaceId": str(actor.workspace_id),
        "configuration": actor.configuration,
        "tags": actor.tags,
    }


def connection_snapshot(connection: Connection) -> dict[str, Any]:
    snapshot = {name: getattr(connection, name) for name in CONNECTION_FIELDS}
    snapshot.update(sourceId=str(connection.source_id), destinationId=str(connection.destination_id))
    return snapshot


def record_actor(actor: Actor, action: ChangeAction) -> None:
    """Inside the transaction that changed ``actor``."""
    _record(actor.actor_type, actor.id, actor.workspace_id, action, actor_snapshot(actor))


def record_connection(connection: Connection, action: ChangeAction, workspace_id: uuid.UUID) -> None:
    """Inside the transaction that changed ``connection``."""
    _record("connection", connection.id, workspace_id, action, connection_snapshot(connection))


def _record(kind: str, resource_id: uuid.UUID, workspace_id: uuid.UUID, action: ChangeAction, snapshot: dict[str, Any]) -> None:
    row = ChangeRecord(
        kind=kind,
        resource_id=resource_id,
        workspace_id=workspace_id,
        action=action.value,
        snapshot=snapshot,
        changed_by=principal.current().name,
    )
    insert(row)  # one per change of anything: its SQL is prepared once


def list_history(resource_id: uuid.UUID, pagination: Pagination | None) -> HistoryReadList:
    """The changes of one resource, newest first (without their snapshots: history/get has them)."""
    limit = (pagination.page_size if pagination else None) or DEFAULT_PAGE_SIZE
    offset = (pagination.row_offset if pagination else None) or 0
    fields = [f for f in ChangeRecord._meta.sorted_fields if f is not ChangeRecord.snapshot]  # not decrypted for a list
    rows = ChangeRecord.select(*fields).where(ChangeRecord.resource_id == resource_id).order_by(ChangeRecord.id.desc())
    return HistoryReadList(history=[_read(row) for row in rows.limit(limit).offset(offset)])


def entry(kind: str, history_id: int) -> ChangeRecord:
    """A change of a ``kind`` resource (404 if there is none, or it is another kind's)."""
    row = by_id(ChangeRecord, history_id)
    if row is None or row.kind != kind:
        raise NotFound(f"{kind} history entry", history_id)
    return row


def get_entry(kind: str, history_id: int) -> HistoryEntryRead:
    row = entry(kind, history_id)
    snapshot = dict(row.snapshot)
    if kind != "connection":
        definition = by_id(ActorDefinition, uuid.UUID(snapshot["definitionId"]))
        spec = definitions.specification(definition) if definition is not None else {}
        snapshot["configuration"] = mask(snapshot["configuration"], spec)
    return _read(row, snapshot)


def _read(row: ChangeRecord, snapshot: dict[str, Any] | None = None) -> HistoryEntryRead:
    return HistoryEntryRead(
        history_id=row.id,
        resource_id=row.resource_id,
        action=ChangeAction(row.action),
        changed_at=row.changed_at,
        changed_by=row.changed_by,
        snapshot=snapshot,
    )
