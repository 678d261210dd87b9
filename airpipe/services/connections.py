from __future__ import annotations

import functools
import uuid
from typing import Any

import msgspec
import peewee

from airpipe.errors import Conflict, InvalidInput, NotFound
from airpipe.models import DESTINATION, RESET, SOURCE, Actor, Connection, by_id, by_id_query, insert, transaction
from airpipe.schemas.base import ScheduleType, TimeUnit
from airpipe.schemas.catalog import AirbyteCatalog
from airpipe.schemas.connections import (
    ConnectionCreate,
    ConnectionIdRequestBody,
    ConnectionRead,
    ConnectionReadList,
    ConnectionSchedule,
    ConnectionUpdate,
    ScheduleData,
)
from airpipe.schemas.history import ChangeAction
from airpipe.schemas.jobs import JobInfoRead
from airpipe.schemas.lists import WorkspaceListRequestBody
from airpipe.services import authorship, catalogs, history, scheduler, schedules, stream_schedules
from airpipe.services.actors import get_actor, refuse_unknown_streams, source_catalog
from airpipe.services.converters import REMEMBERED_CATALOG_BYTES, connection_read, job_info_read
from airpipe.services.paging import paged
from airpipe.services.workspaces import get_workspace_model
from airpipe.worker import notifications, tasks


def get_connection_model(connection_id: uuid.UUID) -> Connection:
    connection = by_id(Connection, connection_id)
    if connection is None:
        raise NotFound("connection", connection_id)
    return connection


def live_connection(connection_id: uuid.UUID) -> Connection:
    connection = get_connection_model(connection_id)
    if connection.status == "deprecated":
        raise Conflict(f"connection {connection_id} is deprecated (deleted) and cannot be changed or run")
    return connection


def create_connection(request: ConnectionCreate, action: ChangeAction = ChangeAction.created) -> ConnectionRead:
    """``action``: how the history names it (a clone is created this way too)."""
    source = get_actor(SOURCE, request.source_id)
    destination = get_actor(DESTINATION, request.destination_id)
    if source.workspace_id != destination.workspace_id:
        raise InvalidInput.field(
            "$.destinationId", "the source and the destination belong to different workspaces", str(request.destination_id)
        )
    if request.sync_catalog is not None:
        catalog = request.sync_catalog
        catalogs.validate_against(catalog, "syncCatalog")
        refuse_unknown_streams(source, catalog, "syncCatalog")
    elif request.sync_schema is not None:
        catalog = catalogs.from_source_schema(request.sync_schema, request.sync_mode)
    else:
        catalog = source_catalog(source)
    connection = Connection(
        name=request.name or f"{source.name} <> {destination.name}",
        source=source,
        destination=destination,
        status=request.status.value,
        catalog=msgspec.to_builtins(catalog),
        prefix=request.prefix or "",
        namespace_definition=(request.namespace_definition.value if request.namespace_definition else "source"),
        namespace_format=request.namespace_format,
        tags=request.tags,
        created_by=authorship.by(),
        updated_by=authorship.by(),
    )
    _apply_schedule(connection, request.schedule, request.schedule_type, request.schedule_data)
    with transaction():
        insert(connection)
        stream_schedules.save_rows(connection, catalog, new=True)
        history.record_connection(connection, action, source.workspace_id)
    return connection_read(connection)


def update_connection(request: ConnectionUpdate, action: ChangeAction = ChangeAction.updated) -> ConnectionRead:
    """``action``: how the history names it (a revert is an update too)."""
    connection = live_connection(request.connection_id)
    UNSET = msgspec.UNSET
    if request.sync_catalog is not UNSET:
        catalogs.validate_against(request.sync_catalog, "syncCatalog")
        refuse_unknown_streams(connection.source, request.sync_catalog, "syncCatalog")
        connection.catalog = msgspec.to_builtins(request.sync_catalog)
    elif request.sync_schema is not UNSET:
        connection.catalog = msgspec.to_builtins(catalogs.from_source_schema(request.sync_schema))
    if request.name is not UNSET:
        connection.name = request.name
    if request.prefix is not UNSET:
        connection.prefix = request.prefix
    if request.namespace_definition is not UNSET:
        connection.namespace_definition = request.namespace_definition.value
    if request.namespace_format is not UNSET:
        connection.namespace_format = request.namespace_format
    if request.tags is not UNSET:
        connection.tags = request.tags
    if not (request.schedule is UNSET and request.schedule_type is UNSET and request.schedule_data is UNSET):
        current = None
        if connection.schedule_units:
            current = ConnectionSchedule(connection.schedule_units, TimeUnit(connection.schedule_time_unit))
        _apply_schedule(
            connection,
            current if request.schedule is UNSET else request.schedule,
            None if request.schedule_type is UNSET else request.schedule_type,
            None if request.schedule_data is UNSET else request.schedule_data,
        )
    was_active = connection.status == "active"
    connection.status = request.status.value
    authorship.touch(connection)
    with transaction():
        connection.save()
        history.record_connection(connection, action, notifications.workspace_of(connection))
        if request.sync_catalog is not UNSET or request.sync_schema is not UNSET:
            stream_schedules.save_rows(connection, msgspec.convert(connection.catalog, AirbyteCatalog))
        announced = was_active and connection.status != "active" and _announce_disabled(connection)
    if announced:
        tasks.notify_soon()
    return connection_read(connection)


