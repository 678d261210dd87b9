"""A schema refresh: discover the source again and merge what it has now into a connection's
catalog. New streams come in unselected, streams the source dropped leave, and every stream
that stays keeps its settings (a sync mode the stream no longer supports falls back to
full_refresh). The diff says what changed, in the shape of Airbyte's CatalogDiff."""

from __future__ import annotations

from typing import Any

import msgspec

from airpipe.schemas.actors import SourceIdRequestBody
from airpipe.schemas.base import ConnectionStatus, SyncMode
from airpipe.schemas.catalog import (
    AirbyteCatalog,
    AirbyteStreamAndConfiguration,
    CatalogDiff,
    FieldTransform,
    FieldTransformType,
    StreamDescriptor,
    StreamTransform,
    StreamTransformType,
)
from airpipe.schemas.connections import ConnectionIdRequestBody, ConnectionUpdate
from airpipe.schemas.streams import RefreshSchemaRead
from airpipe.services import actors, connections

Key = tuple[str, str | None]


def refresh_schema(request: ConnectionIdRequestBody) -> RefreshSchemaRead:
    """Discover afresh, merge into the connection's catalog, save it, and say what changed."""
    connection = connections.live_connection(request.connection_id)
    merged, diff = refreshed_catalog(connection.source_id, msgspec.convert(connection.catalog, AirbyteCatalog))
    update = ConnectionUpdate(connection_id=connection.id, status=ConnectionStatus(connection.status), sync_catalog=merged)
    return RefreshSchemaRead(connection=connections.update_connection(update), catalog_diff=diff)


def refreshed_catalog(source_id: Any, current: AirbyteCatalog) -> tuple[AirbyteCatalog, CatalogDiff]:
    """The source's catalog as discovered now (a discover job; stored for the next create),
    merged into ``current``, and the diff between them. Nothing is saved to the connection."""
    discovered = actors.discover_source_schema(SourceIdRequestBody(source_id=source_id)).catalog
    assert discovered is not None  # a discover always answers with one
    return merge(current, discovered)


def _key(item: AirbyteStreamAndConfiguration) -> Key:
    return item.stream.name, item.stream.namespace


def merge(current: AirbyteCatalog, discovered: AirbyteCatalog) -> tuple[AirbyteCatalog, CatalogDiff]:
    before = {_key(item): item for item in current.streams}
    now = {_key(item) for item in discovered.streams}
    streams, transforms = [], []
    for item in discovered.streams:
        old = before.get(_key(item))
        descriptor = StreamDescriptor(name=item.stream.name, namespace=item.stream.namespace)
        if old is None:
            streams.append(AirbyteStreamAndConfiguration(stream=item.stream, config=msgspec.structs.replace(item.config, selected=False)))
            transforms.append(StreamTransform(transform_type=StreamTransformType.add_stream, stream_descriptor=descriptor))
            continue
        config = old.config
        if item.stream.supported_sync_modes and config.sync_mode not in item.stream.supported_sync_modes:
            config = msgspec.structs.replace(config, sync_mode=SyncMode.full_refresh, cursor_field=None)
        streams.append(AirbyteStreamAndConfiguration(stream=item.stream, config=config))
        fields = _field_changes(old.stream.json_schema or {}, item.stream.json_schema or {})
        if fields:
            transforms.append(
                StreamTransform(transform_type=StreamTransformType.update_stream, stream_descriptor=descriptor, update_stream=fields)
            )
    for key, old in before.items():
        if key not in now:
            descriptor = StreamDescriptor(name=old.stream.name, namespace=old.stream.namespace)
            transforms.append(StreamTransform(transform_type=StreamTransformType.remove_stream, stream_descriptor=descriptor))
    return AirbyteCatalog(streams=streams), CatalogDiff(transforms=transforms)


def _field_changes(old: dict[str, Any], new: dict[str, Any]) -> list[FieldTransform]:
    """Top-level fields added, removed, or whose schema changed."""
    was, now = old.get("properties") or {}, new.get("properties") or {}
    changes = [FieldTransform(transform_type=FieldTransformType.add_field, field_name=[n], new_schema=now[n]) for n in now if n not in was]
    changes += [
        FieldTransform(transform_type=FieldTransformType.remove_field, field_name=[n], old_schema=was[n]) for n in was if n not in now
    ]
    changes += [
        FieldTransform(transform_type=FieldTransformType.update_field_schema, field_name=[n], old_schema=was[n], new_schema=now[n])
        for n in now
        if n in was and was[n] != now[n]
    ]
    return changes
