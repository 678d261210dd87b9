"""services/catalogs.py: one stored catalog, two views (the seed's syncSchema, Airbyte's later
syncCatalog), the discovered catalog, and what the connectors are given."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from airpipe.errors import InvalidInput
from airpipe.schemas.catalog import AirbyteCatalog, SourceSchema
from airpipe.services import catalogs


def schema(*streams: dict[str, Any]) -> SourceSchema:
    return msgspec.convert({"streams": list(streams)}, SourceSchema)


def catalog(*streams: dict[str, Any]) -> AirbyteCatalog:
    return msgspec.convert({"streams": list(streams)}, AirbyteCatalog)


def wire(value: Any) -> Any:
    return msgspec.to_builtins(value)


USERS_SCHEMA = {
    "name": "users",
    "cleanedName": "users",
    "fields": [
        {"name": "id", "cleanedName": "id", "dataType": "number", "selected": True},
        {"name": "email", "cleanedName": "email", "dataType": "string", "selected": True},
        {"name": "active", "cleanedName": "active", "dataType": "boolean", "selected": True},
        {"name": "tags", "cleanedName": "tags", "dataType": "array", "selected": True},
        {"name": "meta", "cleanedName": "meta", "dataType": "object", "selected": True},
    ],
    "supportedSyncModes": ["full_refresh", "incremental"],
    "sourceDefinedCursor": True,
    "defaultCursorField": ["updated_at"],
    "selected": True,
    "syncMode": "incremental",
    "cursorField": ["updated_at"],
}


# THE SEED'S VIEW AND BACK


def test_sync_schema_round_trips_through_the_stored_catalog() -> None:
    products = {**USERS_SCHEMA, "name": "products", "cleanedName": "products", "selected": False, "syncMode": "full_refresh"}
    original = schema(USERS_SCHEMA, products)
    assert wire(catalogs.to_source_schema(catalogs.from_source_schema(original))) == wire(original)


def test_from_source_schema_chooses_the_destination_mode_from_the_sync_mode() -> None:
    stored = catalogs.from_source_schema(schema(USERS_SCHEMA, {**USERS_SCHEMA, "name": "b", "syncMode": None}))
    users, b = wire(stored)["streams"]
    assert users["config"] == {
        "syncMode": "incremental",
        "cursorField": ["updated_at"],
        "destinationSyncMode": "append",
        "aliasName": "users",
        "selected": True,
    }
    assert b["config"]["syncMode"] == "full_refresh"  # neither the stream nor a default says otherwise
    assert b["config"]["destinationSyncMode"] == "overwrite"
    assert users["stream"]["jsonSchema"]["properties"]["id"] == {"type": "number"}


def test_from_source_schema_uses_the_connection_default_mode() -> None:
    stored = catalogs.from_source_schema(schema({**USERS_SCHEMA, "syncMode": None}), msgspec.convert("incremental", catalogs.SyncMode))
    assert wire(stored)["streams"][0]["config"]["syncMode"] == "incremental"


def test_sync_catalog_keeps_what_the_seed_view_can_carry() -> None:
    original = catalog(
        {
            "stream": {
                "name": "users",
                "jsonSchema": {
                    "type": "object",
                    "properties": {"id": {"type": "integer"}, "at": {"type": ["null", "string"], "format": "date-time"}},
                },
                "supportedSyncModes": ["full_refresh", "incremental"],
                "sourceDefinedCursor": False,
                "defaultCursorField": ["at"],
            },
            "config": {
                "syncMode": "incremental",
                "cursorField": ["at"],
                "destinationSyncMode": "append",
                "aliasName": "users",
                "selected": True,
            },
        }
    )
    seed_view = catalogs.to_source_schema(original)
    assert [(f.name, f.data_type.value) for f in seed_view.streams[0].fields] == [("id", "number"), ("at", "string")]
    back = wire(catalogs.from_source_schema(seed_view))["streams"][0]
    assert back["config"] == wire(original)["streams"][0]["config"]
    assert back["stream"]["supportedSyncModes"] == ["full_refresh", "incremental"]
    assert back["stream"]["defaultCursorField"] == ["at"]


@pytest.mark.parametrize(
    ("json_type", "data_type"),
    [
        ("integer", "number"),
        ("number", "number"),
        (["null", "boolean"], "boolean"),
        ("date", "string"),
        (None, "string"),
        (["null"], "string"),
    ],
)
def test_json_schema_types_become_seed_data_types(json_type: Any, data_type: str) -> None:
    property_schema = {} if json_type is None else {"type": json_type}
    stored = catalog(
        {
            "stream": {"name": "s", "jsonSchema": {"properties": {"f": property_schema}}},
            "config": {"syncMode": "full_refresh", "destinationSyncMode": "overwrite"},
        }
    )
    assert catalogs.to_source_schema(stored).streams[0].fields[0].data_type.value == data_type


# DISCOVERED CATALOGS


def test_from_discovered_selects_every_stream_for_a_full_refresh() -> None:
    discovered = {
        "streams": [
            {
                "name": "users",
                "json_schema": {"properties": {"id": {"type": "integer"}}},
                "supported_sync_modes": ["full_refresh", "incremental"],
                "source_defined_cursor": True,
                "default_cursor_field": ["updated_at"],
                "source_defined_primary_key": [["id"]],
                "namespace": "public",
            },
            {"name": "bare"},
        ]
    }
    users, bare = wire(catalogs.from_discovered(discovered))["streams"]
    assert users["stream"] == {
        "name": "users",
        "jsonSchema": {"properties": {"id": {"type": "integer"}}},
        "supportedSyncModes": ["full_refresh", "incremental"],
        "sourceDefinedCursor": True,
        "defaultCursorField": ["updated_at"],
        "sourceDefinedPrimaryKey": [["id"]],
        "namespace": "public",
    }
    assert users["config"] == {
        "syncMode": "full_refresh",
        "cursorField": ["updated_at"],
        "destinationSyncMode": "overwrite",
        "primaryKey": [["id"]],
        "aliasName": "users",
        "selected": True,
    }
    assert bare["stream"] == {"name": "bare", "jsonSchema": {}, "supportedSyncModes": ["full_refresh"]}


# WHAT THE CONNECTORS ARE GIVEN


def stream(
    name: str, *, selected: bool = True, namespace: str | None = None, alias: str | None = None, mode: str = "full_refresh"
) -> dict[str, Any]:
    return {
        "stream": {"name": name, "jsonSchema": {}, "supportedSyncModes": ["full_refresh", "incremental"], "namespace": namespace},
        "config": {"syncMode": mode, "destinationSyncMode": "append", "selected": selected, "aliasName": alias, "cursorField": ["c"]},
    }


def test_configured_streams_skip_unselected_streams_and_apply_prefix_and_alias() -> None:
    configured = catalogs.configured_streams(catalog(stream("a", alias="alpha"), stream("b", selected=False), stream("c")), prefix="p_")
    assert [(s.stream["name"], s.destination_name) for s in configured] == [("a", "p_alpha"), ("c", "p_c")]
    assert configured[0].sync_mode == "full_refresh"
    assert configured[0].destination_sync_mode == "append"
    assert configured[0].cursor_field == ["c"]
    assert configured[0].primary_key == []


@pytest.mark.parametrize(
    ("definition", "fmt", "expected"),
    [
        ("source", None, "public"),
        ("destination", None, None),
        ("customformat", "raw_${SOURCE_NAMESPACE}", "raw_public"),
        ("customformat", "", None),
    ],
)
def test_configured_streams_destination_namespace(definition: str, fmt: str | None, expected: str | None) -> None:
    [configured] = catalogs.configured_streams(
        catalog(stream("a", namespace="public")), namespace_definition=definition, namespace_format=fmt
    )
    assert configured.destination_namespace == expected


def test_connection_sync_mode_is_incremental_only_when_every_selected_stream_is() -> None:
    assert catalogs.connection_sync_mode(catalog(stream("a", mode="incremental"), stream("b", mode="incremental"))).value == "incremental"
    assert catalogs.connection_sync_mode(catalog(stream("a", mode="incremental"), stream("b"))).value == "full_refresh"
    assert catalogs.connection_sync_mode(catalog(stream("a", mode="incremental"), stream("b", selected=False))).value == "incremental"
    assert catalogs.connection_sync_mode(catalog()).value == "full_refresh"


# VALIDATION


def test_validate_against_names_each_failing_stream() -> None:
    bad = catalog(
        {
            "stream": {"name": "a", "supportedSyncModes": ["full_refresh"]},
            "config": {"syncMode": "incremental", "destinationSyncMode": "append_dedup", "cursorField": ["c"]},
        },
        {"stream": {"name": "ok"}, "config": {"syncMode": "full_refresh", "destinationSyncMode": "overwrite"}},
        {"stream": {"name": "b"}, "config": {"syncMode": "incremental", "destinationSyncMode": "append"}},
        {
            "stream": {"name": "skipped", "supportedSyncModes": ["full_refresh"]},
            "config": {"syncMode": "incremental", "destinationSyncMode": "append", "selected": False},
        },
    )
    with pytest.raises(InvalidInput) as raised:
        catalogs.validate_against(bad, "syncCatalog")
    assert [(e.path, e.message) for e in raised.value.errors] == [
        ("$.syncCatalog.streams[0].config.syncMode", "stream a does not support incremental"),
        ("$.syncCatalog.streams[0].config.primaryKey", "stream a needs a primary key for append_dedup"),
        ("$.syncCatalog.streams[2].config.cursorField", "stream b needs a cursor field for incremental sync"),
    ]


def test_validate_against_accepts_source_defined_cursors_and_keys() -> None:
    good = catalog(
        {
            "stream": {"name": "a", "sourceDefinedCursor": True, "sourceDefinedPrimaryKey": [["id"]]},
            "config": {"syncMode": "incremental", "destinationSyncMode": "append_dedup"},
        }
    )
    assert catalogs.validate_against(good, "syncCatalog") is None
    # what the connectors are given: the source's cursor and key stand in for the missing config
    [configured] = catalogs.configured_streams(good)
    assert (configured.sync_mode, configured.destination_sync_mode) == ("incremental", "append_dedup")
    assert configured.stream["source_defined_cursor"] is True
    assert configured.cursor_field == []
    assert configured.primary_key == [["id"]]
