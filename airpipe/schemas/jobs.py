from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from airpipe.protocol import Level
from airpipe.schemas.base import AttemptStatus, Base, Int64, JobConfigType, JobStatus
from airpipe.schemas.lists import Pagination


class JobIdRequestBody(Base):
    id: Int64


class JobListRequestBody(Base, kw_only=True):
    __one_of__ = (("configType", "configTypes"),)  # checked by api.decoding, with the missing fields

    config_type: JobConfigType | None = None
    config_types: list[JobConfigType] | None = None
    config_id: str
    pagination: Pagination | None = None

    def __post_init__(self) -> None:
        if self.config_type is None and not self.config_types:
            raise ValueError("one of configType or configTypes is required")


class JobRead(Base):
    id: int
    config_type: JobConfigType
    config_id: str
    created_at: int
    updated_at: int
    status: JobStatus
    #: who started it: a user, a key, an application, or "scheduler"
    created_by: str | None = None


class AttemptStats(Base):
    records_emitted: int | None = None
    bytes_emitted: int | None = None
    state_messages_emitted: int | None = None
    records_committed: int | None = None
    #: what the source announced it would send (TRACE ESTIMATE messages), for progress bars
    estimated_records: int | None = None
    estimated_bytes: int | None = None


class AttemptStreamStats(Base):
    stream_name: str
    stats: AttemptStats


class AttemptFailureReason(Base, kw_only=True):
    failure_origin: str | None = None
    failure_type: str | None = None
    external_message: str | None = None
    internal_message: str | None = None
    retryable: bool | None = None
    timestamp: int


class AttemptFailureSummary(Base):
    failures: list[AttemptFailureReason]
    partial_success: bool | None = None


class AttemptRead(Base):
    id: int
    status: AttemptStatus
    created_at: int
    updated_at: int
    ended_at: int | None = None
    bytes_synced: int | None = None
    records_synced: int | None = None
    total_stats: AttemptStats | None = None
    stream_stats: list[AttemptStreamStats] | None = None
    failure_summary: AttemptFailureSummary | None = None


class LogRead(Base):
    log_lines: list[str]


class AttemptInfoRead(Base):
    attempt: AttemptRead
    logs: LogRead


class JobInfoRead(Base):
    job: JobRead
    attempts: list[AttemptInfoRead]


class JobWithAttemptsRead(Base):
    job: JobRead | None = None
    attempts: list[AttemptRead] | None = None


class JobReadList(Base):
    jobs: list[JobWithAttemptsRead]
    total_job_count: int


# OBSERVABILITY: a job's status history, its log lines page by page, the jobs of a workspace


class JobEventRead(Base, kw_only=True):
    at: int
    status: str  # a job's or an attempt's status then (JobStatus, AttemptStatus), or "abandoned": its caller gave up
    attempt_number: int | None = None  # None: the job's own status
    reason: str | None = None


class JobHistoryRead(Base):
    job_id: int
    events: list[JobEventRead]


class JobLogsRequestBody(Base, kw_only=True):
    job_id: Int64
    attempt_number: Annotated[int, msgspec.Meta(ge=0)] | None = None
    levels: list[Level] | None = None  # the protocol's levels, which log lines keep
    #: only lines after this one: poll with the last answer's nextAfterId to follow a running job
    after_id: Int64 | None = None
    page_size: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1000


class LogLineRead(Base):
    id: int
    attempt_number: int
    timestamp: int
    level: str
    message: str


class JobLogsRead(Base, kw_only=True):
    logs: list[LogLineRead]
    #: the afterId of the next request: the last line's id, or the request's afterId when none came
    next_after_id: int | None = None


class WorkspaceJobListRequestBody(Base, kw_only=True):
    workspace_id: uuid.UUID
    config_types: list[JobConfigType] | None = None
    statuses: list[JobStatus] | None = None
    connection_ids: list[uuid.UUID] | None = None
    created_after: Int64 | None = None
    created_before: Int64 | None = None
    #: the jobs of deleted (deprecated) connections and sources and destinations too
    include_deleted: bool = False
    pagination: Pagination | None = None
