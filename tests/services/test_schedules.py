"""Connection schedules (services/schedules.py): which connections the tick starts, when, and
how often; cron in standard and Quartz syntax, in a time zone; and the tick hook that runs it.

Connections are made through the API (Faker -> Local JSON, a handful of records). Most tests
replace the queue's ``enqueue_job`` with a recorder, so a started job stays pending instead of
running a real sync; one test lets a scheduled sync run to its end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient
from suitekit import sync_catalog, users_catalog

from airpipe.connectors import registry
from airpipe.errors import InvalidInput
from airpipe.models import SYNC, Connection, Job, StreamSchedule
from airpipe.schemas.base import DestinationSyncMode, SyncMode
from airpipe.schemas.catalog import AirbyteStreamConfiguration, SyncFrequency
from airpipe.services import schedules, stream_schedules
from airpipe.services.schedules import next_cron_time, next_fire_time, start_due_syncs, validate_cron
from airpipe.worker import job_configs, tasks

WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
FAKER_ID = str(registry.FAKER.id)
LOCAL_JSON_ID = str(registry.LOCAL_JSON.id)

UTC = dt.timezone.utc
#: 2024-01-01 00:00:00 UTC, a Monday
T0 = int(dt.datetime(2024, 1, 1, tzinfo=UTC).timestamp())
MINUTE, HOUR, DAY = 60, 3600, 86400


def at(timestamp: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(timestamp, UTC)


def utc(*args: int) -> int:
    return int(dt.datetime(*args, tzinfo=UTC).timestamp())


USERS_CATALOG = users_catalog()


# FIXTURES


def post(client: TestClient, path: str, body: Any) -> Any:
    response = client.post(f"/api/v1/{path}", json=body)
    assert response.status_code in (200, 204), response.text
    return response.json() if response.content else None


@pytest.fixture
def actors(client: TestClient) -> tuple[str, str]:
    source = post(
        client,
        "sources/create",
        {
            "workspaceId": WORKSPACE_ID,
            "sourceDefinitionId": FAKER_ID,
            "name": "faker",
            "connectionConfiguration": {"count": 3, "seed": 1},
        },
    )
    destination = post(
        client,
        "destinations/create",
        {
            "workspaceId": WORKSPACE_ID,
            "destinationDefinitionId": LOCAL_JSON_ID,
            "name": "json",
            "connectionConfiguration": {"destination_path": "/local/scheduled"},
        },
    )
    return source["sourceId"], destination["destinationId"]


MakeConnection = Callable[..., Connection]


@pytest.fixture
def make_connection(client: TestClient, actors: tuple[str, str]) -> MakeConnection:
    """``make_connection(created_at, status=..., **schedule fields)``: a connection made through the
    API, with its creation time moved to ``created_at``; returns its model row."""

    def make(created_at: int = T0, *, status: str = "active", **schedule: Any) -> Connection:
        body = {"sourceId": actors[0], "destinationId": actors[1], "status": status, "syncCatalog": USERS_CATALOG, **schedule}
        connection_id = post(client, "connections/create", body)["connectionId"]
        Connection.update(created_at=created_at).where(Connection.id == connection_id).execute()
        return reload(connection_id)

    return make


def reload(connection: Connection | str) -> Connection:
    return Connection.get_by_id(connection if isinstance(connection, str) else connection.id)


def hourly() -> dict[str, Any]:
    return {"scheduleType": "basic", "scheduleData": {"basicSchedule": {"units": 1, "timeUnit": "hours"}}}


def cron(expression: str, time_zone: str = "UTC") -> dict[str, Any]:
    return {"scheduleType": "cron", "scheduleData": {"cron": {"cronExpression": expression, "cronTimeZone": time_zone}}}


@pytest.fixture
def enqueued(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The job ids handed to the queue; the jobs stay pending (no real sync runs)."""
    sent: list[int] = []
    monkeypatch.setattr(tasks, "enqueue_job", sent.append)
    return sent


def jobs_of(connection: Connection) -> list[Job]:
    return list(Job.select().where(Job.scope == str(connection.id)).order_by(Job.id))


def finish(job_id: int) -> None:
    Job.update(status="succeeded").where(Job.id == job_id).execute()


