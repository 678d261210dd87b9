"""Storage to API shape: one function per read Struct, used by every service that returns it."""

from __future__ import annotations

import enum
import functools
from typing import Any, TypeVar, cast

import msgspec

from airpipe.models import Actor, ActorDefinition, Attempt, Connection, Job, LogLine, Workspace, attempts_of_job, log_lines_of_job
from airpipe.schemas.actors import DestinationRead, SourceRead
from airpipe.schemas.base import (
    AttemptStatus,
    ConnectionStatus,
    JobConfigType,
    JobStatus,
    NamespaceDefinitionType,
    ScheduleType,
    SyncMode,
    TimeUnit,
)
from airpipe.schemas.catalog import AirbyteCatalog, SourceSchema
from airpipe.schemas.connections import ConnectionRead, ConnectionSchedule, CronSchedule, ScheduleData
from airpipe.schemas.definitions import DestinationDefinitionRead, SourceDefinitionRead
from airpipe.schemas.jobs import (
    AttemptFailureSummary,
    AttemptInfoRead,
    AttemptRead,
    AttemptStats,
    AttemptStreamStats,
    JobInfoRead,
    JobRead,
    LogRead,
)
from airpipe.schemas.workspaces import WorkspaceRead
from airpipe.services import catalogs
from airpipe.services.secrets import mask


def workspace_read(workspace: Workspace) -> WorkspaceRead:
    return WorkspaceRead(
        workspace_id=workspace.id,
        customer_id=workspace.customer_id,
        name=workspace.name,
        slug=workspace.slug,
        initial_setup_complete=workspace.initial_setup_complete,
        onboarding_complete=workspace.onboarding_complete,
        email=workspace.email,
        anonymous_data_collection=workspace.anonymous_data_collection,
        news=workspace.news,
        security_updates=workspace.security_updates,
        created_at=workspace.created_at,
        updated_at=workspace.updated_at,
        created_by=workspace.created_by,
        updated_by=workspace.updated_by,
        tags=workspace.tags,
    )


def source_definition_read(definition: ActorDefinition) -> SourceDefinitionRead:
    return SourceDefinitionRead(
        source_definition_id=definition.id,
        name=definition.name,
        docker_repository=definition.docker_repository,
        docker_image_tag=definition.docker_image_tag,
        documentation_url=definition.documentation_url,
    )


def destination_definition_read(definition: ActorDefinition) -> DestinationDefinitionRead:
    return DestinationDefinitionRead(
        destination_definition_id=definition.id,
        name=definition.name,
        docker_repository=definition.docker_repository,
        docker_image_tag=definition.docker_image_tag,
        documentation_url=definition.documentation_url,
    )


def source_read(source: Actor, spec: dict[str, Any]) -> SourceRead:
    return SourceRead(
        source_definition_id=source.definition_id,
        source_id=source.id,
        workspace_id=source.workspace_id,
        connection_configuration=mask(source.configuration, spec),
        name=source.name,
        source_name=source.definition.name,
        created_at=source.created_at,
        updated_at=source.updated_at,
        created_by=source.created_by,
        updated_by=source.updated_by,
        tags=source.tags,
    )


def destination_read(destination: Actor, spec: dict[str, Any]) -> DestinationRead:
    return DestinationRead(
        destination_definition_id=destination.definition_id,
        destination_id=destination.id,
        workspace_id=destination.workspace_id,
        connection_configuration=mask(destination.configuration, spec),
        name=destination.name,
        destination_name=destination.definition.name,
        created_at=destination.created_at,
        updated_at=destination.updated_at,
        created_by=destination.created_by,
        updated_by=destination.updated_by,
        tags=destination.tags,
    )


def connection_read(connection: Connection) -> ConnectionRead:
    catalog, sync_mode, sync_schema = _catalog_views(_catalog_json(connection))
    return ConnectionRead(
        connection_id=connection.id,
        name=connection.name,
        source_id=connection.source_id,
        destination_id=connection.destination_id,
        sync_mode=sync_mode,
        sync_schema=sync_schema,
        sync_catalog=catalog,
        schedule=_schedule(connection),
        schedule_type=stored_as(ScheduleType, connection.schedule_type),
        schedule_data=_schedule_data(connection),
        status=stored_as(ConnectionStatus, connection.status),
        prefix=connection.prefix,
        namespace_definition=stored_as(NamespaceDefinitionType, connection.namespace_definition),
        namespace_format=connection.namespace_format,
        created_at=connection.created_at,
        updated_at=connection.updated_at,
        created_by=connection.created_by,
        updated_by=connection.updated_by,
        tags=connection.tags,
    )


