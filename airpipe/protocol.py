"""The Airbyte protocol as msgspec Structs: the messages connectors print, one JSON object a line.

Field names on the wire are exactly the protocol's (``airbyte_protocol.yaml``), which mixes
snake_case (``json_schema``, ``stream_state``) with a few camelCase leftovers (``connectionStatus``,
``connectionSpecification``, ``documentationUrl``). Python attributes are always snake_case; where
the two differ the wire name is given with ``msgspec.field(name=...)``.

Depends on msgspec only (layer 1).
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec

__all__ = [
    "AirbyteAnalyticsTraceMessage",
    "AirbyteCatalog",
    "AirbyteConnectionStatus",
    "AirbyteControlConnectorConfigMessage",
    "AirbyteControlMessage",
    "AirbyteErrorTraceMessage",
    "AirbyteEstimateTraceMessage",
    "AirbyteGlobalState",
    "AirbyteLogMessage",
    "AirbyteMessage",
    "AirbyteRecordMessage",
    "AirbyteStateMessage",
    "AirbyteStateStats",
    "AirbyteStateType",
    "AirbyteStream",
    "AirbyteStreamState",
    "AirbyteStreamStatus",
    "AirbyteStreamStatusTraceMessage",
    "AirbyteTraceMessage",
    "ConfiguredAirbyteCatalog",
    "ConfiguredAirbyteStream",
    "ConnectorSpecification",
    "DestinationSyncMode",
    "EstimateType",
    "FailureType",
    "Level",
    "MessageType",
    "OrchestratorType",
    "Status",
    "StreamDescriptor",
    "SyncMode",
    "TraceType",
    "decode_catalog",
    "decode_configured_catalog",
    "decode_message",
    "decode_spec",
    "encode",
    "encode_into",
]


class Base(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Every protocol Struct.

    - Unknown fields are ignored (msgspec's default, kept on purpose): the protocol marks every
      object ``additionalProperties: true`` and connectors built on newer CDKs send fields we have
      never heard of.
    - ``omit_defaults``: an optional field left at None is not written, as connectors expect.
    - ``kw_only``: required and optional fields can be declared in the protocol's order.
    """


# ENUMS


class MessageType(enum.Enum):
    RECORD = "RECORD"
    STATE = "STATE"
    LOG = "LOG"
    SPEC = "SPEC"
    CONNECTION_STATUS = "CONNECTION_STATUS"
    CATALOG = "CATALOG"
    TRACE = "TRACE"
    CONTROL = "CONTROL"


class Level(enum.Enum):
    FATAL = "FATAL"
    ERROR = "ERROR"
    WARN = "WARN"
    INFO = "INFO"
    DEBUG = "DEBUG"
    TRACE = "TRACE"


class Status(enum.Enum):
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


class SyncMode(enum.Enum):
    full_refresh = "full_refresh"
    incremental = "incremental"


class DestinationSyncMode(enum.Enum):
    append = "append"
    overwrite = "overwrite"
    append_dedup = "append_dedup"


class AirbyteStateType(enum.Enum):
    GLOBAL = "GLOBAL"
    STREAM = "STREAM"
    LEGACY = "LEGACY"


class TraceType(enum.Enum):
    ERROR = "ERROR"
    ESTIMATE = "ESTIMATE"
    STREAM_STATUS = "STREAM_STATUS"
    ANALYTICS = "ANALYTICS"


class FailureType(enum.Enum):
    system_error = "system_error"
    config_error = "config_error"
    transient_error = "transient_error"


class EstimateType(enum.Enum):
    STREAM = "STREAM"
    SYNC = "SYNC"


class AirbyteStreamStatus(enum.Enum):
    STARTED = "STARTED"
    RUNNING = "RUNNING"
    COMPLETE = "COMPLETE"
    INCOMPLETE = "INCOMPLETE"


class OrchestratorType(enum.Enum):
    CONNECTOR_CONFIG = "CONNECTOR_CONFIG"


# SPEC, CHECK, DISCOVER


class ConnectorSpecification(Base):
    connection_specification: dict[str, Any] = msgspec.field(name="connectionSpecification")
    documentation_url: str | None = msgspec.field(default=None, name="documentationUrl")
    changelog_url: str | None = msgspec.field(default=None, name="changelogUrl")
    supports_incremental: bool | None = msgspec.field(default=None, name="supportsIncremental")
    supports_normalization: bool | None = msgspec.field(default=None, name="supportsNormalization")
    supports_dbt: bool | None = msgspec.field(default=None, name="supportsDBT")
    supported_destination_sync_modes: list[DestinationSyncMode] | None = None
    advanced_auth: dict[str, Any] | None = None
    protocol_version: str | None = None


class AirbyteConnectionStatus(Base):
    status: Status
    message: str | None = None


class AirbyteStream(Base):
    name: str
    json_schema: dict[str, Any]
    # Required by today's protocol, but connectors written before 2021 leave it out; Airbyte read
    # a missing list as "full refresh only", and so does __post_init__.
    supported_sync_modes: list[SyncMode] = msgspec.field(default_factory=list)
    source_defined_cursor: bool | None = None
    default_cursor_field: list[str] | None = None
    source_defined_primary_key: list[list[str]] | None = None
    namespace: str | None = None
    is_resumable: bool | None = None

    def __post_init__(self) -> None:
        if not self.supported_sync_modes:
            self.supported_sync_modes = [SyncMode.full_refresh]