def _announce_disabled(connection: Connection) -> int:
    """The connection stopped syncing (inactive, or deleted): to the channels that want it."""
    return notifications.queue_event("connection_disabled", connection, {"status": connection.status})


def _apply_schedule(
    connection: Connection,
    schedule: ConnectionSchedule | None,
    schedule_type: ScheduleType | None,
    schedule_data: ScheduleData | None,
) -> None:
    """The seed's ``schedule`` and later Airbyte's ``scheduleType``/``scheduleData`` describe one
    schedule; either may be sent, and both are read back."""
    kind = schedule_type.value if schedule_type is not None else ("basic" if schedule is not None else "manual")
    connection.schedule_type = kind
    connection.schedule_units = connection.schedule_time_unit = None
    connection.cron_expression = connection.cron_time_zone = None
    if kind == "basic":
        basic = (schedule_data.basic_schedule if schedule_data else None) or schedule
        if basic is None:
            raise InvalidInput.field("$.scheduleData.basicSchedule", "is required when scheduleType is basic")
        connection.schedule_units, connection.schedule_time_unit = basic.units, basic.time_unit.value
    elif kind == "cron":
        cron = schedule_data.cron if schedule_data else None
        if cron is None:
            raise InvalidInput.field("$.scheduleData.cron", "is required when scheduleType is cron")
        schedules.validate_cron(cron.cron_expression, cron.cron_time_zone)
        connection.cron_expression, connection.cron_time_zone = cron.cron_expression, cron.cron_time_zone


def get_connection(request: ConnectionIdRequestBody) -> ConnectionRead:
    return connection_read(get_connection_model(request.connection_id))


def get_connection_json(request: ConnectionIdRequestBody) -> msgspec.Raw:
    """``get_connection``'s answer, encoded: what the API answers on its event loop
    (api/operations.INLINE). A read is made of nothing but the connection's row, so it is
    remembered by that row: reading a connection unchanged since is one query, without building
    the model, the read and its JSON again (two thirds of the work). Never stale: a change is
    another row, another key."""
    rows = by_id_query(Connection).rows(request.connection_id)
    if not rows:
        raise NotFound("connection", request.connection_id)
    row = rows[0]
    small = sum(len(value) for value in row if isinstance(value, str)) <= REMEMBERED_CATALOG_BYTES  # a large one is not kept
    return _remembered_read(row) if small else _encoded_read(row)


_encode = msgspec.json.Encoder().encode


@functools.lru_cache(maxsize=256)
def _remembered_read(row: tuple[Any, ...]) -> msgspec.Raw:
    return _encoded_read(row)


def _encoded_read(row: tuple[Any, ...]) -> msgspec.Raw:
    return msgspec.Raw(_encode(connection_read(by_id_query(Connection).instance(row))))


def list_connections(request: WorkspaceListRequestBody) -> ConnectionReadList:
    return ConnectionReadList(connections=[connection_read(c) for c in workspace_connections(request)])


#: a listed connection's columns: its catalog as the text it is stored as (``catalog_json``, which
#: converters.connection_read takes), not decoded into dicts: a page of 100 made some 30,000
#: objects of them, whose garbage collections tripled the slowest pages' time
LISTED = [
    *(field for field in Connection._meta.sorted_fields if field is not Connection.catalog),
    Connection.catalog.cast("text").alias("catalog_json"),
]


def workspace_connections(request: WorkspaceListRequestBody) -> list[Connection]:
    """The workspace's connections, as ``request`` filters, orders and pages them (see LISTED)."""
    get_workspace_model(request.workspace_id)
    in_workspace = Connection.visible().join(Actor, on=Connection.source).where(Actor.workspace == request.workspace_id)

    def ordered(query: peewee.ModelSelect[Connection]) -> peewee.ModelSelect[Connection]:
        default = (Connection.created_at, Connection.name)
        return paged(query, request, name=Connection.name, created_at=Connection.created_at, default_order=default, tags=Connection.tags)

    if request.pagination is None:
        return list(ordered(in_workspace.select(*LISTED)))
    # A page: its ids first, from the index alone (see Connection.Meta), then its rows. Sorting
    # the workspace's rows to keep one page read every catalog: most of a page's time.
    ids = [row.id for row in ordered(in_workspace.select(Connection.id))]
    rows = {row.id: row for row in Connection.select(*LISTED).where(Connection.id.in_(ids))} if ids else {}
    return [rows[connection_id] for connection_id in ids]


def delete_connection(request: ConnectionIdRequestBody) -> None:
    with transaction():
        connection = get_connection_model(request.connection_id)
        was_active = connection.status == "active"
        connection.status = "deprecated"
        authorship.touch(connection)
        connection.save()
        history.record_connection(connection, ChangeAction.deleted, notifications.workspace_of(connection))
        announced = was_active and _announce_disabled(connection)
    if announced:
        tasks.notify_soon()


def sync_connection(request: ConnectionIdRequestBody) -> JobInfoRead:
    return job_info_read(scheduler.start_sync(live_connection(request.connection_id)))


def reset_connection(request: ConnectionIdRequestBody) -> JobInfoRead:
    return job_info_read(scheduler.start_sync(live_connection(request.connection_id), RESET))
