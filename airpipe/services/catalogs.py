"""One stored catalog, two views (CONTRACT.md): the seed's ``syncSchema`` and ``syncCatalog``.

Also turns a connector's discovered catalog into the API's shape, and a connection's catalog
into the configured catalog the connectors are given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from airpipe.schemas.base import DataType, DestinationSyncMode, SyncMode
from airpipe.schemas.catalog import (
    AirbyteCatalog,
    AirbyteStream,
    AirbyteStreamAndConfiguration,
    AirbyteStreamConfiguration,
    SourceSchema,
    SourceSchemaField,
    SourceSchemaStream,
)
from airpipe.worker.job_configs import SyncStream

_DATA_TYPES = {"string": "string", "number": "number", "integer": "number", "boolean": "boolean", "object": "object", "array": "array"}


def from_discovered(discovered: dict[str, Any]) -> AirbyteCatalog:
    """A discovered protocol catalog with every stream selected, full refresh + overwrite where allowed."""
    streams = []
    for raw in discovered.get("streams") or []:
        stream = AirbyteStream(
            name=raw["name"],
            json_schema=raw.get("json_schema") or {},
            supported_sync_modes=[SyncMode(m) for m in raw.get("supported_sync_modes") or ["full_refresh"]],
            source_defined_cursor=raw.get("source_defined_cursor"),
            default_cursor_field=raw.get("default_cursor_field"),
            source_defined_primary_key=raw.get("source_defined_primary_key"),
            namespace=raw.get("namespace"),
        )
        config = AirbyteStreamConfiguration(
            sync_mode=SyncMode.full_refresh,
            cursor_field=stream.default_cursor_field,
            destination_sync_mode=DestinationSyncMode.overwrite,
            primary_key=stream.source_defined_primary_key,
            alias_name=stream.name,
            selected=True,
        )
        streams.append(AirbyteStreamAndConfiguration(stream=stream, config=config))
    return AirbyteCatalog(streams=streams)


def to_source_schema(catalog: AirbyteCatalog) -> SourceSchema:
    return SourceSchema(streams=[_to_schema_stream(item) for item in catalog.streams])


def _to_schema_stream(item: AirbyteStreamAndConfiguration) -> SourceSchemaStream:
    stream, config = item.stream, item.config
    properties = (stream.json_schema or {}).get("properties") or {}
    return SourceSchemaStream(
        name=stream.name,
        cleaned_name=stream.name,
        fields=[
            SourceSchemaField(name=name, cleaned_name=name, data_type=_data_type(schema), selected=True)
            for name, schema in properties.items()
        ],
        supported_sync_modes=stream.supported_sync_modes,
        source_defined_cursor=stream.source_defined_cursor,
        default_cursor_field=stream.default_cursor_field,
        selected=config.selected is not False,
        sync_mode=config.sync_mode,
        cursor_field=config.cursor_field,
    )


def from_source_schema(schema: SourceSchema, default_mode: SyncMode | None = None) -> AirbyteCatalog:
    """The seed's view back to the stored one; a full refresh overwrites, an incremental appends."""
    streams = []
    for s in schema.streams:
        mode = s.sync_mode or default_mode or SyncMode.full_refresh
        stream = AirbyteStream(
            name=s.name,
            json_schema={"type": "object", "properties": {f.name: {"type": f.data_type.value} for f in s.fields}},
            supported_sync_modes=s.supported_sync_modes or [SyncMode.full_refresh],
            source_defined_cursor=s.source_defined_cursor,
            default_cursor_field=s.default_cursor_field,
        )
        config = AirbyteStreamConfiguration(
            sync_mode=mode,
            cursor_field=s.cursor_field or s.default_cursor_field,
            destination_sync_mode=(DestinationSyncMode.append if mode is SyncMode.incremental else DestinationSyncMode.overwrite),
            alias_name=s.name,
            selected=s.selected is not False,
        )
        streams.append(AirbyteStreamAndConfiguration(stream=stream, config=config))
    return AirbyteCatalog(streams=streams)


def connection_sync_mode(catalog: AirbyteCatalog) -> SyncMode:
    """The seed's connection-level syncMode: incremental only when every selected stream is."""
    modes = {item.config.sync_mode for item in catalog.streams if item.config.selected is not False}
    return SyncMode.incremental if modes == {SyncMode.incremental} else SyncMode.full_refresh


def configured_streams(
    catalog: AirbyteCatalog, *, prefix: str = "", namespace_definition: str = "source", namespace_format: str | None = None
) -> list[SyncStream]:
    """The selected streams as the connectors are given them, each with the name and namespace it
    has in the destination."""
    configured = []
    for item in catalog.streams:
        stream, config = item.stream, item.config
        if config.selected is False:
            continue
        configured.append(
            SyncStream(
                stream={
                    "name": stream.name,
                    "json_schema": stream.json_schema or {},
                    "supported_sync_modes": [m.value for m in stream.supported_sync_modes or [SyncMode.full_refresh]],
                    "source_defined_cursor": stream.source_defined_cursor,
                    "default_cursor_field": stream.default_cursor_field,
                    "source_defined_primary_key": stream.source_defined_primary_key,
                    "namespace": stream.namespace,
                },
                sync_mode=config.sync_mode.value,
                cursor_field=config.cursor_field or [],
                destination_sync_mode=config.destination_sync_mode.value,
                primary_key=config.primary_key or stream.source_defined_primary_key or [],
                destination_name=prefix + (config.alias_name or stream.name),
                destination_namespace=_namespace(stream.namespace, namespace_definition, namespace_format),
            )
        )
    return configured


def _namespace(source_namespace: str | None, definition: str, fmt: str | None) -> str | None:
    if definition == "destination":
        return None
    if definition == "customformat":
        return (fmt or "").replace("${SOURCE_NAMESPACE}", source_namespace or "") or None
    return source_namespace


def validate_against(catalog: AirbyteCatalog, field: str, path_of: Callable[[int], str] | None = None) -> None:
    """Cross-field checks msgspec cannot express: modes the stream supports, a cursor and a
    primary key where the mode needs them. An error names ``path_of(i)`` + the setting (default:
    ``$.<field>.streams[i].config``)."""
    from airpipe.errors import FieldError, InvalidInput

    errors = []
    for i, item in enumerate(catalog.streams):
        path = path_of(i) if path_of is not None else f"$.{field}.streams[{i}].config"
        stream, config = item.stream, item.config
        if config.selected is False:
            continue
        if stream.supported_sync_modes and config.sync_mode not in stream.supported_sync_modes:
            errors.append(
                FieldError(
                    f"{path}.syncMode", f"stream {stream.name} does not support {config.sync_mode.value}", config.sync_mode.value
                )
            )
        if config.sync_mode is SyncMode.incremental and not (config.cursor_field or stream.source_defined_cursor):
            errors.append(FieldError(f"{path}.cursorField", f"stream {stream.name} needs a cursor field for incremental sync"))
        if config.destination_sync_mode is DestinationSyncMode.append_dedup and not (
            config.primary_key or stream.source_defined_primary_key
        ):
            errors.append(FieldError(f"{path}.primaryKey", f"stream {stream.name} needs a primary key for append_dedup"))
    if errors:
        raise InvalidInput("; ".join(f"{e.path}: {e.message}" for e in errors), errors)


def _data_type(schema: dict[str, Any]) -> DataType:
    types = schema.get("type", "string")
    if isinstance(types, list):
        types = next((t for t in types if t != "null"), "string")
    return DataType(_DATA_TYPES.get(types, "string"))
