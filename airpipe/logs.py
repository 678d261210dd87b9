"""Log lines for people and for log collectors: a level and a format from the environment, and
the job, attempt and connection a line is about on every line written while a job runs.

``AIRPIPE_LOG_LEVEL`` (DEBUG, INFO, WARNING, ERROR; default INFO) and ``AIRPIPE_LOG_FORMAT``
(``text``, the default, or ``json``: one object per line) apply to `airpipe serve` and
`airpipe worker`. The job fields come from a context variable that the runner sets around a job
(``job_context``), added to each record when it is made, so huey's own lines carry them too.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import sys
from collections.abc import Iterator, Mapping
from typing import Any

from airpipe.errors import SettingsError

LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
FORMATS = ("text", "json")
#: the fields a line about a job carries, as the record's attributes and the JSON's keys
JOB_FIELDS = ("job_id", "attempt", "connection_id")

_job: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("airpipe_job", default=None)
_make_record = logging.getLogRecordFactory()


def configure(environ: Mapping[str, str]) -> None:
    """Set the root logger's level and format from ``AIRPIPE_LOG_LEVEL`` and ``AIRPIPE_LOG_FORMAT``
    (SettingsError, naming the variable, for a value that is neither)."""
    level = environ.get("AIRPIPE_LOG_LEVEL", "INFO").upper()
    if level not in LEVELS:
        raise SettingsError("AIRPIPE_LOG_LEVEL", f"must be one of {', '.join(LEVELS)}, not {environ['AIRPIPE_LOG_LEVEL']!r}")
    form = environ.get("AIRPIPE_LOG_FORMAT", "text").lower()
    if form not in FORMATS:
        raise SettingsError("AIRPIPE_LOG_FORMAT", f"must be text or json, not {environ['AIRPIPE_LOG_FORMAT']!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if form == "json" else TextFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)
    logging.setLogRecordFactory(_record_with_job)


@contextlib.contextmanager
def job_context(job_id: int, attempt: int | None = None, connection_id: str | None = None) -> Iterator[None]:
    """Every line logged in this thread meanwhile is about this job."""
    token = _job.set({"job_id": job_id, "attempt": attempt, "connection_id": connection_id})
    try:
        yield
    finally:
        _job.reset(token)


def _record_with_job(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _make_record(*args, **kwargs)
    fields = _job.get()
    for name in JOB_FIELDS:
        setattr(record, name, fields.get(name) if fields else None)
    return record


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message [job=12 attempt=1 connection=...]``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        job = getattr(record, "job_id", None)
        if job is None:
            return line
        attempt, connection = getattr(record, "attempt", None), getattr(record, "connection_id", None)
        about = [f"job={job}", *([f"attempt={attempt}"] if attempt is not None else [])]
        if connection is not None:
            about.append(f"connection={connection}")
        head, newline, rest = line.partition("\n")  # after the message, before a traceback
        return f"{head} [{' '.join(about)}]{newline}{rest}"


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, the job fields
    when there are, and the traceback as ``exception``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in JOB_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
