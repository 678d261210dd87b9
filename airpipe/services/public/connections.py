"""The public API's connections and stream properties. A connection's ``configurations.streams``
are the selected streams of its catalog, each with its sync mode in the public API's one word
(``incremental_append``: the source's mode, then the destination's)."""

from __future__ import annotations

import uuid
from typing import Any, cast

import msgspec

from airpipe.errors import FieldError, InvalidInput
from airpipe.models import DESTINATION, SOURCE, Actor, Connection
from airpipe.schemas import base
from airpipe.schemas.actors import SourceIdRequestBody
from airpipe.schemas.catalog import AirbyteCatalog, AirbyteStreamAndConfiguration
from airpipe.schemas.connections import ConnectionCreate, ConnectionIdRequestBody, ConnectionUpdate, CronSchedule, ScheduleData
from airpipe.schemas.public import (
    ConnectionCreateRequest,
    ConnectionListQuery,
    ConnectionPatchRequest,
    ConnectionResponse,
    ConnectionSchedule,
    ConnectionScheduleResponse,
    ConnectionsResponse,
    ConnectionStatus,
    ConnectionSyncMode,
    NamespaceDefinition,
    ScheduleType,
    ScheduleTypeWithBasic,
    StreamConfiguration,
    StreamConfigurations,
    StreamProperties,
    StreamPropertiesQuery,
)
from airpipe.services import actors, connections, definitions
from airpipe.services.converters import connection_read
from airpipe.services.public.pages import page_of, text_of

FULL, INCREMENTAL = base.SyncMode.full_refresh, base.SyncMode.incremental
APPEND, OVERWRITE, DEDUP = base.DestinationSyncMode.append, base.DestinationSyncMode.overwrite, base.DestinationSyncMode.append_dedup
MODES: dict[ConnectionSyncMode, tuple[base.SyncMode, base.DestinationSyncMode]] = {
    ConnectionSyncMode.full_refresh_overwrite: (FULL, OVERWRITE),
    ConnectionSyncMode.full_refresh_append: (FULL, APPEND),
    ConnectionSyncMode.incremental_append: (INCREMENTAL, APPEND),
    ConnectionSyncMode.incremental_deduped_history: (INCREMENTAL, DEDUP),
}
_NAMES = {pair: name for name, pair in MODES.items()}
_NAMESPACES = {
    NamespaceDefinition.source: base.NamespaceDefinitionType.source,
    NamespaceDefinition.destination: base.NamespaceDefinitionType.destination,
    NamespaceDefinition.custom_format: base.NamespaceDefinitionType.customformat,
}
_PUBLIC_NAMESPACES = {ours.value: theirs for theirs, ours in _NAMESPACES.items()}


def _mode_name(item: AirbyteStreamAndConfiguration) -> ConnectionSyncMode:
    config = item.config
    return _NAMES.get((config.sync_mode, config.destination_sync_mode), ConnectionSyncMode.full_refresh_append)


def _response(connection: Connection, workspace_id: uuid.UUID) -> ConnectionResponse:
    read = connection_read(connection)
    streams = [
        StreamConfiguration(
            name=item.stream.name,
            namespace=item.stream.namespace,
            sync_mode=_mode_name(item),
            cursor_field=item.config.cursor_field,
            primary_key=item.config.primary_key,
        )
        for item in read.sync_catalog.streams
        if item.config.selected is not False
    ]
    schedule_type = text_of(read.schedule_type)
    if schedule_type == "cron" and read.schedule_data and read.schedule_data.cron:
        schedule = ConnectionScheduleResponse(
            schedule_type=ScheduleTypeWithBasic.cron, cron_expression=read.schedule_data.cron.cron_expression
        )
    elif schedule_type == "basic" and read.schedule:
        timing = f"Every {read.schedule.units} {text_of(read.schedule.time_unit)}"
        schedule = ConnectionScheduleResponse(schedule_type=ScheduleTypeWithBasic.basic, basic_timing=timing)
    else:
        schedule = ConnectionScheduleResponse(schedule_type=ScheduleTypeWithBasic.manual)
    return ConnectionResponse(
        connection_id=read.connection_id,
        name=read.name,
        source_id=read.source_id,
        destination_id=read.destination_id,
        workspace_id=workspace_id,
        status=ConnectionStatus(text_of(read.status)),
        schedule=schedule,
        configurations=StreamConfigurations(streams=streams),
        created_at=connection.created_at,
        tags=[],
        namespace_definition=_PUBLIC_NAMESPACES.get(text_of(read.namespace_definition)),
        namespace_format=read.namespace_format,
        prefix=read.prefix,
    )


