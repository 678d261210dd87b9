"""Connection schedules: start the syncs whose time has come.

A connection's schedule is Airbyte's ``schedule {units, timeUnit}`` (``scheduleType: basic``) or
``scheduleData.cron {cronExpression, cronTimeZone}`` (``scheduleType: cron``); ``manual``
connections are never started here. The worker's periodic tick calls ``start_due_syncs`` once a
minute (``register_tick_hook`` puts it there), so one minute is the resolution of every schedule.

When is a connection due? Its next fire time after its last scheduled run
(``Connection.last_scheduled_at``, or its ``created_at`` before the first one) is not after now.
Firing sets ``last_scheduled_at`` to now, so a worker that was down for days starts ONE catch-up
sync, not one per missed window. A connection whose sync is still running when its window comes
gets no second job; that window counts as served by the running sync. A sync that fails to
start is logged, and its connection waits for its next window (no retry every minute).

- basic: ``last + units * timeUnit``, with a month counted as 30 days and a week as 7, as
  Airbyte counts them. ``last`` is taken to the whole minute, so a tick that runs a few seconds
  later than the one before does not push the schedule back by a minute each time.
- cron: evaluated by croniter in ``cronTimeZone`` (any IANA name; UTC by default). Both the
  standard five fields (``minute hour day-of-month month day-of-week``) and Airbyte's Quartz
  syntax (``seconds minute hour day-of-month month day-of-week [year]``, ``?`` for "no specific
  value", day-of-week 1-7 = SUN-SAT, ``6L`` the last Friday, ``6#3`` the third Friday, ``L`` and
  ``15W`` in the day of month) are accepted. Quartz is translated to croniter's five fields: the
  seconds are dropped (the tick runs once a minute), ``?`` becomes ``*``, day-of-week numbers
  move down by one. Quartz features croniter lacks (``LW``, ``L-3``) are refused by
  ``validate_cron``. When a wall-clock time happens twice (the end of summer time), a schedule
  at fixed times of day runs at the first one only, as Debian's cron does.

Several workers may tick at the same minute: each connection is claimed by one conditional
UPDATE of ``last_scheduled_at``, so only one of them starts its sync.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import uuid
from functools import lru_cache
from zoneinfo import ZoneInfo

import msgspec
from croniter import CroniterBadDateError, CroniterError, croniter

from airpipe import principal
from airpipe.errors import InvalidInput
from airpipe.models import Connection, db, now
from airpipe.schemas.catalog import AirbyteCatalog
from airpipe.services import scheduler, stream_schedules
from airpipe.worker import tasks

logger = logging.getLogger("airpipe.schedules")

EXPRESSION_PATH = "$.scheduleData.cron.cronExpression"
TIME_ZONE_PATH = "$.scheduleData.cron.cronTimeZone"

MINUTE = 60
#: seconds in one unit of a basic schedule; months are 30 days, as in Airbyte
TIME_UNIT_SECONDS = {"minutes": MINUTE, "hours": 3600, "days": 86400, "weeks": 7 * 86400, "months": 30 * 86400}

FIELD_NAMES = ("minute", "hour", "day-of-month", "month", "day-of-week")
QUARTZ_DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}


# DUE SYNCS


def start_due_syncs(at: dt.datetime | None = None) -> list[int]:
    """Start a sync for every active connection whose schedule is due at ``at`` (default: now; a
    naive datetime is UTC). Returns the ids of the jobs it created."""
    timestamp = now() if at is None else int((at if at.tzinfo else at.replace(tzinfo=dt.timezone.utc)).timestamp())
    as_scheduler = principal.set_current(principal.SCHEDULER)  # the jobs it starts are the scheduler's
    try:
        return _start_due(timestamp)
    finally:
        principal.reset(as_scheduler)


def _start_due(timestamp: int) -> list[int]:
    started: list[int] = []
    with_streams = stream_schedules.connections_with_rows()
    scheduled = Connection.schedule_type.in_(("basic", "cron"))
    if with_streams:
        scheduled |= Connection.id.in_([uuid.UUID(i) for i in with_streams])
    query = Connection.select().where(Connection.status == "active", scheduled)
    # read them all first: a job that runs inline (an immediate-mode queue) closes the connection
    for connection in list(query):
        try:
            job_id = _start_if_due(connection, timestamp, str(connection.id) in with_streams)
        except Exception:  # one broken connection must not keep the others from their syncs
            logger.exception("could not start the scheduled sync of connection %s", connection.id)
            continue
        if job_id is not None:
            started.append(job_id)
    return started


def _start_if_due(connection: Connection, timestamp: int, has_stream_schedules: bool = False) -> int | None:
    """One sync of whatever is due: every stream when only the connection has a schedule; with
    streams that have their own (stream_schedules), those due and, if the connection is due, the
    streams it covers."""
    if not has_stream_schedules:
        return _start(connection, None) if _claim_window(connection, timestamp) else None
    catalog = msgspec.convert(connection.catalog, AirbyteCatalog)
    own = stream_schedules.scheduled_streams(catalog)
    due = stream_schedules.claim_due(connection, own, timestamp)
    if _claim_window(connection, timestamp):
        due |= {(i.stream.name, i.stream.namespace) for i in catalog.streams if i.config.selected is not False} - set(own)
    return _start(connection, due) if due else None


def _claim_window(connection: Connection, timestamp: int) -> bool:
    """Whether the connection's own schedule is due, claiming the window if so: of several
    workers ticking at once, only the one whose UPDATE still sees the old value gets it."""
    last = connection.last_scheduled_at
    due_at = next_fire_time(connection, connection.created_at if last is None else last)
    if due_at is None or due_at > timestamp:
        return False
    previous = Connection.last_scheduled_at.is_null() if last is None else Connection.last_scheduled_at == last
    claimed = (
        Connection.update(last_scheduled_at=timestamp)
        .where(Connection.id == connection.id, Connection.status == "active", previous)
        .execute()
    )
    return bool(claimed)


def _start(connection: Connection, streams: set[tuple[str, str | None]] | None) -> int | None:
    if scheduler.active_sync_job(connection) is not None:
        logger.info("connection %s is due but its sync is still running: no second job", connection.id)
        return None
    job = scheduler.start_sync(connection, only=streams)
    logger.info("started scheduled sync job %s of connection %s", job.id, connection.id)
    return job.id


def next_fire_time(connection: Connection, after: int) -> int | None:
    """Epoch seconds of the connection's first scheduled run after ``after`` (epoch seconds), or
    None when it has none (manual, or a cron expression that matches no later date)."""
    if connection.schedule_type == "basic":
        unit = TIME_UNIT_SECONDS.get(connection.schedule_time_unit or "")
        if unit is None or not connection.schedule_units or connection.schedule_units < 1:
            return None
        return after - after % MINUTE + connection.schedule_units * unit
    if connection.schedule_type == "cron" and connection.cron_expression:
        try:
            return next_cron_time(connection.cron_expression, connection.cron_time_zone, after)
        except _CronError as exc:  # stored before it was validated: nothing to run
            logger.warning("connection %s has a cron schedule airpipe cannot run: %s", connection.id, exc.reason)
    return None


def next_cron_time(expression: str, time_zone: str | None, after: int) -> int | None:
    """Epoch seconds of the first time after ``after`` that the expression names in the zone."""
    expression, fixed_time = _translate(expression)
    fires = croniter(expression, dt.datetime.fromtimestamp(after, _zone(time_zone)))
    try:
        fire = fires.get_next(dt.datetime)
        for _ in range(1440):  # bounded: a day's worth of minutes
            if not (fixed_time and _second_of_repeated_time(fire)):
                break
            fire = fires.get_next(dt.datetime)
    except CroniterBadDateError:  # it matches no date any more (a past year, 30 February)
        return None
    return int(fire.timestamp())


def _second_of_repeated_time(moment: dt.datetime) -> bool:
    """True for the second occurrence of a wall-clock time that happens twice (summer time ends)."""
    return moment.fold == 1 and moment.replace(fold=0).utcoffset() != moment.utcoffset()


# THE TICK


def run_due_syncs() -> list[int]:
    """The tick hook: ``start_due_syncs`` inside a database connection of its own."""
    with db.connection_context():
        return start_due_syncs()


def register_tick_hook() -> None:
    """Have the worker's periodic tick start due syncs; calling it again adds nothing."""
    if run_due_syncs not in tasks.periodic_hooks:
        tasks.periodic_hooks.append(run_due_syncs)


