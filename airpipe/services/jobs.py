from __future__ import annotations

from airpipe.errors import NotFound
from airpipe.models import JOB_SHOWN_FIELDS, Attempt, Job, by_id, job_shown, now, transaction
from airpipe.schemas.jobs import JobIdRequestBody, JobInfoRead, JobListRequestBody, JobReadList, JobWithAttemptsRead
from airpipe.services.converters import attempt_read, job_info_read, job_read

DEFAULT_PAGE_SIZE = 200


def get_job_model(job_id: int) -> Job:
    job = by_id(Job, job_id)
    if job is None:
        raise NotFound("job", job_id)
    return job


def get_job(request: JobIdRequestBody) -> JobInfoRead:
    shown = job_shown(request.id)  # not get_job_model: the config it decrypts is not shown
    if not shown:
        raise NotFound("job", request.id)
    return job_info_read(shown[0])


def list_jobs(request: JobListRequestBody) -> JobReadList:
    """Newest first; ``pagination`` pages through them."""
    requested = request.config_types or ([request.config_type] if request.config_type is not None else [])
    types = [t.value for t in requested]  # one of the two is given (__post_init__)
    query = Job.select(Job.id).where(Job.scope == request.config_id, Job.config_type.in_(types))
    page = request.pagination
    limit = (page.page_size if page and page.page_size else None) or DEFAULT_PAGE_SIZE
    offset = (page.row_offset if page and page.row_offset else None) or 0
    # the page's ids first (an index-only walk of job(scope, id)), then only those rows, without
    # their configs: decrypting them took half of a page's time
    ids = [row.id for row in query.order_by(Job.id.desc()).limit(limit).offset(offset)]
    jobs = list(Job.select(*JOB_SHOWN_FIELDS).where(Job.id.in_(ids)).order_by(Job.id.desc())) if ids else []
    attempts: dict[int, list[Attempt]] = {job.id: [] for job in jobs}
    if jobs:
        for attempt in Attempt.select().where(Attempt.job.in_(list(attempts))).order_by(Attempt.number):
            attempts[attempt.job_id].append(attempt)
    return JobReadList(
        jobs=[JobWithAttemptsRead(job=job_read(j), attempts=[attempt_read(a) for a in attempts[j.id]]) for j in jobs],
        total_job_count=query.count(),
    )


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
            (
                Attempt.update(status="failed", ended_at=timestamp, updated_at=timestamp, failure_summary=failure)
                .where(Attempt.job == job, Attempt.status == "running")
                .execute()
            )
    return job_info_read(job)
