"""What a job carries to the worker: typed, built by the services, decoded once by the runner.

A job's config is snapshotted into its row when the job is created (encrypted: it holds the
connectors' configurations) and read back by whichever worker runs it, possibly after an
upgrade. So these Structs keep the keys that job rows have always held; a field added later
needs a default, for rows written before it existed.

They live in the worker layer, the lowest that uses them: the services build them, the runner
decodes them (ARCHITECTURE: the worker imports no services).
"""

from __future__ import annotations

from typing import Any

import msgspec


class BadJobConfig(Exception):
    """A stored job config that does not decode: the job fails, saying why, and the worker goes on."""


class Image(msgspec.Struct, frozen=True):
    """A connector, as its definition names it."""

    repository: str
    tag: str


class ConnectorJob(msgspec.Struct, kw_only=True):
    """A get_spec, check_connection_* or discover_schema job: one connector run once."""

    image: Image
    config: dict[str, Any] | None = None  # get_spec takes none
    #: the config's secret values, scrubbed from the job's log lines
    secrets: list[str] = []


class Endpoint(msgspec.Struct, kw_only=True):
    """One side of a sync: the connector and its configuration."""

    image: Image
    config: dict[str, Any]


class SyncStream(msgspec.Struct, kw_only=True):
    """A selected stream: a protocol ConfiguredAirbyteStream, and the name and namespace it has in
    the destination (a prefix, an alias or a namespace rule may change them)."""

    stream: dict[str, Any]  # the AirbyteStream, passed to the connectors as it is
    sync_mode: str
    destination_sync_mode: str
    destination_name: str
    destination_namespace: str | None = None
    cursor_field: list[str] = []
    primary_key: list[list[str]] = []

    @property
    def key(self) -> tuple[str, str | None]:
        """(name, namespace) as the source's records name the stream."""
        return self.stream["name"], self.stream.get("namespace")

    @property
    def destination_key(self) -> tuple[str, str | None]:
        return self.destination_name, self.destination_namespace

    def for_source(self) -> dict[str, Any]:
        """The ConfiguredAirbyteStream the source is given."""
        return {
            "stream": self.stream,
            "sync_mode": self.sync_mode,
            "cursor_field": self.cursor_field,
            "destination_sync_mode": self.destination_sync_mode,
            "primary_key": self.primary_key,
        }

    def for_destination(self) -> dict[str, Any]:
        """The ConfiguredAirbyteStream the destination is given: named as it is there."""
        renamed = {**self.stream, "name": self.destination_name, "namespace": self.destination_namespace}
        return {**self.for_source(), "stream": renamed}


class SyncJob(msgspec.Struct, kw_only=True):
    """A sync or reset_connection job: the connection's two sides and its selected streams."""

    connection_id: str
    source: Endpoint
    destination: Endpoint
    streams: list[SyncStream]
    #: both configs' secret values, scrubbed from the job's log lines
    secrets: list[str] = []
    #: the streams are some of the connection's (connections/streams/...): a reset forgets only
    #: their state, and the others' data and state are left as they are
    partial: bool = False
    #: read from the start, without the stored state (a resync)
    fresh: bool = False


class SampleJob(msgspec.Struct, kw_only=True):
    """A read_sample job: up to ``limit`` records of one stream of a source, within ``seconds``,
    handed back to the caller and never stored."""

    image: Image
    config: dict[str, Any]
    stream: dict[str, Any]  # the AirbyteStream, as the source's catalog has it
    limit: int
    seconds: float
    secrets: list[str] = []


#: the config Struct of each job config type
CONFIGS: dict[str, type[ConnectorJob] | type[SyncJob] | type[SampleJob]] = {
    "get_spec": ConnectorJob,
    "check_connection_source": ConnectorJob,
    "check_connection_destination": ConnectorJob,
    "discover_schema": ConnectorJob,
    "sync": SyncJob,
    "reset_connection": SyncJob,
    "read_sample": SampleJob,
}


def decode(config_type: str, stored: Any) -> ConnectorJob | SyncJob | SampleJob:
    """The config of a job of ``config_type``, from what its row holds; BadJobConfig if it does
    not fit (the message names the field: ``Expected `str`, got `int` - at `$.source.image.tag```)."""
    kind = CONFIGS.get(config_type)
    if kind is None:
        raise BadJobConfig(f"unknown job config type {config_type!r}")
    try:
        return msgspec.convert(stored, kind)
    except msgspec.ValidationError as exc:
        raise BadJobConfig(f"the {config_type} job's stored config does not fit: {exc}") from None


def stored(config: ConnectorJob | SyncJob | SampleJob) -> dict[str, Any]:
    """What the job row holds: plain JSON values, with the keys job rows have always had."""
    result: dict[str, Any] = msgspec.to_builtins(config)
    for flag in _LATER_FLAGS:
        if result.get(flag) is False:
            del result[flag]
    return result


#: flags added later, stored only when set: a row without one reads as False, and a job's row
#: keeps the keys job rows have always had
_LATER_FLAGS = ("partial", "fresh")
