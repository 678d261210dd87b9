"""Data sinks of a workspace and their entries: create, get, update, delete, list; entries by key,
one at a time or upserted many at once (what ``airpipe/destination-data-sink`` sends).

Every list answers in a constant number of queries: the sinks, then (``includeEntries``) the
entries of all of them at once."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import peewee

from airpipe.errors import Conflict, InvalidInput, NotFound
from airpipe.models import DataSink, DataSinkEntry, by_id, now, transaction
from airpipe.schemas.data_sinks import (
    DataSinkCreate,
    DataSinkEntryCreate,
    DataSinkEntryKeyRequestBody,
    DataSinkEntryRead,
    DataSinkEntryReadList,
    DataSinkEntryType,
    DataSinkEntryUpdate,
    DataSinkEntryUpsert,
    DataSinkEntryWrite,
    DataSinkGetRequestBody,
    DataSinkIdRequestBody,
    DataSinkListRequestBody,
    DataSinkRead,
    DataSinkReadList,
    DataSinkUpdate,
)
from airpipe.services.converters import stored_as
from airpipe.services.paging import paged
from airpipe.services.workspaces import get_workspace_model

#: rows per INSERT of a batch: SQLite allows 32766 parameters a statement
_ROWS_PER_INSERT = 1000
#: tries at a new sink's serial when concurrent creates (PostgreSQL) take the same one
_SERIAL_TRIES = 5

# SINKS


def create_data_sink(request: DataSinkCreate) -> DataSinkRead:
    get_workspace_model(request.workspace_id)
    entries = _checked(request.entries or [], "$.entries")
    keys = [entry.key for entry in entries]
    if len(set(keys)) != len(keys):
        duplicate = next(key for key in keys if keys.count(key) > 1)
        raise InvalidInput.field("$.entries", f"the key {duplicate!r} is given twice", duplicate)
    sink_id = request.data_sink_id or uuid.uuid4()
    for attempt in range(_SERIAL_TRIES):
        try:
            with transaction():
                if by_id(DataSink, sink_id) is not None:
                    raise Conflict(f"a data sink with id {sink_id} exists already")
                last = DataSink.select(peewee.fn.MAX(DataSink.serial)).where(DataSink.workspace == request.workspace_id).scalar()
                sink = DataSink.create(
                    id=sink_id,
                    workspace=request.workspace_id,
                    serial=(last or 0) + 1,
                    label=request.label,
                    description=request.description,
                    tags=list(dict.fromkeys(request.tags)),
                    icon=request.icon,
                )
                _insert_entries(sink.id, entries)
            break
        except peewee.IntegrityError:  # another create took the id or the serial meanwhile
            if by_id(DataSink, sink_id) is not None:
                raise Conflict(f"a data sink with id {sink_id} exists already") from None
            if attempt == _SERIAL_TRIES - 1:
                raise
    return _read(sink, _entries_of([sink.id]).get(sink.id, []) if entries else None)


def get_data_sink(request: DataSinkGetRequestBody) -> DataSinkRead:
    sink = _sink(request.data_sink_id)
    return _read(sink, _entries_of([sink.id]).get(sink.id, []) if request.include_entries else None)


def update_data_sink(request: DataSinkUpdate) -> DataSinkRead:
    with transaction():
        sink = _sink(request.data_sink_id)
        if request.label is not None:
            sink.label = request.label
        if request.description is not None:
            sink.description = request.description
        if request.tags is not None:
            sink.tags = list(dict.fromkeys(request.tags))
        if request.icon is not None:
            sink.icon = request.icon
        sink.updated_at = now()
        sink.save()
    return _read(sink)


def delete_data_sink(request: DataSinkIdRequestBody) -> None:
    with transaction():
        sink = _sink(request.data_sink_id)
        DataSinkEntry.delete().where(DataSinkEntry.sink == sink.id).execute()
        sink.delete_instance()


def list_data_sinks(request: DataSinkListRequestBody) -> DataSinkReadList:
    get_workspace_model(request.workspace_id)
    query = DataSink.select().where(DataSink.workspace == request.workspace_id)
    order = (DataSink.serial,)
    sinks = list(paged(query, request, name=DataSink.label, created_at=DataSink.created_at, default_order=order, tags=DataSink.tags))
    entries = _entries_of([sink.id for sink in sinks]) if request.include_entries and sinks else None
    return DataSinkReadList(data_sinks=[_read(sink, None if entries is None else entries.get(sink.id, [])) for sink in sinks])


# ENTRIES


def create_entry(request: DataSinkEntryCreate) -> DataSinkEntryRead:
    _check_value(request.value, request.data_type, "$.value")
    try:
        with transaction():
            sink = _sink(request.data_sink_id)
            if _entry_or_none(sink.id, request.key) is not None:
                raise Conflict(f"the data sink {sink.id} has an entry with key {request.key!r} already")
            entry = DataSinkEntry.create(sink=sink.id, key=request.key, value=request.value, data_type=request.data_type.value)
    except peewee.IntegrityError:  # created meanwhile
        raise Conflict(f"the data sink {request.data_sink_id} has an entry with key {request.key!r} already") from None
    return _entry_read(entry)


def get_entry(request: DataSinkEntryKeyRequestBody) -> DataSinkEntryRead:
    return _entry_read(_entry(_sink(request.data_sink_id).id, request.key))


def update_entry(request: DataSinkEntryUpdate) -> DataSinkEntryRead:
    with transaction():
        entry = _entry(_sink(request.data_sink_id).id, request.key)
        data_type = request.data_type or DataSinkEntryType(entry.data_type)
        _check_value(request.value, data_type, "$.value")
        entry.value, entry.data_type, entry.updated_at = request.value, data_type.value, now()
        entry.save()
    return _entry_read(entry)


def delete_entry(request: DataSinkEntryKeyRequestBody) -> None:
    with transaction():
        entry = _entry(_sink(request.data_sink_id).id, request.key)
        entry.delete_instance()


def upsert_entries(request: DataSinkEntryUpsert) -> DataSinkEntryReadList:
    """Create or replace one entry or many, in one transaction; answers them in the order given."""
    _sink(request.data_sink_id)  # an unknown sink is 404 whatever the body holds
    if request.entries is not None:
        if request.key is not None:
            raise InvalidInput.field("$.key", "give either one entry (key, value, dataType) or entries, not both", request.key)
        entries = _checked(request.entries, "$.entries")
    elif request.key is None:
        raise InvalidInput.field("$.key", "is required (or entries)")
    elif request.data_type is None:
        raise InvalidInput.field("$.dataType", "is required with key")
    else:
        entries = _checked([DataSinkEntryWrite(key=request.key, value=request.value, data_type=request.data_type)], "$", single=True)
    latest = {entry.key: entry for entry in entries}  # a key given twice: the last one wins
    with transaction():
        sink = _sink(request.data_sink_id)
        if latest:
            stamp = now()
            rows = [
                {"sink": sink.id, "key": e.key, "value": e.value, "data_type": e.data_type.value, "created_at": stamp, "updated_at": stamp}
                for e in latest.values()
            ]
            for chunk in _chunks(rows, _ROWS_PER_INSERT):
                DataSinkEntry.insert_many(chunk).on_conflict(
                    conflict_target=[DataSinkEntry.sink, DataSinkEntry.key],
                    preserve=[DataSinkEntry.value, DataSinkEntry.data_type, DataSinkEntry.updated_at],
                ).execute()
        written = {entry.key: entry for entry in _entries_by_key(sink.id, list(latest))}
    return DataSinkEntryReadList(entries=[_entry_read(written[key]) for key in latest])


# HELPERS


def _sink(sink_id: uuid.UUID) -> DataSink:
    sink = by_id(DataSink, sink_id)
    if sink is None:
        raise NotFound("data sink", sink_id)
    return sink


def _entry_or_none(sink_id: uuid.UUID, key: str) -> DataSinkEntry | None:
    return DataSinkEntry.get_or_none((DataSinkEntry.sink == sink_id) & (DataSinkEntry.key == key))


def _entry(sink_id: uuid.UUID, key: str) -> DataSinkEntry:
    entry = _entry_or_none(sink_id, key)
    if entry is None:
        raise NotFound("data sink entry", f"{sink_id}/{key}")
    return entry


def _entries_by_key(sink_id: uuid.UUID, keys: Sequence[str]) -> list[DataSinkEntry]:
    found: list[DataSinkEntry] = []
    for chunk in _chunks(keys, _ROWS_PER_INSERT):
        found.extend(DataSinkEntry.select().where((DataSinkEntry.sink == sink_id) & DataSinkEntry.key.in_(list(chunk))))
    return found


def _entries_of(sink_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[DataSinkEntry]]:
    """The entries of these sinks, by sink, each ordered by key: one query."""
    by_sink: dict[uuid.UUID, list[DataSinkEntry]] = {}
    query = DataSinkEntry.select().where(DataSinkEntry.sink.in_(sink_ids)).order_by(DataSinkEntry.sink, DataSinkEntry.key)
    for entry in query:
        by_sink.setdefault(entry.sink_id, []).append(entry)
    return by_sink


def _insert_entries(sink_id: uuid.UUID, entries: list[DataSinkEntryWrite]) -> None:
    stamp = now()
    rows = [
        {"sink": sink_id, "key": e.key, "value": e.value, "data_type": e.data_type.value, "created_at": stamp, "updated_at": stamp}
        for e in entries
    ]
    for chunk in _chunks(rows, _ROWS_PER_INSERT):
        DataSinkEntry.insert_many(chunk).execute()


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    return (items[i : i + size] for i in range(0, len(items), size))


def _checked(entries: list[DataSinkEntryWrite], path: str, *, single: bool = False) -> list[DataSinkEntryWrite]:
    for i, entry in enumerate(entries):
        _check_value(entry.value, entry.data_type, f"{path}.value" if single else f"{path}[{i}].value")
    return entries


#: what each type takes (json: anything), and how an error names it
_CHECKS: dict[DataSinkEntryType, tuple[Callable[[Any], bool], str]] = {
    DataSinkEntryType.string: (lambda v: isinstance(v, str), "a string"),
    DataSinkEntryType.number: (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    DataSinkEntryType.boolean: (lambda v: isinstance(v, bool), "true or false"),
}


def _check_value(value: Any, data_type: DataSinkEntryType, path: str) -> None:
    """InvalidInput naming ``path`` when ``value`` is not of ``data_type`` (json takes anything)."""
    check = _CHECKS.get(data_type)
    if check is not None and not check[0](value):
        raise InvalidInput.field(path, f"must be {check[1]} (dataType {data_type.value}), got {_json_type(value)}", value)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    return "an array" if isinstance(value, list) else "an object"


def _read(sink: DataSink, entries: list[DataSinkEntry] | None = None) -> DataSinkRead:
    return DataSinkRead(
        data_sink_id=sink.id,
        workspace_id=sink.workspace_id,
        serial=sink.serial,
        visible_id=f"SNK-{sink.serial}",
        label=sink.label,
        description=sink.description,
        tags=list(sink.tags),
        icon=sink.icon,
        entries=None if entries is None else [_entry_read(e) for e in entries],
        created_at=sink.created_at,
        updated_at=sink.updated_at,
    )


def _entry_read(entry: DataSinkEntry) -> DataSinkEntryRead:
    return DataSinkEntryRead(
        data_sink_id=entry.sink_id,
        entry_id=entry.id,
        key=entry.key,
        value=entry.value,
        data_type=stored_as(DataSinkEntryType, entry.data_type),
        created_at=entry.created_at,
        updated_at=entry.updated_at,
    )