# BASIC SCHEDULES


def test_a_basic_schedule_is_due_one_interval_after_creation(make_connection: MakeConnection, enqueued: list[int]) -> None:
    connection = make_connection(T0, schedule={"units": 1, "timeUnit": "hours"})

    assert start_due_syncs(at(T0 + HOUR - 1)) == []
    assert jobs_of(connection) == [] and reload(connection).last_scheduled_at is None

    started = start_due_syncs(at(T0 + HOUR))
    [job] = jobs_of(connection)
    assert started == [job.id] == enqueued
    assert job.config_type == SYNC and job.status == "pending"
    assert reload(connection).last_scheduled_at == T0 + HOUR

    finish(job.id)
    assert start_due_syncs(at(T0 + 2 * HOUR - MINUTE)) == []
    assert len(start_due_syncs(at(T0 + 2 * HOUR))) == 1


def test_a_missed_window_gives_one_catch_up_sync_and_the_schedule_goes_on_from_it(
    make_connection: MakeConnection, enqueued: list[int]
) -> None:
    connection = make_connection(T0, **hourly())
    later = T0 + 5 * DAY + 17 * MINUTE  # 120 windows missed while the server was down

    [job_id] = start_due_syncs(at(later))
    assert [j.id for j in jobs_of(connection)] == [job_id]
    assert reload(connection).last_scheduled_at == later

    finish(job_id)
    assert start_due_syncs(at(later + MINUTE)) == []  # not due: not held back by a running job
    assert start_due_syncs(at(later + HOUR - MINUTE)) == []
    assert len(start_due_syncs(at(later + HOUR))) == 1
    assert len(jobs_of(connection)) == 2


@pytest.mark.parametrize(
    ("units", "time_unit", "seconds"),
    [
        (15, "minutes", 15 * MINUTE),
        (2, "hours", 2 * HOUR),
        (1, "days", DAY),
        (2, "weeks", 14 * DAY),
        (1, "months", 30 * DAY),
        (3, "months", 90 * DAY),
    ],
)
def test_basic_intervals_months_are_30_days(units: int, time_unit: str, seconds: int) -> None:
    connection = Connection(schedule_type="basic", schedule_units=units, schedule_time_unit=time_unit)
    assert next_fire_time(connection, T0) == T0 + seconds


def test_a_basic_interval_counts_from_the_minute_so_late_ticks_do_not_drift() -> None:
    connection = Connection(schedule_type="basic", schedule_units=1, schedule_time_unit="hours")
    # fired by a tick 40 s into the minute, the next window is still on the minute
    assert next_fire_time(connection, T0 + 40) == T0 + HOUR


def test_manual_connections_have_no_fire_time() -> None:
    assert next_fire_time(Connection(schedule_type="manual"), T0) is None


# WHICH CONNECTIONS


def test_inactive_deprecated_and_manual_connections_never_run(
    client: TestClient, make_connection: MakeConnection, enqueued: list[int]
) -> None:
    active = make_connection(T0, **hourly())
    inactive = make_connection(T0, status="inactive", **hourly())
    deleted = make_connection(T0, **hourly())
    post(client, "connections/delete", {"connectionId": str(deleted.id)})
    manual = make_connection(T0)
    assert reload(deleted).status == "deprecated" and manual.schedule_type == "manual"

    started = start_due_syncs(at(T0 + 30 * DAY))

    assert started == [j.id for j in jobs_of(active)] and len(started) == 1
    for connection in (inactive, deleted, manual):
        assert jobs_of(connection) == []
        assert reload(connection).last_scheduled_at is None


def test_a_connection_whose_sync_is_running_gets_no_second_job(
    client: TestClient, make_connection: MakeConnection, enqueued: list[int]
) -> None:
    connection = make_connection(T0, **hourly())
    running = post(client, "connections/sync", {"connectionId": str(connection.id)})["job"]

    assert start_due_syncs(at(T0 + 3 * HOUR)) == []
    assert [j.id for j in jobs_of(connection)] == [running["id"]]
    # the window was served by the running sync: the next one is an interval later
    assert reload(connection).last_scheduled_at == T0 + 3 * HOUR
    finish(running["id"])
    assert start_due_syncs(at(T0 + 3 * HOUR + 30 * MINUTE)) == []
    assert len(start_due_syncs(at(T0 + 4 * HOUR))) == 1


