"""A connection's streams one at a time, over its stored catalog (the one source of truth): list
them with how their last sync went, patch some, list cursor candidates, and sync, resync or reset
a subset as ordinary sync and reset jobs whose other streams' data and state are left alone."""

from __future__ import annotations

from typing import Any

import msgspec

from airpipe.errors import Conflict, FieldError, InvalidInput
from airpipe.models import RESET, SYNC, Attempt, Connection, ConnectionState, Job, StreamSchedule, by_id
from airpipe.schemas.base import ConnectionStatus, JobStatus
from airpipe.schemas.catalog import AirbyteCatalog, AirbyteStreamAndConfiguration
from airpipe.schemas.connections import ConnectionIdRequestBody, ConnectionUpdate
from airpipe.schemas.jobs import JobInfoRead
from airpipe.schemas.streams import (
    IncrementalField,
    IncrementalFieldsRead,
    IncrementalFieldsRequestBody,
    StreamRead,
    StreamReadList,
    StreamsRequestBody,
    StreamsUpdate,
)
from airpipe.services import catalogs, connections, scheduler, stream_schedules
from airpipe.services.converters import job_info_read, stored_as
from airpipe.worker import checkpoints

Key = tuple[str, str | None]

#: how far back streams/list looks for each stream's last job: a stream that no job of these
#: covered shows no last job
RECENT_JOBS = 50


def _catalog(connection: Connection) -> AirbyteCatalog:
    return msgspec.convert(connection.catalog, AirbyteCatalog)


def _key(item: AirbyteStreamAndConfiguration) -> Key:
    return item.stream.name, item.stream.namespace


# READS


def list_streams(request: ConnectionIdRequestBody) -> StreamReadList:
    """Every stream of the connection's catalog, selected or not, in five queries."""
    connection = connections.get_connection_model(request.connection_id)
    catalog = _catalog(connection)
    with_state = checkpoints.streams_with_state(by_id(ConnectionState, connection.id))
    last = _last_jobs(connection)
    rows = StreamSchedule.select().where(StreamSchedule.connection == connection.id)
    runs = {(r.stream_name, r.stream_namespace or None): r.last_scheduled_at for r in rows}
    reads = []
    for item in catalog.streams:
        key, config = _key(item), item.config
        job_id, status, records = last["any"].get(item.stream.name, (None, None, None))
        synced = last["synced"].get(item.stream.name)
        reads.append(
            StreamRead(
                stream_name=item.stream.name,
                stream_namespace=item.stream.namespace,
                selected=config.selected is not False,
                sync_mode=config.sync_mode,
                destination_sync_mode=config.destination_sync_mode,
                cursor_field=config.cursor_field,
                primary_key=config.primary_key,
                last_synced_at=synced,
                last_job_id=job_id,
                last_job_status=stored_as(JobStatus, status) if status else None,
                records_last_sync=records,
                has_state=with_state is None or key in with_state,
                sync_frequency=config.sync_frequency,
                sync_time_of_day=config.sync_time_of_day,
                next_sync_at=_next_sync(connection, config, runs.get(key)),
            )
        )
    return StreamReadList(streams=reads)


def _next_sync(connection: Connection, config: Any, last_run: int | None) -> int | None:
    """When the stream's own schedule starts it next (None: it has none, or is not running)."""
    if config.sync_frequency is None or config.selected is False or connection.status != "active":
        return None
    return stream_schedules.next_stream_time(config, connection.created_at if last_run is None else last_run)


def _last_jobs(connection: Connection) -> dict[str, dict[str, Any]]:
    """Per stream name: the newest recent sync/reset job that covered it (id, status, records),
    and when the newest succeeded sync that covered it ended. A job covers the streams its
    attempts counted (every stream it was given, records or none)."""
    jobs = list(
        Job.select(Job.id, Job.status, Job.config_type, Job.updated_at)
        .where(Job.scope == str(connection.id), Job.config_type.in_((SYNC, RESET)))
        .order_by(Job.id.desc())
        .limit(RECENT_JOBS)
    )
    counted: dict[int, dict[str, int]] = {job.id: {} for job in jobs}
    if jobs:
        for attempt in Attempt.select(Attempt.job, Attempt.stats).where(Attempt.job.in_(list(counted))):
            for entry in (attempt.stats or {}).get("streamStats") or []:
                records = (entry.get("stats") or {}).get("recordsEmitted") or 0
                per_job = counted[attempt.job_id]
                per_job[entry["streamName"]] = per_job.get(entry["streamName"], 0) + records
    latest: dict[str, tuple[int, str, int]] = {}
    synced: dict[str, int] = {}
    for job in jobs:  # newest first: the first job seen for a stream is its last
        for name, records in counted[job.id].items():
            latest.setdefault(name, (job.id, job.status, records))
            if job.config_type == SYNC and job.status == "succeeded":
                synced.setdefault(name, job.updated_at)
    return {"any": latest, "synced": synced}


def incremental_fields(request: IncrementalFieldsRequestBody) -> IncrementalFieldsRead:
    """The stream's top-level fields a cursor can be: integers, numbers and date or date-time
    strings, from the stored schema (no job runs)."""
    catalog = _catalog(connections.get_connection_model(request.connection_id))
    item = _find(catalog, request.stream_name, request.stream_namespace, "$.streamName")
    stream = item.stream
    fields = []
    for name, schema in ((stream.json_schema or {}).get("properties") or {}).items():
        kind = _type_of(schema)
        form = schema.get("format") if isinstance(schema, dict) else None
        if kind in ("integer", "number") or (kind == "string" and form in ("date-time", "date")):
            own = bool(stream.source_defined_cursor) and (stream.default_cursor_field or []) == [name]
            fields.append(IncrementalField(field=[name], type=kind, format=form, source_defined=own))
    return IncrementalFieldsRead(stream_name=stream.name, stream_namespace=stream.namespace, fields=fields)


