"""Streams with schedules of their own, on top of their connection's.

A selected stream whose catalog config has a ``syncFrequency`` runs on it: every period, anchored
at ``syncTimeOfDay`` (UTC) when one is given (6hour at 01:00 runs at 01:00, 07:00, 13:00 and
19:00), else counted from its last run. The connection's schedule then covers its other streams
only. One due sync per connection covers every stream that is due at that tick.

The catalog holds the settings; a ``StreamSchedule`` row per such stream, written in the same
transaction, holds when the scheduler last started it and lets the tick find these connections
without reading every catalog. A stream's window is claimed as a connection's is: by a
conditional UPDATE of its ``last_scheduled_at``, so of several ticking workers one starts it.
"""

from __future__ import annotations

from airpipe.models import Connection, StreamSchedule
from airpipe.schemas.catalog import AirbyteCatalog, AirbyteStreamConfiguration, SyncFrequency

Key = tuple[str, str | None]

DAY = 86400
PERIOD_SECONDS = {
    SyncFrequency.every_5_minutes: 300,
    SyncFrequency.every_30_minutes: 1800,
    SyncFrequency.hourly: 3600,
    SyncFrequency.every_6_hours: 6 * 3600,
    SyncFrequency.every_12_hours: 12 * 3600,
    SyncFrequency.daily: DAY,
    SyncFrequency.weekly: 7 * DAY,
    SyncFrequency.monthly: 30 * DAY,
}


def scheduled_streams(catalog: AirbyteCatalog) -> dict[Key, AirbyteStreamConfiguration]:
    """The selected streams that have a schedule of their own, with their configs."""
    return {
        (item.stream.name, item.stream.namespace): item.config
        for item in catalog.streams
        if item.config.selected is not False and item.config.sync_frequency is not None
    }


def save_rows(connection: Connection, catalog: AirbyteCatalog, *, new: bool = False) -> None:
    """Inside the transaction that saves ``catalog``: a row for each stream with its own schedule
    (one that stays keeps when it last ran), none for the others. ``new``: the connection was just
    created, so it has none yet (no query for them)."""
    wanted = {(name, namespace or "") for name, namespace in scheduled_streams(catalog)}
    if new and not wanted:
        return
    rows = (
        {}
        if new
        else {(r.stream_name, r.stream_namespace): r for r in StreamSchedule.select().where(StreamSchedule.connection == connection.id)}
    )
    for key, row in rows.items():
        if key not in wanted:
            row.delete_instance()
    for name, namespace in wanted - set(rows):
        StreamSchedule.create(connection=connection.id, stream_name=name, stream_namespace=namespace)


def next_stream_time(config: AirbyteStreamConfiguration, after: int) -> int:
    """Epoch seconds of the stream's first scheduled run after ``after``."""
    assert config.sync_frequency is not None
    period = PERIOD_SECONDS[config.sync_frequency]
    if config.sync_time_of_day is None:
        return after - after % 60 + period
    hours, minutes, *seconds = (int(part) for part in config.sync_time_of_day.split(":"))
    anchor = after - after % DAY + hours * 3600 + minutes * 60 + (seconds[0] if seconds else 0)
    if anchor > after:  # today's anchor is ahead: the earliest of its steps back that is still ahead
        return anchor - ((anchor - after - 1) // period) * period
    return anchor + ((after - anchor) // period + 1) * period


def claim_due(connection: Connection, scheduled: dict[Key, AirbyteStreamConfiguration], timestamp: int) -> set[Key]:
    """The streams of ``scheduled`` whose time has come, each claimed for this tick."""
    due: set[Key] = set()
    for row in StreamSchedule.select().where(StreamSchedule.connection == connection.id):
        key = (row.stream_name, row.stream_namespace or None)
        config = scheduled.get(key)
        last = row.last_scheduled_at
        if config is None or next_stream_time(config, connection.created_at if last is None else last) > timestamp:
            continue
        previous = StreamSchedule.last_scheduled_at.is_null() if last is None else StreamSchedule.last_scheduled_at == last
        if StreamSchedule.update(last_scheduled_at=timestamp).where(StreamSchedule.id == row.id, previous).execute():
            due.add(key)
    return due


def connections_with_rows() -> set[str]:
    """The ids of the connections that have streams with schedules of their own (one query)."""
    return {str(row.connection_id) for row in StreamSchedule.select(StreamSchedule.connection).distinct()}