def test_a_window_is_claimed_once_when_two_workers_tick_together(make_connection: MakeConnection, enqueued: list[int]) -> None:
    connection = make_connection(T0, **hourly())
    seen_by_the_other_worker = reload(connection)

    assert len(start_due_syncs(at(T0 + HOUR))) == 1
    finish(jobs_of(connection)[0].id)
    # the other worker read the row before the claim: its conditional update finds nothing to claim
    assert schedules._start_if_due(seen_by_the_other_worker, T0 + HOUR) is None
    assert len(jobs_of(connection)) == 1


def test_one_broken_connection_does_not_stop_the_others(make_connection: MakeConnection, enqueued: list[int]) -> None:
    broken = make_connection(T0, **cron("0 * * * *"))
    Connection.update(cron_expression="not a cron").where(Connection.id == broken.id).execute()
    failing = make_connection(T0, **hourly())
    Connection.update(catalog={"streams": "not a catalog"}).where(Connection.id == failing.id).execute()
    fine = make_connection(T0, **hourly())

    started = start_due_syncs(at(T0 + DAY))

    assert started == [j.id for j in jobs_of(fine)] and len(started) == 1
    assert jobs_of(broken) == [] and jobs_of(failing) == []


def test_a_scheduled_sync_runs_to_its_end(make_connection: MakeConnection) -> None:
    """No recorder here: the job runs inline, a real Faker -> Local JSON sync."""
    connection = make_connection(T0, **hourly())
    [job_id] = start_due_syncs(at(T0 + HOUR))
    job = Job.get_by_id(job_id)
    assert job.status == "succeeded", job.status
    assert job.scope == str(connection.id)


# CRON


@pytest.mark.parametrize(
    "expression",
    [
        "30 6 * * *",  # standard five fields
        "0 30 6 * * ?",  # Quartz: seconds first, ? for "no specific day of week"
        "0 30 6 ? * *",
        "0 30 6 * * ? 2024-2099",  # Quartz with a year range (a past year alone is refused)
        "0 30 6 ? * MON-FRI",  # 2024-01-01 is a Monday
        "0 30 6 ? * 2",  # Quartz counts SUN=1, so 2 is Monday
        "30 6 * * 1",  # standard cron counts SUN=0, so 1 is Monday
    ],
)
def test_cron_standard_and_quartz(make_connection: MakeConnection, enqueued: list[int], expression: str) -> None:
    connection = make_connection(T0, **cron(expression))

    assert start_due_syncs(at(T0 + 6 * HOUR + 29 * MINUTE)) == []
    assert len(start_due_syncs(at(T0 + 6 * HOUR + 30 * MINUTE))) == 1
    assert reload(connection).last_scheduled_at == T0 + 6 * HOUR + 30 * MINUTE


def test_cron_with_a_later_year_waits_for_it(make_connection: MakeConnection, enqueued: list[int]) -> None:
    connection = make_connection(T0, **cron("0 30 6 * * ? 2025-2099"))
    assert start_due_syncs(at(T0 + 200 * DAY)) == []
    assert next_fire_time(connection, T0) == utc(2025, 1, 1, 6, 30)


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("0 0 12 ? * 6L", utc(2024, 1, 1), utc(2024, 1, 26, 12)),  # the last Friday of January
        ("0 0 12 ? * FRIL", utc(2024, 1, 1), utc(2024, 1, 26, 12)),
        ("0 0 12 ? * 6#2", utc(2024, 1, 1), utc(2024, 1, 12, 12)),  # the second Friday
        ("0 0 12 ? * L", utc(2024, 1, 1), utc(2024, 1, 6, 12)),  # L alone: Saturday
        ("0 0 12 L * ?", utc(2024, 2, 1), utc(2024, 2, 29, 12)),  # the last day of the month
        ("0 0 9 15W * ?", utc(2024, 6, 1), utc(2024, 6, 14, 9)),  # 15 June 2024 is a Saturday
        ("0 0/20 * * * ?", utc(2024, 1, 1, 0, 5), utc(2024, 1, 1, 0, 20)),
        ("15,45 0/10 10 * * ?", utc(2024, 1, 1, 10, 11), utc(2024, 1, 1, 10, 20)),  # seconds are dropped
        ("0 0 12 ? * SUN", utc(2024, 1, 1), utc(2024, 1, 7, 12)),
        ("0 0 12 ? * 1", utc(2024, 1, 1), utc(2024, 1, 7, 12)),
        ("0 12 * * 0", utc(2024, 1, 1), utc(2024, 1, 7, 12)),
        ("0 12 * * 7", utc(2024, 1, 1), utc(2024, 1, 7, 12)),
        ("*/15 * * * *", utc(2024, 1, 1, 0, 0, 30), utc(2024, 1, 1, 0, 15)),
    ],
)
def test_quartz_features(expression: str, after: int, expected: int) -> None:
    validate_cron(expression, "UTC")
    assert next_cron_time(expression, "UTC", after) == expected


