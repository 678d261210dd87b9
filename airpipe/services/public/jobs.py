"""The public API's jobs: syncs and resets of connections (its JobResponse has no other kind)."""

from __future__ import annotations

import datetime
import uuid

import peewee

from airpipe.errors import InvalidInput, NotFound
from airpipe.models import RESET, SYNC, Actor, Connection, Job, now
from airpipe.schemas.connections import ConnectionIdRequestBody
from airpipe.schemas.jobs import JobIdRequestBody, JobRead, JobWithAttemptsRead
from airpipe.schemas.public import JobCreateRequest, JobListQuery, JobResponse, JobsResponse, JobStatus, JobType
from airpipe.services import connections, jobs
from airpipe.services.public.pages import page_of, text_of

_JOB_TYPES = {SYNC: JobType.sync, RESET: JobType.reset}
_CONFIG_TYPES = {JobType.sync: [SYNC], JobType.reset: [RESET], JobType.clear: [RESET], JobType.refresh: []}


def create_job(request: JobCreateRequest) -> JobResponse:
    if request.job_type is JobType.refresh:
        raise InvalidInput.field("$.jobType", "refresh is not supported by airpipe: start a reset, then a sync", "refresh")
    body = ConnectionIdRequestBody(connection_id=request.connection_id)
    started = (
        connections.reset_connection(body) if request.job_type in (JobType.reset, JobType.clear) else connections.sync_connection(body)
    )
    return get_job(started.job.id)


def get_job(job_id: int) -> JobResponse:
    found = jobs.job_with_attempts(job_id)
    if found is None or found.job is None or text_of(found.job.config_type) not in _JOB_TYPES:
        raise NotFound("job", job_id)
    return job_response(found)


def cancel_job(job_id: int) -> JobResponse:
    get_job(job_id)  # a sync or a reset: the public API knows no other job
    jobs.cancel_job(JobIdRequestBody(id=job_id))
    return get_job(job_id)


def list_jobs(query: JobListQuery) -> JobsResponse:
    """Newest first unless ``orderBy`` says otherwise; filtered as asked."""
    types = _CONFIG_TYPES[query.job_type] if query.job_type is not None else list(_JOB_TYPES)
    select = Job.select(Job.id).where(Job.config_type.in_(types))
    if query.connection_id is not None:
        connections.get_connection_model(query.connection_id)  # 404 for an unknown connection
        select = select.where(Job.scope == str(query.connection_id))
    elif query.workspace_ids:
        in_workspaces = Connection.select(Connection.id).join(Actor, on=Connection.source).where(Actor.workspace.in_(query.workspace_ids))
        select = select.where(Job.scope.in_([str(c.id) for c in in_workspaces]))
    if query.status is not None:
        select = select.where(Job.status == ("pending" if query.status is JobStatus.queued else query.status.value))
    for column_field, start, end in (
        (Job.created_at, query.created_at_start, query.created_at_end),
        (Job.updated_at, query.updated_at_start, query.updated_at_end),
    ):
        if start is not None:
            select = select.where(column_field >= _epoch(start))
        if end is not None:
            select = select.where(column_field <= _epoch(end))
    column, direction = query.order_by.split("|")
    field: peewee.Field = Job.updated_at if column == "updatedAt" else Job.id  # ids grow with creation time
    order = (field.desc(), Job.id.desc()) if direction == "DESC" else (field.asc(), Job.id.asc())
    page, after, before = page_of(select, query, *order)
    rows = [row.id for row in page]
    by_id = {item.job.id: item for item in jobs.jobs_with_attempts(rows) if item.job is not None}
    return JobsResponse(data=[job_response(by_id[i]) for i in rows if i in by_id], next=after, previous=before)


def _epoch(moment: datetime.datetime) -> int:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp())


def job_response(item: JobWithAttemptsRead) -> JobResponse:
    job: JobRead | None = item.job
    assert job is not None
    attempts = item.attempts or []
    status = text_of(job.status)
    final = status in ("succeeded", "failed", "cancelled")
    return JobResponse(
        job_id=job.id,
        status=JobStatus(status),
        job_type=_JOB_TYPES[text_of(job.config_type)],
        connection_id=uuid.UUID(job.config_id),
        start_time=iso_time(job.created_at),
        last_updated_at=iso_time(job.updated_at),
        duration=iso_duration((job.updated_at if final else now()) - job.created_at),
        bytes_synced=sum(a.bytes_synced or 0 for a in attempts),
        rows_synced=sum(a.records_synced or 0 for a in attempts),
    )


def iso_time(epoch: int) -> str:
    return datetime.datetime.fromtimestamp(epoch, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def iso_duration(seconds: int) -> str:
    """ISO 8601: PT1H2M5S, PT0S."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    text = (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes else "") + (f"{secs}S" if secs or not (hours or minutes) else "")
    return "PT" + text
