from __future__ import annotations

import peewee

from airpipe.errors import NotFound
from airpipe.models import (
    JOB_SHOWN_FIELDS,
    SHORT_LOG_LINES,
    Actor,
    Attempt,
    Connection,
    Job,
    JobEvent,
    LogLine,
    attempts_of_job,
    by_id,
    job_shown,
    log_head_of_job,
    now,
    record_event,
    transaction,
)
from airpipe.schemas.jobs import (
    JobEventRead,
    JobHistoryRead,
    JobIdRequestBody,
    JobInfoRead,
    JobListRequestBody,
    JobLogsRead,
    JobLogsRequestBody,
    JobReadList,
    JobWithAttemptsRead,
    LogLineRead,
    WorkspaceJobListRequestBody,
)
from airpipe.schemas.lists import Pagination
from airpipe.services.converters import attempt_read, job_info_read, job_read
from airpipe.services.workspaces import get_workspace_model

DEFAULT_PAGE_SIZE = 200


def get_job_model(job_id: int) -> Job:
    job = by_id(Job, job_id)
    if job is None:
        raise NotFound("job", job_id)
    return job


#: a short log's most characters (see get_job_if_short)
SHORT_LOG_CHARS = 64 * 1024


def get_job(request: JobIdRequestBody) -> JobInfoRead:
    return job_info_read(_shown_job(request.id))


def get_job_if_short(request: JobIdRequestBody) -> JobInfoRead | None:
    """``get_job``, or None when the job's log is long (over SHORT_LOG_LINES lines or
    SHORT_LOG_CHARS characters): the API answers a short one on its event loop, and has a worker
    thread call ``get_job`` for a long one, where building it holds up no other request."""
    job = _shown_job(request.id)
    attempts = attempts_of_job(job.id)
    head = log_head_of_job(job.id) if attempts else []
    if len(head) > SHORT_LOG_LINES or sum(len(line.message) for line in head) > SHORT_LOG_CHARS:
        return None
    return job_info_read(job, attempts, head)


def _shown_job(job_id: int) -> Job:
    shown = job_shown(job_id)  # not get_job_model: the config it decrypts is not shown
    if not shown:
        raise NotFound("job", job_id)
    return shown[0]


def list_jobs(request: JobListRequestBody) -> JobReadList:
    """Newest first; ``pagination`` pages through them."""
    requested = request.config_types or ([request.config_type] if request.config_type is not None else [])
    types = [t.value for t in requested]  # one of the two is given (__post_init__)
    return _page(Job.select(Job.id).where(Job.scope == request.config_id, Job.config_type.in_(types)), request.pagination)


def list_workspace_jobs(request: WorkspaceJobListRequestBody) -> JobReadList:
    """The jobs of a workspace's connections (syncs, resets) and of its sources and destinations
    (checks, discovers), newest first, filtered as asked."""
    get_workspace_model(request.workspace_id)
    scopes = _workspace_scopes(request)
    query = Job.select(Job.id).where(Job.scope.in_(scopes))
    if request.config_types:
        query = query.where(Job.config_type.in_([t.value for t in request.config_types]))
    if request.statuses:
        query = query.where(Job.status.in_([s.value for s in request.statuses]))
    if request.created_after is not None:
        query = query.where(Job.created_at >= request.created_after)
    if request.created_before is not None:
        query = query.where(Job.created_at <= request.created_before)
    return _page(query, request.pagination)


def _workspace_scopes(request: WorkspaceJobListRequestBody) -> list[str]:
    """The configIds of the workspace's jobs: its connections' ids, and its actors' (one query each)."""
    actors = Actor.select(Actor.id).where(Actor.workspace == request.workspace_id)
    if not request.include_deleted:
        actors = actors.where(Actor.tombstone == False)  # noqa: E712
    connections = Connection.select(Connection.id).join(Actor, on=Connection.source).where(Actor.workspace == request.workspace_id)
    if not request.include_deleted:
        connections = connections.where(Connection.status != "deprecated")
    if request.connection_ids is not None:
        wanted = set(request.connection_ids)
        return [str(c.id) for c in connections if c.id in wanted]
    return [str(c.id) for c in connections] + [str(a.id) for a in actors]