def get_connection(connection_id: uuid.UUID) -> ConnectionResponse:
    connection = connections.get_connection_model(connection_id)
    return _response(connection, connection.source.workspace_id)


def list_connections(query: ConnectionListQuery) -> ConnectionsResponse:
    # the workspace rides along as an attribute of each connection (objects()), leaving source_id whole
    select = Connection.select(Connection, Actor.workspace.alias("in_workspace")).join(Actor, on=Connection.source).objects()
    if not query.include_deleted:
        select = select.where(Connection.status != "deprecated")
    if query.workspace_ids:
        select = select.where(Actor.workspace.in_(query.workspace_ids))
    page, after, before = page_of(select, query, Connection.created_at, Connection.name, Connection.id)
    return ConnectionsResponse(data=[_response(c, cast(Any, c).in_workspace) for c in page], next=after, previous=before)


def create_connection(request: ConnectionCreateRequest) -> ConnectionResponse:
    source = actors.get_actor(SOURCE, request.source_id)
    actors.get_actor(DESTINATION, request.destination_id)
    status = _status(request.status) or base.ConnectionStatus.active
    catalog = actors.source_catalog(source)
    if request.configurations is not None and request.configurations.streams is not None:
        catalog = _configured(catalog, request.configurations.streams)
    schedule_type, schedule_data = _schedule(request.schedule)
    created = connections.create_connection(
        ConnectionCreate(
            name=request.name,
            source_id=request.source_id,
            destination_id=request.destination_id,
            sync_catalog=catalog,
            schedule_type=schedule_type,
            schedule_data=schedule_data,
            status=status,
            prefix=request.prefix,
            namespace_definition=_NAMESPACES[request.namespace_definition] if request.namespace_definition else None,
            namespace_format=request.namespace_format,
        )
    )
    return get_connection(created.connection_id)


def patch_connection(connection_id: uuid.UUID, request: ConnectionPatchRequest) -> ConnectionResponse:
    connection = connections.get_connection_model(connection_id)
    changes: dict[str, Any] = {}
    if request.name is not None:
        changes["name"] = request.name
    if request.prefix is not None:
        changes["prefix"] = request.prefix
    if request.namespace_definition is not None:
        changes["namespace_definition"] = _NAMESPACES[request.namespace_definition]
    if request.namespace_format is not None:
        changes["namespace_format"] = request.namespace_format
    if request.schedule is not None:
        changes["schedule_type"], changes["schedule_data"] = _schedule(request.schedule)
        changes["schedule"] = None
    if request.configurations is not None and request.configurations.streams is not None:
        changes["sync_catalog"] = _configured(actors.source_catalog(connection.source), request.configurations.streams)
    status = _status(request.status) or base.ConnectionStatus(connection.status)
    connections.update_connection(ConnectionUpdate(connection_id=connection_id, status=status, **changes))
    return get_connection(connection_id)


def delete_connection(connection_id: uuid.UUID) -> None:
    connections.delete_connection(ConnectionIdRequestBody(connection_id=connection_id))


def _status(status: ConnectionStatus | None) -> base.ConnectionStatus | None:
    if status is ConnectionStatus.locked:
        raise InvalidInput.field("$.status", "airpipe does not lock connections: use inactive", "locked")
    return base.ConnectionStatus(status.value) if status is not None else None