# TIME ZONES


def test_cron_runs_in_its_time_zone(make_connection: MakeConnection, enqueued: list[int]) -> None:
    tokyo = make_connection(T0 - 2 * HOUR, **cron("0 0 9 * * ?", "Asia/Tokyo"))  # 09:00 JST = 00:00 UTC
    utc_nine = make_connection(T0 - 2 * HOUR, **cron("0 0 9 * * ?", "UTC"))

    assert start_due_syncs(at(T0 - 1)) == []
    assert [j.scope for j in map(Job.get_by_id, start_due_syncs(at(T0)))] == [str(tokyo.id)]
    assert start_due_syncs(at(T0 + 9 * HOUR - 1)) == []
    assert [j.scope for j in map(Job.get_by_id, start_due_syncs(at(T0 + 9 * HOUR)))] == [str(utc_nine.id)]


def test_summer_time_shifts_the_utc_time_of_a_cron() -> None:
    # 12:00 in Paris is 11:00 UTC in winter and 10:00 UTC in summer
    assert next_cron_time("0 12 * * *", "Europe/Paris", utc(2024, 1, 10)) == utc(2024, 1, 10, 11)
    assert next_cron_time("0 12 * * *", "Europe/Paris", utc(2024, 7, 10)) == utc(2024, 7, 10, 10)


def test_a_daily_cron_runs_once_when_its_wall_time_happens_twice() -> None:
    # 2024-11-03 in New York: 01:00-02:00 happens twice (EDT, then EST)
    first = next_cron_time("30 1 * * *", "America/New_York", utc(2024, 11, 3))
    assert first == utc(2024, 11, 3, 5, 30)  # 01:30 EDT
    assert next_cron_time("30 1 * * *", "America/New_York", first + 10) == utc(2024, 11, 4, 6, 30)  # not 01:30 EST
    # a schedule finer than an hour runs through both hours, as Debian's cron does
    assert next_cron_time("*/30 * * * *", "America/New_York", utc(2024, 11, 3, 5, 45)) == utc(2024, 11, 3, 6, 0)


# VALIDATION


@pytest.mark.parametrize(
    ("expression", "first"),
    [
        # from Wednesday 2024-01-10 00:00 UTC; Paris is UTC+1 in winter
        ("0 0 12 * * ?", utc(2024, 1, 10, 11)),  # Quartz: seconds first, '?' for day-of-week
        ("0 0 12 ? * MON-FRI", utc(2024, 1, 10, 11)),
        ("0 15 10 ? * 6L 2030", utc(2030, 1, 25, 9, 15)),  # Quartz's 6 is Friday: the last Friday of January 2030
        ("*/5 * * * *", utc(2024, 1, 10, 0, 5)),
        ("0 12 * * 1-5", utc(2024, 1, 10, 11)),
        ("0 0 1 1 *", utc(2024, 12, 31, 23)),
        ("0 0 29 2 *", utc(2024, 2, 28, 23)),
        ("0 0 0 L * ?", utc(2024, 1, 30, 23)),  # the last day of the month
    ],
)
def test_validate_cron_accepts(expression: str, first: int) -> None:
    assert validate_cron(expression, "Europe/Paris") is None
    # what the expression was translated to, by when it first fires
    assert next_cron_time(expression, "Europe/Paris", utc(2024, 1, 10)) == first