# VALIDATION


def validate_cron(expression: str, time_zone: str | None = "UTC") -> None:
    """Raise ``InvalidInput`` naming the field unless the expression (standard five-field cron or
    Quartz with seconds) is one we can run, in an IANA time zone, and it fires at a future date."""
    try:
        zone = _zone(time_zone)
    except _CronError as exc:
        raise InvalidInput.field(TIME_ZONE_PATH, exc.reason, time_zone) from None
    try:
        translated, _ = _translate(expression)
    except _CronError as exc:
        raise InvalidInput.field(EXPRESSION_PATH, exc.reason, expression) from None
    try:
        croniter(translated, dt.datetime.now(zone)).get_next(dt.datetime)
    except CroniterBadDateError:
        raise InvalidInput.field(EXPRESSION_PATH, "matches no date in the future", expression) from None
    except (CroniterError, ValueError) as exc:
        raise InvalidInput.field(EXPRESSION_PATH, f"is not a valid cron expression ({exc})", expression) from None


class _CronError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _zone(name: str | None) -> dt.tzinfo:
    if name is None or name in ("UTC", "Etc/UTC"):
        return dt.timezone.utc
    try:
        return ZoneInfo(name)
    except (KeyError, ValueError, TypeError, OSError):  # unknown, malformed, or a folder of zones
        raise _CronError("is not a time zone (an IANA name such as UTC or Europe/Paris)") from None