def _schedule(schedule: ConnectionSchedule | None) -> tuple[base.ScheduleType | None, ScheduleData | None]:
    if schedule is None or schedule.schedule_type is ScheduleType.manual:
        return base.ScheduleType.manual, None
    if not schedule.cron_expression:
        raise InvalidInput.field("$.schedule.cronExpression", "is required when scheduleType is cron")
    return base.ScheduleType.cron, ScheduleData(cron=CronSchedule(cron_expression=schedule.cron_expression))


def _configured(discovered: AirbyteCatalog, wanted: list[StreamConfiguration]) -> AirbyteCatalog:
    """The source's catalog with the named streams selected, as configured, and the rest not."""
    index = {(item.stream.name, item.stream.namespace): item for item in discovered.streams}
    by_name = {item.stream.name: item for item in discovered.streams}
    chosen: dict[int, AirbyteStreamAndConfiguration] = {}
    errors = []
    for i, stream in enumerate(wanted):
        item = index.get((stream.name, stream.namespace)) or (by_name.get(stream.name) if stream.namespace is None else None)
        if item is None:
            errors.append(FieldError(f"$.configurations.streams[{i}].name", "the source has no such stream", stream.name))
            continue
        config = item.config
        if stream.sync_mode is not None:
            source_mode, destination_mode = MODES[stream.sync_mode]
            if item.stream.supported_sync_modes and source_mode not in item.stream.supported_sync_modes:
                message = f"stream {stream.name} does not support {source_mode.value}"
                errors.append(FieldError(f"$.configurations.streams[{i}].syncMode", message, stream.sync_mode.value))
                continue
            config = msgspec.structs.replace(config, sync_mode=source_mode, destination_sync_mode=destination_mode)
        if stream.cursor_field is not None:
            config = msgspec.structs.replace(config, cursor_field=stream.cursor_field)
        if stream.primary_key is not None:
            config = msgspec.structs.replace(config, primary_key=stream.primary_key)
        chosen[id(item)] = AirbyteStreamAndConfiguration(stream=item.stream, config=msgspec.structs.replace(config, selected=True))
    if errors:
        raise InvalidInput("; ".join(f"{e.path}: {e.message}" for e in errors), errors)
    streams = [
        chosen.get(id(item))
        or AirbyteStreamAndConfiguration(stream=item.stream, config=msgspec.structs.replace(item.config, selected=False))
        for item in discovered.streams
    ]
    return AirbyteCatalog(streams=streams)


# STREAMS


def stream_properties(query: StreamPropertiesQuery) -> list[StreamProperties]:
    """The source's streams (discovered afresh with ``ignoreCache``) and the sync modes each can
    take into the destination (every mode the destination supports, when one is named)."""
    source = actors.get_actor(SOURCE, query.source_id)
    if query.ignore_cache:
        catalog = actors.discover_source_schema(SourceIdRequestBody(source_id=source.id)).catalog
        assert catalog is not None  # a discover always answers with one
    else:
        catalog = actors.source_catalog(source)
    destination_modes = list(base.DestinationSyncMode)
    if query.destination_id is not None:
        destination = actors.get_actor(DESTINATION, query.destination_id)
        supported = definitions.specification(destination.definition).get("supported_destination_sync_modes")
        if supported:
            destination_modes = [base.DestinationSyncMode(mode) for mode in supported]
    found = []
    for item in catalog.streams:
        stream = item.stream
        source_modes = stream.supported_sync_modes or [base.SyncMode.full_refresh]
        modes = [name for name, (s, d) in MODES.items() if s in source_modes and d in destination_modes]
        found.append(
            StreamProperties(
                stream_name=stream.name,
                streamnamespace=stream.namespace,
                sync_modes=modes,
                default_cursor_field=stream.default_cursor_field,
                source_defined_cursor_field=stream.source_defined_cursor,
                source_defined_primary_key=stream.source_defined_primary_key,
                property_fields=[[name] for name in ((stream.json_schema or {}).get("properties") or {})],
            )
        )
    return found