_encode = msgspec.json.Encoder().encode
E = TypeVar("E", bound=enum.Enum)


def stored_as(kind: type[E], value: str | None) -> E:
    """A column that holds ``kind``'s values, typed as ``kind``. Not converted: msgspec writes the
    text as it would the member, and a read must not fail on a value a later version stored."""
    return cast(E, value)



def _catalog_json(connection: Connection) -> bytes:
    """The connection's stored catalog as JSON: the text a list read selected (``catalog_json``,
    see services.connections.LISTED), else the decoded column encoded again (the same bytes)."""
    text: str | None = getattr(connection, "catalog_json", None)
    return text.encode() if text is not None else _encode(connection.catalog)


#: the largest catalog (as JSON) whose views are remembered: a source of thousands of tables
#: has a catalog of megabytes, and a thousand of those would hold gigabytes
REMEMBERED_CATALOG_BYTES = 64 * 1024


def _catalog_views(stored: bytes) -> tuple[AirbyteCatalog, SyncMode, SourceSchema]:
    """A stored catalog (as JSON) as a connection's read shows it: its Structs, the connection's
    sync mode and the seed's schema view. Remembered by content, so never stale: building them
    took a third of a ``connections/get``, and most reads are of catalogs read before. The
    Structs are shared between reads, so nothing may change them."""
    return _remembered_views(stored) if len(stored) <= REMEMBERED_CATALOG_BYTES else _views(stored)


@functools.lru_cache(maxsize=1024)
def _remembered_views(stored: bytes) -> tuple[AirbyteCatalog, SyncMode, SourceSchema]:
    return _views(stored)


def _views(stored: bytes) -> tuple[AirbyteCatalog, SyncMode, SourceSchema]:
    catalog = msgspec.json.decode(stored, type=AirbyteCatalog)
    return catalog, catalogs.connection_sync_mode(catalog), catalogs.to_source_schema(catalog)


def _schedule(connection: Connection) -> ConnectionSchedule | None:
    if connection.schedule_units is None:
        return None
    return ConnectionSchedule(units=connection.schedule_units, time_unit=stored_as(TimeUnit, connection.schedule_time_unit))


def _schedule_data(connection: Connection) -> ScheduleData | None:
    if connection.schedule_type == "cron":
        return ScheduleData(cron=CronSchedule(connection.cron_expression or "", connection.cron_time_zone or "UTC"))
    if connection.schedule_type == "basic":
        return ScheduleData(basic_schedule=_schedule(connection))
    return None


def job_read(job: Job) -> JobRead:
    return JobRead(
        id=job.id,
        config_type=stored_as(JobConfigType, job.config_type),
        config_id=job.scope,
        created_at=job.created_at,
        updated_at=job.updated_at,
        status=stored_as(JobStatus, job.status),
        created_by=job.created_by,
    )


def attempt_read(attempt: Attempt) -> AttemptRead:
    stats = attempt.stats or {}
    return AttemptRead(
        id=attempt.id,
        status=stored_as(AttemptStatus, attempt.status),
        created_at=attempt.created_at,
        updated_at=attempt.updated_at,
        ended_at=attempt.ended_at,
        bytes_synced=attempt.bytes_synced,
        records_synced=attempt.records_synced,
        total_stats=msgspec.convert(stats["totalStats"], AttemptStats) if "totalStats" in stats else None,
        stream_stats=msgspec.convert(stats["streamStats"], list[AttemptStreamStats]) if "streamStats" in stats else None,
        failure_summary=(msgspec.convert(attempt.failure_summary, AttemptFailureSummary) if attempt.failure_summary else None),
    )


def job_info_read(job: Job, attempts: list[Attempt] | None = None, lines: list[LogLine] | None = None) -> JobInfoRead:
    """The job with its attempts and their log lines (read here unless given)."""
    if attempts is None:
        attempts = attempts_of_job(job.id)
    lines_by_attempt: dict[int, list[str]] = {a.id: [] for a in attempts}
    if attempts:
        for line in log_lines_of_job(job.id) if lines is None else lines:
            # an attempt that began after its siblings were read: shown from the next read on
            if line.attempt_id in lines_by_attempt:
                lines_by_attempt[line.attempt_id].append(line.render())
    return JobInfoRead(
        job=job_read(job),
        attempts=[AttemptInfoRead(attempt=attempt_read(a), logs=LogRead(log_lines=lines_by_attempt[a.id])) for a in attempts],
    )
