"""Jobs, their attempts and the log lines each attempt wrote."""

from __future__ import annotations

import functools
import time

import peewee

from airpipe.models.crypto import EncryptedJSONField
from airpipe.models.db import BaseModel, ForeignKeyField, JSONField, Prepared, now

SYNC = "sync"
RESET = "reset_connection"
ACTIVE = ("pending", "running")
FINAL = ("failed", "succeeded", "cancelled")
#: a JobEvent's status (not a job's) saying that the request waiting for the job's answer gave up
ABANDONED = "abandoned"


class Job(BaseModel):
    id = peewee.BigAutoField()
    config_type = peewee.CharField()
    #: the configId of the API: connection id for syncs, actor or definition id for the rest
    scope = peewee.CharField()
    status = peewee.CharField(default="pending")
    #: everything the worker needs to run the job, snapshotted when it was created; encrypted
    #: at rest because it carries the connectors' configurations
    config = EncryptedJSONField()
    #: what a synchronous job (check, discover, spec) produced
    output = JSONField(null=True)
    created_at = peewee.BigIntegerField(default=now)
    updated_at = peewee.BigIntegerField(default=now)
    #: who started it: a user, a key, an application, or "scheduler"
    created_by = peewee.TextField(null=True)

    attempts: peewee.ModelSelect[Attempt]  # the backref peewee adds at run time (Attempt.job)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL


# At most one pending or running sync/reset per connection, whatever the number of API
# processes and workers: the database refuses the second one.
Job.add_index(
    Job.index(Job.scope, unique=True, name="job_one_active_sync_per_connection").where(
        Job.status.in_(ACTIVE) & Job.config_type.in_((SYNC, RESET))
    )
)
Job.add_index(Job.index(Job.scope, Job.config_type, name="job_scope_config_type"))
# jobs/list pages a connection's jobs newest first: walked backwards in this index, a page at any
# offset reads no more than offset + page entries (PostgreSQL sorted all of a connection's jobs)
Job.add_index(Job.index(Job.scope, Job.id, name="job_scope_id"))


class Attempt(BaseModel):
    id = peewee.BigAutoField()
    job = ForeignKeyField(Job, backref="attempts", on_delete="CASCADE")
    job_id: int  # the foreign key's raw value, which peewee adds at run time
    number = peewee.IntegerField()
    status = peewee.CharField(default="running")
    records_synced = peewee.BigIntegerField(default=0)
    bytes_synced = peewee.BigIntegerField(default=0)
    #: {"totalStats": {...}, "streamStats": [{"streamName", "stats"}]}
    stats = JSONField(null=True)
    failure_summary = JSONField(null=True)
    #: not before this time may a worker start the attempt (a retry waits out its backoff)
    scheduled_at = peewee.BigIntegerField(default=now)
    #: the worker running the attempt holds it until then, renewing it while alive (heartbeat)
    lease_expires_at = peewee.BigIntegerField(null=True)
    worker = peewee.CharField(null=True)
    created_at = peewee.BigIntegerField(default=now)
    updated_at = peewee.BigIntegerField(default=now)
    ended_at = peewee.BigIntegerField(null=True)

    class Meta:
        indexes = ((("job", "number"), True),)


class LogLine(BaseModel):
    id = peewee.BigAutoField()
    attempt = ForeignKeyField(Attempt, backref="log_lines", on_delete="CASCADE")
    attempt_id: int  # the foreign key's raw value, which peewee adds at run time
    timestamp = peewee.BigIntegerField(default=now)
    level = peewee.CharField()
    message = peewee.TextField()

    def render(self) -> str:
        return f"{_utc(self.timestamp)} {self.level} {self.message}"


