"""The web app's composite views: a connection with its source, destination and sync status."""

from __future__ import annotations

import msgspec

from airpipe.models import RESET, SYNC, Connection, Job
from airpipe.schemas.connections import ConnectionIdRequestBody, WbConnectionRead, WbConnectionReadList
from airpipe.schemas.workspaces import WorkspaceIdRequestBody
from airpipe.services import definitions
from airpipe.services.connections import get_connection_model, workspace_connections
from airpipe.services.converters import connection_read, destination_read, source_read
from airpipe.services.scheduler import active_sync_job


def get_connection(request: ConnectionIdRequestBody) -> WbConnectionRead:
    return _wb_read(get_connection_model(request.connection_id))


def list_connections(request: WorkspaceIdRequestBody) -> WbConnectionReadList:
    return WbConnectionReadList(connections=[_wb_read(c) for c in workspace_connections(request.workspace_id)])


def _wb_read(connection: Connection) -> WbConnectionRead:
    source, destination = connection.source, connection.destination
    last = (
        Job.select(Job.updated_at)
        .where(Job.scope == str(connection.id), Job.config_type.in_((SYNC, RESET)), Job.status == "succeeded")
        .order_by(Job.id.desc())
        .first()
    )
    fields = msgspec.structs.asdict(connection_read(connection))
    return WbConnectionRead(
        **fields,
        source=source_read(source, definitions.specification(source.definition)),
        destination=destination_read(destination, definitions.specification(destination.definition)),
        last_sync=last.updated_at if last else None,
        is_syncing=active_sync_job(connection) is not None,
    )
