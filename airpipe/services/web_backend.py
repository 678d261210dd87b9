"""The web app's composite views: a connection with its source, destination and sync status."""

from __future__ import annotations

from collections.abc import Iterable

import msgspec
import peewee

from airpipe.models import (
    ACTIVE,
    DESTINATION,
    RESET,
    SOURCE,
    SYNC,
    Actor,
    ActorDefinition,
    Connection,
    Job,
    by_id,
    last_successful_sync,
    newest_sync_job,
    now,
)
from airpipe.schemas.base import JobStatus
from airpipe.schemas.connections import WbConnectionRead, WbConnectionReadList, WbConnectionRequestBody
from airpipe.schemas.lists import WorkspaceListRequestBody
from airpipe.services import catalogs, definitions, schedules, schema_refresh
from airpipe.services.connections import get_connection_model, workspace_connections
from airpipe.services.converters import connection_read, destination_read, source_read, stored_as


def get_connection(request: WbConnectionRequestBody) -> WbConnectionRead:
    connection = get_connection_model(request.connection_id)
    view = _one_view(connection)
    if not request.with_refreshed_catalog:
        return view
    merged, diff = schema_refresh.refreshed_catalog(connection.source_id, view.sync_catalog)
    return msgspec.structs.replace(view, sync_catalog=merged, sync_schema=catalogs.to_source_schema(merged), catalog_diff=diff)


def list_connections(request: WorkspaceListRequestBody) -> WbConnectionReadList:
    return WbConnectionReadList(connections=_wb_reads(workspace_connections(request)))


def _one_view(connection: Connection) -> WbConnectionRead:
    """One connection's view, from lookups by key and prepared queries: the batch queries of
    ``_wb_reads``, built anew by peewee for each call, cost a get 1.7 ms."""
    actors = _ActorReads(actor for actor in (by_id(Actor, connection.source_id), by_id(Actor, connection.destination_id)) if actor)
    scope = str(connection.id)
    latest = newest_sync_job(scope)
    return _view(connection, actors, {scope: last_successful_sync(scope)}, {scope: latest} if latest else {}, now())


def _wb_reads(connections: list[Connection]) -> list[WbConnectionRead]:
    """The views of ``connections`` in four queries, however many there are: their sources and
    destinations with definitions, their last successful syncs, their newest sync jobs."""
    if not connections:
        return []
    actor_ids = {c.source_id for c in connections} | {c.destination_id for c in connections}
    actors = _ActorReads(Actor.select(Actor, ActorDefinition).join(ActorDefinition).where(Actor.id.in_(actor_ids)))
    scopes = [str(c.id) for c in connections]
    syncs = Job.select(Job.scope, peewee.fn.MAX(Job.updated_at).alias("last")).where(
        Job.scope.in_(scopes), Job.config_type.in_((SYNC, RESET)), Job.status == "succeeded"
    )
    rows = syncs.group_by(Job.scope).dicts()
    last_sync = {row["scope"]: row["last"] for row in rows}  # type: ignore[index]  # .dicts() gives dicts; the stubs say models
    latest = _latest_sync_jobs(scopes)
    timestamp = now()
    return [_view(connection, actors, last_sync, latest, timestamp) for connection in connections]


class _ActorReads:
    """The reads of some sources and destinations, each built once however many connections of
    a page share it (a source often feeds many): building one masks its config's secrets."""

    def __init__(self, actors: Iterable[Actor]) -> None:
        actors = list(actors)
        specs = definitions.specifications(actors)
        self.sources = {a.id: source_read(a, specs[a.definition_id]) for a in actors if a.actor_type == SOURCE}
        self.destinations = {a.id: destination_read(a, specs[a.definition_id]) for a in actors if a.actor_type == DESTINATION}


def _view(
    connection: Connection, actors: _ActorReads, last_sync: dict[str, int | None], latest: dict[str, Job], timestamp: int
) -> WbConnectionRead:
    """A connection's view, from the reads of its source and destination, its last successful
    sync and its newest sync job (by connection id)."""
    job = latest.get(str(connection.id))
    return WbConnectionRead(
        **msgspec.structs.asdict(connection_read(connection)),
        source=actors.sources[connection.source_id],
        destination=actors.destinations[connection.destination_id],
        last_sync=last_sync.get(str(connection.id)),
        is_syncing=job is not None and job.status in ACTIVE,
        latest_sync_job_status=stored_as(JobStatus, job.status) if job else None,
        latest_sync_job_created_at=job.created_at if job else None,
        latest_sync_job_duration=((timestamp if job.status in ACTIVE else job.updated_at) - job.created_at) if job else None,
        next_scheduled_at=_next_run(connection),
    )


def _latest_sync_jobs(scopes: list[str]) -> dict[str, Job]:
    """The newest sync or reset job of each connection (``scopes``), in one query."""
    newest = (
        Job.select(peewee.fn.MAX(Job.id))
        .where(Job.scope.in_(scopes), Job.config_type.in_((SYNC, RESET)))
        .group_by(Job.scope)
    )
    shown = (Job.id, Job.scope, Job.status, Job.created_at, Job.updated_at)  # not the config: it would be decrypted
    return {job.scope: job for job in Job.select(*shown).where(Job.id.in_(newest))}


def _next_run(connection: Connection) -> int | None:
    """When the schedule starts the connection's next sync; None if it is not active or manual."""
    if connection.status != "active":
        return None
    last = connection.last_scheduled_at
    return schedules.next_fire_time(connection, connection.created_at if last is None else last)
