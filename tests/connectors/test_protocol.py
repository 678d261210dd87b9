from __future__ import annotations

import msgspec
import pytest

from airpipe import protocol
from airpipe.protocol import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteRecordMessage,
    AirbyteStateMessage,
    AirbyteStateType,
    ConfiguredAirbyteCatalog,
    DestinationSyncMode,
    FailureType,
    Level,
    MessageType,
    Status,
    SyncMode,
    TraceType,
    decode_message,
    encode,
)

# Lines as connectors print them, each using the protocol's own (mixed-case) field names.
WIRE = [
    b'{"type":"LOG","log":{"level":"WARN","message":"slow API","stack_trace":"at x"}}',
    b'{"type":"SPEC","spec":{"connectionSpecification":{"type":"object"},"documentationUrl":"https://x",'
    b'"changelogUrl":"https://y","supportsIncremental":true,"supportsNormalization":false,"supportsDBT":false,'
    b'"supported_destination_sync_modes":["append","overwrite","append_dedup"],"protocol_version":"0.2.0"}}',
    b'{"type":"CONNECTION_STATUS","connectionStatus":{"status":"FAILED","message":"no route"}}',
    b'{"type":"CATALOG","catalog":{"streams":[{"name":"users","json_schema":{"type":"object"},'
    b'"supported_sync_modes":["full_refresh","incremental"],"source_defined_cursor":true,'
    b'"default_cursor_field":["updated_at"],"source_defined_primary_key":[["id"]],"namespace":"public",'
    b'"is_resumable":true}]}}',
    b'{"type":"RECORD","record":{"stream":"users","data":{"id":1,"nested":{"a":[1,2]}},"emitted_at":1700000000000,"namespace":"public"}}',
    b'{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users","namespace":"public"},'
    b'"stream_state":{"updated_at":"2024-01-01T00:00:01Z"}},"sourceStats":{"recordCount":10.0}}}',
    b'{"type":"STATE","state":{"type":"GLOBAL","global":{"stream_states":[{"stream_descriptor":{"name":"users"},'
    b'"stream_state":{"lsn":5}}],"shared_state":{"cdc":true}}}}',
    b'{"type":"STATE","state":{"type":"LEGACY","data":{"users":{"updated_at":"x"}}}}',
    b'{"type":"TRACE","trace":{"type":"ERROR","emitted_at":1700000000000.5,"error":{"message":"bad password",'
    b'"internal_message":"401","stack_trace":"Traceback","failure_type":"config_error",'
    b'"stream_descriptor":{"name":"users"}}}}',
    b'{"type":"TRACE","trace":{"type":"ESTIMATE","emitted_at":1,"estimate":{"name":"users","type":"STREAM",'
    b'"row_estimate":100,"byte_estimate":1000}}}',
    b'{"type":"TRACE","trace":{"type":"STREAM_STATUS","emitted_at":1,"stream_status":{"stream_descriptor":'
    b'{"name":"users"},"status":"COMPLETE"}}}',
    b'{"type":"CONTROL","control":{"type":"CONNECTOR_CONFIG","emitted_at":1,"connectorConfig":{"config":{"token":"t"}}}}',
]


@pytest.mark.parametrize("line", WIRE, ids=lambda line: line[9:30].decode())
def test_messages_round_trip_with_the_protocols_field_names(line: bytes) -> None:
    assert encode(decode_message(line)) == line


def test_fields_are_snake_case_in_python() -> None:
    spec = decode_message(WIRE[1]).spec
    assert spec is not None
    assert spec.connection_specification == {"type": "object"}
    assert spec.documentation_url == "https://x"
    assert spec.supports_incremental is True
    assert spec.supported_destination_sync_modes == list(DestinationSyncMode)
    state = decode_message(WIRE[6]).state
    assert state is not None and state.global_ is not None
    assert state.global_.shared_state == {"cdc": True}
    trace = decode_message(WIRE[8]).trace
    assert trace is not None and trace.error is not None
    assert trace.type is TraceType.ERROR and trace.error.failure_type is FailureType.config_error


def test_unknown_fields_are_ignored() -> None:
    line = b'{"type":"RECORD","future":1,"record":{"stream":"s","data":{},"emitted_at":1,"meta":{"changes":[]},"x":[1]}}'
    message = decode_message(line)
    assert message.record == AirbyteRecordMessage(stream="s", data={}, emitted_at=1, meta={"changes": []})


def test_optional_fields_are_left_out_when_encoding() -> None:
    message = AirbyteMessage(type=MessageType.RECORD, record=AirbyteRecordMessage(stream="s", data={"a": 1}, emitted_at=5))
    assert encode(message) == b'{"type":"RECORD","record":{"stream":"s","data":{"a":1},"emitted_at":5}}'
    status = AirbyteMessage(type=MessageType.CONNECTION_STATUS, connection_status=AirbyteConnectionStatus(status=Status.SUCCEEDED))
    assert encode(status) == b'{"type":"CONNECTION_STATUS","connectionStatus":{"status":"SUCCEEDED"}}'


def test_a_stream_without_sync_modes_supports_full_refresh() -> None:
    # connectors from before 2021 leave supported_sync_modes out
    message = decode_message(b'{"type":"CATALOG","catalog":{"streams":[{"name":"old","json_schema":{}}]}}')
    assert message.catalog is not None
    assert message.catalog.streams[0].supported_sync_modes == [SyncMode.full_refresh]


def test_a_state_without_type_is_legacy_data() -> None:
    state = decode_message(b'{"type":"STATE","state":{"data":{"cursor":3}}}').state
    assert state == AirbyteStateMessage(data={"cursor": 3})
    assert state.type is None  # the protocol says: read it as LEGACY


def test_configured_catalog_defaults() -> None:
    catalog = protocol.decode_configured_catalog(b'{"streams":[{"stream":{"name":"s","json_schema":{}}}]}')
    stream = catalog.streams[0]
    assert (stream.sync_mode, stream.destination_sync_mode) == (SyncMode.full_refresh, DestinationSyncMode.append)
    assert msgspec.convert({"streams": []}, ConfiguredAirbyteCatalog) == ConfiguredAirbyteCatalog(streams=[])


@pytest.mark.parametrize(
    ("line", "error"),
    [
        (b'{"type":"NOPE"}', "Invalid enum value 'NOPE' - at `$.type`"),
        (b'{"log":{"level":"INFO","message":"m"}}', "Object missing required field `type`"),
        (b'{"type":"LOG","log":{"level":"LOUD","message":"m"}}', "Invalid enum value 'LOUD' - at `$.log.level`"),
        (b'{"type":"RECORD","record":{"stream":"s","data":[],"emitted_at":1}}', "Expected `object`, got `array` - at `$.record.data`"),
    ],
)
def test_invalid_messages_fail_with_a_path(line: bytes, error: str) -> None:
    with pytest.raises(msgspec.ValidationError, match=error.replace("$", r"\$").replace("[", r"\[")):
        decode_message(line)


def test_enums_hold_the_protocol_values() -> None:
    assert [level.value for level in Level] == ["FATAL", "ERROR", "WARN", "INFO", "DEBUG", "TRACE"]
    assert [t.value for t in AirbyteStateType] == ["GLOBAL", "STREAM", "LEGACY"]
    assert [m.value for m in MessageType] == [
        "RECORD", "STATE", "LOG", "SPEC", "CONNECTION_STATUS", "CATALOG", "TRACE", "CONTROL",
    ]  # fmt: skip