def _page(query: peewee.ModelSelect[Job], pagination: Pagination | None) -> JobReadList:
    """A page of the jobs ``query`` selects (by id), newest first, with their attempts."""
    limit = (pagination.page_size if pagination and pagination.page_size else None) or DEFAULT_PAGE_SIZE
    offset = (pagination.row_offset if pagination and pagination.row_offset else None) or 0
    # the page's ids first (an index-only walk of job(scope, id)), then only those rows
    ids = [row.id for row in query.order_by(Job.id.desc()).limit(limit).offset(offset)]
    return JobReadList(jobs=jobs_with_attempts(ids), total_job_count=query.count())


def job_with_attempts(job_id: int) -> JobWithAttemptsRead | None:
    """One job with its attempts, through the prepared queries (``jobs_with_attempts`` builds its
    batch queries anew each time: 0.5 ms for one job)."""
    shown = job_shown(job_id)
    if not shown:
        return None
    return JobWithAttemptsRead(job=job_read(shown[0]), attempts=[attempt_read(a) for a in attempts_of_job(job_id)])


def jobs_with_attempts(ids: list[int]) -> list[JobWithAttemptsRead]:
    """The jobs of ``ids`` (newest first) with their attempts, in two queries, without their
    configs: decrypting them took half of a page's time."""
    jobs = list(Job.select(*JOB_SHOWN_FIELDS).where(Job.id.in_(ids)).order_by(Job.id.desc())) if ids else []
    attempts: dict[int, list[Attempt]] = {job.id: [] for job in jobs}
    if jobs:
        for attempt in Attempt.select().where(Attempt.job.in_(list(attempts))).order_by(Attempt.number):
            attempts[attempt.job_id].append(attempt)
    return [JobWithAttemptsRead(job=job_read(j), attempts=[attempt_read(a) for a in attempts[j.id]]) for j in jobs]


def job_history(request: JobIdRequestBody) -> JobHistoryRead:
    """Every status change of the job and its attempts, oldest first."""
    get_job_model(request.id)
    events = JobEvent.select().where(JobEvent.job == request.id).order_by(JobEvent.id)
    return JobHistoryRead(
        job_id=request.id,
        events=[JobEventRead(at=e.at, status=e.status, attempt_number=e.attempt_number, reason=e.reason) for e in events],
    )


def list_job_logs(request: JobLogsRequestBody) -> JobLogsRead:
    """A page of the job's log lines in the order they were written, from ``afterId`` on."""
    if not job_shown(request.job_id):
        raise NotFound("job", request.job_id)
    query = (
        LogLine.select(LogLine, Attempt.number)
        .join(Attempt)
        .where(Attempt.job == request.job_id)
        .order_by(LogLine.id)
        .limit(request.page_size)
    )
    if request.attempt_number is not None:
        query = query.where(Attempt.number == request.attempt_number)
    if request.levels:
        query = query.where(LogLine.level.in_([level.value for level in request.levels]))
    if request.after_id is not None:
        query = query.where(LogLine.id > request.after_id)
    lines = [
        LogLineRead(id=line.id, attempt_number=line.attempt.number, timestamp=line.timestamp, level=line.level, message=line.message)
        for line in query
    ]
    return JobLogsRead(logs=lines, next_after_id=lines[-1].id if lines else request.after_id)


def cancel_job(request: JobIdRequestBody) -> JobInfoRead:
    """Cancel a pending or running job; cancelling a finished job changes nothing (CONTRACT.md).

    Marking the row is the whole cancel: a worker that has not claimed the job yet never starts
    it, and one that is running it sees the mark within a second and kills its connectors.
    """
    with transaction():
        job = get_job_model(request.id)
        if not job.is_final:
            timestamp = now()
            job.status, job.updated_at = "cancelled", timestamp
            job.save()
            failure = {
                "failures": [
                    {
                        "failureOrigin": "airpipe",
                        "failureType": "manual_cancellation",
                        "externalMessage": "The job was cancelled.",
                        "retryable": False,
                        "timestamp": timestamp,
                    }
                ]
            }
            running = [a.number for a in Attempt.select(Attempt.number).where(Attempt.job == job, Attempt.status == "running")]
            (
                Attempt.update(status="failed", ended_at=timestamp, updated_at=timestamp, failure_summary=failure)
                .where(Attempt.job == job, Attempt.status == "running")
                .execute()
            )
            for number in running:
                record_event(job.id, "failed", attempt=number, reason="the job was cancelled", at=timestamp)
            record_event(job.id, "cancelled", reason="cancelled through the API", at=timestamp)
    return job_info_read(job)