class AirbyteCatalog(Base):
    streams: list[AirbyteStream]


class ConfiguredAirbyteStream(Base):
    stream: AirbyteStream
    sync_mode: SyncMode = SyncMode.full_refresh
    cursor_field: list[str] | None = None
    destination_sync_mode: DestinationSyncMode = DestinationSyncMode.append
    primary_key: list[list[str]] | None = None
    generation_id: int | None = None
    minimum_generation_id: int | None = None
    sync_id: int | None = None


class ConfiguredAirbyteCatalog(Base):
    streams: list[ConfiguredAirbyteStream]


# READ AND WRITE


class AirbyteRecordMessage(Base):
    stream: str
    data: dict[str, Any]
    #: epoch milliseconds
    emitted_at: int
    namespace: str | None = None
    meta: dict[str, Any] | None = None


class StreamDescriptor(Base):
    name: str
    namespace: str | None = None


class AirbyteStreamState(Base):
    stream_descriptor: StreamDescriptor
    stream_state: dict[str, Any] | None = None


class AirbyteGlobalState(Base):
    stream_states: list[AirbyteStreamState]
    shared_state: dict[str, Any] | None = None


class AirbyteStateStats(Base):
    record_count: float | None = msgspec.field(default=None, name="recordCount")


class AirbyteStateMessage(Base):
    #: None means LEGACY (the protocol's rule for messages from before per-stream state)
    type: AirbyteStateType | None = None
    stream: AirbyteStreamState | None = None
    global_: AirbyteGlobalState | None = msgspec.field(default=None, name="global")
    #: the LEGACY state blob
    data: dict[str, Any] | None = None
    source_stats: AirbyteStateStats | None = msgspec.field(default=None, name="sourceStats")
    destination_stats: AirbyteStateStats | None = msgspec.field(default=None, name="destinationStats")


# LOG, TRACE, CONTROL


class AirbyteLogMessage(Base):
    level: Level
    message: str
    stack_trace: str | None = None


class AirbyteErrorTraceMessage(Base):
    message: str
    internal_message: str | None = None
    stack_trace: str | None = None
    failure_type: FailureType | None = None
    stream_descriptor: StreamDescriptor | None = None


class AirbyteEstimateTraceMessage(Base):
    name: str
    type: EstimateType
    namespace: str | None = None
    row_estimate: int | None = None
    byte_estimate: int | None = None


class AirbyteStreamStatusTraceMessage(Base):
    stream_descriptor: StreamDescriptor
    status: AirbyteStreamStatus
    reasons: list[dict[str, Any]] | None = None


class AirbyteAnalyticsTraceMessage(Base):
    type: str
    value: str | None = None


class AirbyteTraceMessage(Base):
    type: TraceType
    #: epoch milliseconds; a JSON number in the protocol: connectors send ints and floats, kept as sent
    emitted_at: int | float
    error: AirbyteErrorTraceMessage | None = None
    estimate: AirbyteEstimateTraceMessage | None = None
    stream_status: AirbyteStreamStatusTraceMessage | None = None
    analytics: AirbyteAnalyticsTraceMessage | None = None


class AirbyteControlConnectorConfigMessage(Base):
    config: dict[str, Any]


class AirbyteControlMessage(Base):
    type: OrchestratorType
    emitted_at: int | float
    connector_config: AirbyteControlConnectorConfigMessage | None = msgspec.field(default=None, name="connectorConfig")


# THE ENVELOPE


class AirbyteMessage(Base):
    type: MessageType
    log: AirbyteLogMessage | None = None
    spec: ConnectorSpecification | None = None
    connection_status: AirbyteConnectionStatus | None = msgspec.field(default=None, name="connectionStatus")
    catalog: AirbyteCatalog | None = None
    record: AirbyteRecordMessage | None = None
    state: AirbyteStateMessage | None = None
    trace: AirbyteTraceMessage | None = None
    control: AirbyteControlMessage | None = None


# CODECS
# One encoder and one decoder per type, made once (msgspec's "reuse encoders/decoders" advice).

_encoder = msgspec.json.Encoder()

#: any Struct (or plain JSON value) -> compact JSON bytes, no trailing newline
encode = _encoder.encode
#: ``encode_into(obj, buffer, -1)`` appends to a bytearray: the fast path for writing many lines
encode_into = _encoder.encode_into

#: one stdout line (bytes, trailing newline allowed) -> AirbyteMessage; raises msgspec.DecodeError
#: for a line that is not JSON and its subclass msgspec.ValidationError for JSON that is not a message
decode_message = msgspec.json.Decoder(AirbyteMessage).decode
decode_spec = msgspec.json.Decoder(ConnectorSpecification).decode
decode_catalog = msgspec.json.Decoder(AirbyteCatalog).decode
decode_configured_catalog = msgspec.json.Decoder(ConfiguredAirbyteCatalog).decode