class JobEvent(BaseModel):
    """A change of a job's status, or of one of its attempts', with its time and reason; written
    in the transaction that made the change (see ``record_event``)."""

    id = peewee.BigAutoField()
    job = ForeignKeyField(Job, on_delete="CASCADE", index=False)  # the (job, id) index serves it
    job_id: int  # the foreign key's raw value, which peewee adds at run time
    attempt_number = peewee.IntegerField(null=True)  # None: the job's own status
    status = peewee.CharField()
    reason = peewee.TextField(null=True)
    at = peewee.BigIntegerField(default=now)

    class Meta:
        indexes = ((("job", "id"), False),)


def record_event(job_id: int, status: str, *, attempt: int | None = None, reason: str | None = None, at: int | None = None) -> None:
    """Note a status change of the job (or of its attempt ``attempt``); call it inside the
    transaction that made the change, so the history is never out of step with the rows."""
    JobEvent.insert(job=job_id, attempt_number=attempt, status=status, reason=reason, at=now() if at is None else at).execute()


class WorkerBeat(BaseModel):
    """A worker process that is alive, or was: it rewrites ``beat_at`` every few seconds, and
    deletes its row when it stops cleanly. Health counts the fresh rows; the reaper takes over
    only the attempts of workers whose beat went stale."""

    worker = peewee.CharField(primary_key=True)
    started_at = peewee.BigIntegerField(default=now)
    beat_at = peewee.BigIntegerField(default=now, index=True)


#: a job as jobs/get shows it: without its config, which would cost a decryption to read
JOB_SHOWN_FIELDS = [field for field in Job._meta.sorted_fields if field is not Job.config]
job_shown = Prepared(Job, lambda job: Job.select(*JOB_SHOWN_FIELDS).where(Job.id == job), 1, fields=JOB_SHOWN_FIELDS)
#: a job's attempts, and their log lines, in order: what every jobs/get reads (see Prepared)
attempts_of_job = Prepared(Attempt, lambda job: Attempt.select().where(Attempt.job == job).order_by(Attempt.number), 1)
log_lines_of_job = Prepared(LogLine, lambda job: LogLine.select().join(Attempt).where(Attempt.job == job).order_by(LogLine.id), 1)
#: a connection's newest sync or reset job (its status and times: web_backend/connections/get)
_SYNC_SHOWN: list[peewee.Field] = [Job.id, Job.scope, Job.status, Job.created_at, Job.updated_at]
_newest_sync = Prepared(
    Job,
    lambda scope, sync, reset: Job.select(*_SYNC_SHOWN)
    .where(Job.scope == scope, Job.config_type.in_([sync, reset]))
    .order_by(Job.id.desc()),
    "scope",
    SYNC,
    RESET,
    fields=_SYNC_SHOWN,
    limit=1,
)
#: when a connection's last successful sync or reset ended (as ``updated_at``; None if none did)
_last_success = Prepared(
    Job,
    lambda scope, sync, reset, succeeded: Job.select(peewee.fn.MAX(Job.updated_at)).where(
        Job.scope == scope, Job.config_type.in_([sync, reset]), Job.status == succeeded
    ),
    "scope",
    SYNC,
    RESET,
    "succeeded",
    fields=[Job.updated_at],
)


def newest_sync_job(connection_id: str) -> Job | None:
    found = _newest_sync(connection_id, SYNC, RESET)
    return found[0] if found else None


def last_successful_sync(connection_id: str) -> int | None:
    ended: int | None = _last_success(connection_id, SYNC, RESET, "succeeded")[0].updated_at
    return ended


#: a job's log is short when it has at most this many lines (services.jobs.get_job_if_short)
SHORT_LOG_LINES = 200
#: the first lines of a job's log, one more than a short log has
log_head_of_job = Prepared(
    LogLine, lambda job: LogLine.select().join(Attempt).where(Attempt.job == job).order_by(LogLine.id), 1, limit=SHORT_LOG_LINES + 1
)


@functools.lru_cache(maxsize=4096)
def _utc(timestamp: int) -> str:
    """A log line's time as its text shows it; a job's lines share a few seconds."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(timestamp))
