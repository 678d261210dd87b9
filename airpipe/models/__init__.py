"""Peewee models, bound late through ``db`` (a DatabaseProxy) to SQLite or PostgreSQL."""

from airpipe.models.alerts import Alert, AlertEvent, AlertRule
from airpipe.models.api_keys import ApiKey, api_key_by_hash
from airpipe.models.applications import Application, ApplicationToken
from airpipe.models.config import (
    DESTINATION,
    SOURCE,
    Actor,
    ActorDefinition,
    Connection,
    ConnectionState,
    DiscoveredCatalog,
    StreamSchedule,
    Workspace,
)
from airpipe.models.crypto import use_key
from airpipe.models.data_sinks import DataSink, DataSinkEntry
from airpipe.models.db import bind, by_id, by_id_query, db, insert, is_sqlite, now, open_database, transaction
from airpipe.models.history import ChangeRecord
from airpipe.models.jobs import (
    ACTIVE,
    FINAL,
    JOB_SHOWN_FIELDS,
    RESET,
    SHORT_LOG_LINES,
    SYNC,
    Attempt,
    Job,
    JobEvent,
    LogLine,
    WorkerBeat,
    attempts_of_job,
    job_shown,
    log_head_of_job,
    log_lines_of_job,
    record_event,
)
from airpipe.models.migrations import ALL_MODELS, CURRENT_VERSION, current_version, migrate
from airpipe.models.notifications import NotificationChannel, NotificationDelivery

__all__ = [
    "Alert",
    "AlertEvent",
    "AlertRule",
    "ApiKey",
    "ChangeRecord",
    "Application",
    "ApplicationToken",
    "ACTIVE",
    "ALL_MODELS",
    "DESTINATION",
    "FINAL",
    "JOB_SHOWN_FIELDS",
    "SHORT_LOG_LINES",
    "RESET",
    "SOURCE",
    "SYNC",
    "StreamSchedule",
    "Actor",
    "ActorDefinition",
    "Attempt",
    "Connection",
    "ConnectionState",
    "DataSink",
    "DataSinkEntry",
    "DiscoveredCatalog",
    "Job",
    "JobEvent",
    "LogLine",
    "NotificationChannel",
    "NotificationDelivery",
    "WorkerBeat",
    "Workspace",
    "CURRENT_VERSION",
    "bind",
    "by_id",
    "by_id_query",
    "insert",
    "current_version",
    "db",
    "is_sqlite",
    "migrate",
    "now",
    "record_event",
    "open_database",
    "api_key_by_hash",
    "attempts_of_job",
    "job_shown",
    "log_head_of_job",
    "log_lines_of_job",
    "transaction",
    "use_key",
]