def _type_of(schema: Any) -> str | None:
    types = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(types, list):
        types = next((t for t in types if t != "null"), None)
    return types if isinstance(types, str) else None


def _find(catalog: AirbyteCatalog, name: str, namespace: str | None, path: str) -> AirbyteStreamAndConfiguration:
    for item in catalog.streams:
        if item.stream.name == name and item.stream.namespace == namespace:
            return item
    raise InvalidInput.field(path, "the connection has no such stream", name)


# CHANGES


def update_streams(request: StreamsUpdate) -> StreamReadList:
    """Patch one or many streams at once, each checked against its discovered schema; an error
    names the entry (``$.streams[1].cursorField``) and nothing is saved."""
    connection = connections.get_connection_model(request.connection_id)
    catalog = _catalog(connection)
    index = {_key(item): i for i, item in enumerate(catalog.streams)}
    streams = list(catalog.streams)
    errors: list[FieldError] = []
    for i, patch in enumerate(request.streams):
        at = index.get((patch.stream_name, patch.stream_namespace))
        if at is None:
            errors.append(FieldError(f"$.streams[{i}].streamName", "the connection has no such stream", patch.stream_name))
            continue
        changes = {f: getattr(patch, f) for f in ("selected", "sync_mode", "destination_sync_mode", "cursor_field", "primary_key")}
        changes = {f: v for f, v in changes.items() if v is not None}
        changes |= {f: getattr(patch, f) for f in ("sync_frequency", "sync_time_of_day") if getattr(patch, f) is not msgspec.UNSET}
        config = msgspec.structs.replace(streams[at].config, **changes)
        patched = AirbyteStreamAndConfiguration(stream=streams[at].stream, config=config)
        errors += _problems(patched, i)
        streams[at] = patched
    if errors:
        raise InvalidInput("; ".join(f"{e.path}: {e.message}" for e in errors), errors)
    update = ConnectionUpdate(
        connection_id=connection.id, status=ConnectionStatus(connection.status), sync_catalog=AirbyteCatalog(streams=streams)
    )
    connections.update_connection(update)
    return list_streams(ConnectionIdRequestBody(connection_id=connection.id))


def _problems(item: AirbyteStreamAndConfiguration, i: int) -> list[FieldError]:
    """What is wrong with one patched stream: the catalog's own rules, and a cursor or key that
    names a field its schema does not have."""
    try:
        catalogs.validate_against(AirbyteCatalog(streams=[item]), "streams", path_of=lambda _: f"$.streams[{i}]")
        found: list[FieldError] = []
    except InvalidInput as exc:
        found = list(exc.errors)
    if item.config.sync_time_of_day is not None and item.config.sync_frequency is None:
        found.append(FieldError(f"$.streams[{i}].syncTimeOfDay", "needs a syncFrequency", item.config.sync_time_of_day))
    fields = set((item.stream.json_schema or {}).get("properties") or {})
    if fields and item.config.selected is not False:
        cursor = item.config.cursor_field or []
        if cursor and cursor[0] not in fields:
            found.append(FieldError(f"$.streams[{i}].cursorField", f"stream {item.stream.name} has no field {cursor[0]!r}", cursor))
        for key in item.config.primary_key or []:
            if key and key[0] not in fields:
                found.append(FieldError(f"$.streams[{i}].primaryKey", f"stream {item.stream.name} has no field {key[0]!r}", key))
    return found


# JOBS OVER A SUBSET


def sync_streams(request: StreamsRequestBody) -> JobInfoRead:
    """A sync of just these streams; the others are not read and keep their state."""
    connection, keys = _subset(request)
    return job_info_read(scheduler.start_sync(connection, SYNC, only=keys))


def resync_streams(request: StreamsRequestBody) -> JobInfoRead:
    """These streams read again from the start (their state unused) and overwritten in the destination."""
    connection, keys = _subset(request, splits_state=True)
    return job_info_read(scheduler.start_sync(connection, SYNC, only=keys, fresh=True))


def reset_streams(request: StreamsRequestBody) -> JobInfoRead:
    """These streams emptied in the destination and their state forgotten; the others untouched."""
    connection, keys = _subset(request, splits_state=True)
    return job_info_read(scheduler.start_sync(connection, RESET, only=keys))


def _subset(request: StreamsRequestBody, *, splits_state: bool = False) -> tuple[Connection, set[Key]]:
    connection = connections.live_connection(request.connection_id)
    catalog = _catalog(connection)
    keys: set[Key] = set()
    errors = []
    for i, wanted in enumerate(request.streams):
        try:
            item = _find(catalog, wanted.name, wanted.namespace, f"$.streams[{i}].name")
        except InvalidInput as exc:
            errors += exc.errors
            continue
        if item.config.selected is False:
            errors.append(
                FieldError(f"$.streams[{i}].name", "the stream is not selected: select it with connections/streams/update", wanted.name)
            )
        keys.add(_key(item))
    if errors:
        raise InvalidInput("; ".join(f"{e.path}: {e.message}" for e in errors), errors)
    if splits_state:
        stored = by_id(ConnectionState, connection.id)
        if stored is not None and stored.state_type != "stream":
            raise Conflict(
                f"connection {connection.id} keeps one {stored.state_type} state for all its streams, which cannot be split: "
                "reset the whole connection instead (connections/reset)"
            )
    return connection, keys
