from __future__ import annotations

from airpipe.schemas.base import AttemptStatus, Base, Int64, JobConfigType, JobStatus
from airpipe.schemas.lists import Pagination


class JobIdRequestBody(Base):
    id: Int64


class JobListRequestBody(Base, kw_only=True):
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