@lru_cache(maxsize=1024)
def _translate(expression: str) -> tuple[str, bool]:
    """The expression in croniter's syntax, and whether it runs at fixed times of day (neither
    its minute nor its hour is a ``*`` or ``/`` pattern; Debian's cron's test for its DST rule).

    Five fields are standard cron; six or seven are Quartz (seconds first, an optional year last).
    """
    fields = expression.split()
    if len(fields) == 5:
        minute, hour, day, month, weekday = fields
        seconds = year = None
    elif len(fields) in (6, 7):
        seconds, minute, hour, day, month, weekday, *rest = fields
        year = rest[0] if rest else None
        if day not in ("?", "*") and weekday not in ("?", "*"):
            raise _CronError("in Quartz syntax, one of day-of-month and day-of-week must be '?'")
        weekday = _quartz_weekday(weekday)
    else:
        raise _CronError(
            "must have 5 fields (minute hour day-of-month month day-of-week) or, in Quartz syntax, "
            "6 or 7 (seconds minute hour day-of-month month day-of-week [year])"
        )
    if day.upper() == "LW" or day.upper().startswith("L-"):
        raise _CronError(f"its day-of-month field {day!r} is not supported (L and nW are; LW and L-n are not)")
    day, weekday = ("*" if f == "?" else f for f in (day, weekday))
    parts = [minute, hour, day, month, weekday]
    for index, (name, value) in enumerate(zip(FIELD_NAMES, parts, strict=True)):
        probe = ["*"] * 5
        probe[index] = value
        _check(" ".join(probe), name, fields[index if seconds is None else index + 1])
    if seconds is not None:
        _check(f"* * * * * {seconds}", "seconds", seconds)
    if year is not None and year not in ("*", "?"):
        _check(f"* * * * * 0 {year}", "year", year)
        parts += ["0", year]
    return " ".join(parts), not any(f.startswith("*") or "/" in f for f in (minute, hour))


def _check(expression: str, name: str, original: str) -> None:
    try:
        croniter.expand(expression)
    except (CroniterError, ValueError):
        raise _CronError(f"its {name} field {original!r} is not valid") from None


def _quartz_weekday(field: str) -> str:
    """Quartz counts the days 1 (SUN) to 7 (SAT) and writes the last Friday ``6L``; croniter
    counts 0 (SUN) to 6 (SAT) and writes it ``L5``."""
    if field in ("?", "*"):
        return "*"
    items = []
    for item in field.upper().split(","):
        if item == "L":  # alone, Quartz's L is the last day of the week: Saturday
            items.append("6")
            continue
        item = re.sub(r"[A-Z]{3}", lambda m: str(QUARTZ_DAYS.get(m.group(), m.group())), item)
        if match := re.fullmatch(r"(\d)L", item):
            items.append(f"L{_day(match[1], field)}")
        elif match := re.fullmatch(r"(\d)#(\d)", item):
            items.append(f"{_day(match[1], field)}#{match[2]}")
        elif match := re.fullmatch(r"(\*|\d)(?:-(\d))?(?:/(\d+))?", item):
            start, end, step = match.groups()
            text = start if start == "*" else str(_day(start, field))
            text += f"-{_day(end, field)}" if end else ""
            items.append(text + (f"/{step}" if step else ""))
        else:
            raise _CronError(f"its day-of-week field {field!r} is not valid")
    return ",".join(items)


def _day(number: str, field: str) -> int:
    if not 1 <= int(number) <= 7:
        raise _CronError(f"its day-of-week field {field!r} is not valid: in Quartz syntax the days are 1 (SUN) to 7 (SAT)")
    return int(number) - 1