@pytest.mark.parametrize(
    ("expression", "reason"),
    [
        ("", "must have 5 fields"),
        ("0 12 * *", "must have 5 fields"),
        ("0 0 12 * * ? 2030 1", "must have 5 fields"),
        ("61 * * * *", "minute field '61' is not valid"),
        ("0 25 * * *", "hour field '25' is not valid"),
        ("0 0 32 * *", "day-of-month field '32' is not valid"),
        ("0 0 * 13 *", "month field '13' is not valid"),
        ("0 0 * * 8", "day-of-week field '8' is not valid"),
        ("0 0 12 ? * 0", "day-of-week field '0' is not valid"),  # Quartz counts 1-7
        ("0 0 12 ? * XYZ", "day-of-week field 'XYZ' is not valid"),
        ("60 0 12 * * ?", "seconds field '60' is not valid"),
        ("0 0 12 * * ? 1900", "year field '1900' is not valid"),
        ("0 0 12 1 * MON", "one of day-of-month and day-of-week must be '?'"),
        ("0 0 12 LW * ?", "'LW' is not supported"),
        ("0 0 12 L-3 * ?", "'L-3' is not supported"),
        ("0 0 30 2 *", "matches no date in the future"),
        ("0 0 12 * * ? 2020", "matches no date in the future"),
    ],
)
def test_validate_cron_refuses_naming_the_expression(expression: str, reason: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_cron(expression, "UTC")
    [error] = raised.value.errors
    assert error.path == "$.scheduleData.cron.cronExpression"
    assert error.value == expression
    assert reason in error.message, error.message


@pytest.mark.parametrize("time_zone", ["Mars/Olympus", "America", "", "../../etc/passwd", "/etc/localtime", "utc+2"])
def test_validate_cron_refuses_an_unknown_time_zone(time_zone: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        validate_cron("0 12 * * *", time_zone)
    [error] = raised.value.errors
    assert (error.path, error.value) == ("$.scheduleData.cron.cronTimeZone", time_zone)


# THE TICK


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> list[Callable[[], object]]:
    """A fresh ``tasks.periodic_hooks`` for this test."""
    fresh: list[Callable[[], object]] = []
    monkeypatch.setattr(tasks, "periodic_hooks", fresh)
    return fresh


def test_registering_the_tick_hook_twice_adds_it_once(hooks: list[Callable[[], object]]) -> None:
    schedules.register_tick_hook()
    schedules.register_tick_hook()
    assert hooks == [schedules.run_due_syncs]


def test_the_tick_starts_due_syncs_even_after_a_broken_hook(
    make_connection: MakeConnection, enqueued: list[int], hooks: list[Callable[[], object]]
) -> None:
    calls: list[str] = []

    def broken() -> None:
        calls.append("broken")
        raise RuntimeError("a broken hook")

    hooks.append(broken)
    schedules.register_tick_hook()
    connection = make_connection(int(dt.datetime.now(UTC).timestamp()) - 2 * HOUR, **hourly())

    tasks.tick.call_local()  # what the worker runs every minute; the hook uses the real clock

    assert calls == ["broken"]
    [job] = jobs_of(connection)
    assert enqueued == [job.id]
    assert reload(connection).last_scheduled_at is not None


def test_the_app_registers_the_hook_once(client: TestClient, settings: Any) -> None:
    from airpipe.api.app import prepare

    prepare(settings)  # a second app in the same process
    assert tasks.periodic_hooks.count(schedules.run_due_syncs) == 1


def test_start_due_syncs_takes_naive_datetimes_as_utc(make_connection: MakeConnection, enqueued: list[int]) -> None:
    make_connection(T0, **hourly())
    assert start_due_syncs(dt.datetime(2024, 1, 1, 0, 59)) == []
    assert len(start_due_syncs(dt.datetime(2024, 1, 1, 1, 0))) == 1


# STREAMS WITH SCHEDULES OF THEIR OWN (services/stream_schedules.py)


def two_streams(users: dict[str, Any] | None = None) -> dict[str, Any]:
    """users (with ``users`` added to its config: a schedule of its own) and products."""
    users_item = users_catalog()["streams"][0]
    users_item["config"].update(users or {})
    products = sync_catalog("products", {"id": {"type": "integer"}, "updated_at": {"type": "string"}})["streams"][0]
    return {"streams": [users_item, products]}


def streams_of(job_id: int) -> list[str]:
    config = job_configs.decode(SYNC, Job.get_by_id(job_id).config)
    assert isinstance(config, job_configs.SyncJob)
    return [s.stream["name"] for s in config.streams]


@pytest.mark.parametrize(
    ("frequency", "time_of_day", "after", "expected"),
    [
        ("30min", None, T0 + 10, T0 + 30 * MINUTE),  # from the minute, as a basic schedule
        ("6hour", "01:00", T0, T0 + HOUR),  # today's anchor is ahead
        ("6hour", "01:00", T0 + HOUR, T0 + 7 * HOUR),
        ("6hour", "23:00", T0, T0 + 5 * HOUR),  # 23:00 - 3 x 6h = 05:00, the first step back still ahead
        ("24hour", "06:30:15", T0 + 7 * HOUR, T0 + DAY + 6 * HOUR + 30 * MINUTE + 15),
        ("7day", "00:00", T0, T0 + 7 * DAY),
    ],
)
def test_a_streams_next_run(frequency: str, time_of_day: str | None, after: int, expected: int) -> None:
    config = AirbyteStreamConfiguration(
        sync_mode=SyncMode.full_refresh,
        destination_sync_mode=DestinationSyncMode.append,
        sync_frequency=SyncFrequency(frequency),
        sync_time_of_day=time_of_day,
    )
    assert stream_schedules.next_stream_time(config, after) == expected


def test_a_stream_with_its_own_schedule_runs_alone_on_a_manual_connection(make_connection: MakeConnection, enqueued: list[int]) -> None:
    connection = make_connection(T0, syncCatalog=two_streams({"syncFrequency": "30min"}))
    assert start_due_syncs(at(T0 + 29 * MINUTE)) == []
    [job_id] = start_due_syncs(at(T0 + 30 * MINUTE))
    assert streams_of(job_id) == ["users"]  # products has no schedule: the manual connection never runs it
    finish(job_id)
    assert start_due_syncs(at(T0 + 59 * MINUTE)) == []
    [later] = start_due_syncs(at(T0 + 60 * MINUTE))
    assert streams_of(later) == ["users"] and reload(connection).last_scheduled_at is None


def test_one_due_sync_covers_every_stream_that_is_due(make_connection: MakeConnection, enqueued: list[int]) -> None:
    connection = make_connection(T0, syncCatalog=two_streams({"syncFrequency": "30min"}), **hourly())
    [first] = start_due_syncs(at(T0 + 30 * MINUTE))
    assert streams_of(first) == ["users"]  # the connection's hour has not come: its stream waits
    finish(first)
    [both] = start_due_syncs(at(T0 + HOUR))
    assert streams_of(both) == ["users", "products"]
    assert len(jobs_of(connection)) == 2


def test_streams_update_sets_and_clears_a_streams_schedule(client: TestClient, make_connection: MakeConnection) -> None:
    connection = make_connection(T0, syncCatalog=two_streams())
    body = {"connectionId": str(connection.id), "streams": [{"streamName": "users", "syncFrequency": "6hour", "syncTimeOfDay": "01:00"}]}
    users = post(client, "connections/streams/update", body)["streams"][0]
    assert (users["syncFrequency"], users["syncTimeOfDay"], users["nextSyncAt"]) == ("6hour", "01:00", T0 + HOUR)
    assert [r.stream_name for r in StreamSchedule.select()] == ["users"]
    cleared = {"connectionId": str(connection.id), "streams": [{"streamName": "users", "syncFrequency": None, "syncTimeOfDay": None}]}
    assert "syncFrequency" not in post(client, "connections/streams/update", cleared)["streams"][0]
    assert list(StreamSchedule.select()) == []
    alone = {"connectionId": str(connection.id), "streams": [{"streamName": "users", "syncTimeOfDay": "01:00"}]}
    response = client.post("/api/v1/connections/streams/update", json=alone)
    assert response.status_code == 422 and response.json()["validationErrors"][0]["propertyPath"] == "$.streams[0].syncTimeOfDay"
