"""The one base Struct of the API, its enums and the error bodies."""

from __future__ import annotations

import enum
from typing import Annotated, Any

import msgspec

# the API's sync modes are the protocol's: one definition, re-exported for the schemas
from airpipe.protocol import DestinationSyncMode as DestinationSyncMode
from airpipe.protocol import SyncMode as SyncMode


class Base(msgspec.Struct, rename="camel", kw_only=True, omit_defaults=True, gc=False):
    """Every API Struct.

    - ``rename="camel"``: Python stays snake_case while the wire matches the spec's camelCase.
    - ``kw_only``: fields with and without defaults can be declared in any order.
    - ``omit_defaults``: an optional field that is unset (None) is left out of a response, as the
      spec's optional fields are; required fields never have defaults, so they are always sent.
    - Unknown fields are *not* forbidden: clients send fields from newer Airbyte versions.
    """


class JobStatus(enum.Enum):
    pending = "pending"
    running = "running"
    incomplete = "incomplete"
    failed = "failed"
    succeeded = "succeeded"
    cancelled = "cancelled"


class AttemptStatus(enum.Enum):
    running = "running"
    failed = "failed"
    succeeded = "succeeded"


class JobConfigType(enum.Enum):
    check_connection_source = "check_connection_source"
    check_connection_destination = "check_connection_destination"
    discover_schema = "discover_schema"
    get_spec = "get_spec"
    sync = "sync"
    reset_connection = "reset_connection"
    read_sample = "read_sample"  # airpipe's: sources/read_sample (its records are never kept)


class ConnectionStatus(enum.Enum):
    active = "active"
    inactive = "inactive"
    deprecated = "deprecated"


class DataType(enum.Enum):
    string = "string"
    number = "number"
    boolean = "boolean"
    object = "object"
    array = "array"


class TimeUnit(enum.Enum):
    minutes = "minutes"
    hours = "hours"
    days = "days"
    weeks = "weeks"
    months = "months"


class CheckConnectionStatus(enum.Enum):
    succeeded = "succeeded"
    failed = "failed"


class NamespaceDefinitionType(enum.Enum):
    source = "source"
    destination = "destination"
    customformat = "customformat"


class ScheduleType(enum.Enum):
    manual = "manual"
    basic = "basic"
    cron = "cron"


class ConnectionStateType(enum.Enum):
    global_ = "global"
    stream = "stream"
    legacy = "legacy"
    not_set = "not_set"


#: the API's integers are int64 (job ids, counts, timestamps); a larger number is a 422, not an overflow
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]

#: free text a client names things with (names, prefixes, image names): long enough for any real
#: name, short enough that no list or log line carries megabytes of it (422 past it)
Name = Annotated[str, msgspec.Meta(max_length=256)]
#: labels a person files things under; a list filters by them (``tags`` in ListRequestBody)
Tags = Annotated[list[Annotated[str, msgspec.Meta(min_length=1, max_length=64)]], msgspec.Meta(max_length=50)]

#: a link (documentation, icon)
Url = Annotated[str, msgspec.Meta(max_length=2048)]

#: a connector's configuration, validated against its spec by the services, not by msgspec
ConnectorConfig = dict[str, Any]


class Empty(Base):
    """The body of verbs that take no input (an empty body or ``{}``)."""


# ERRORS


class KnownExceptionInfo(Base):
    message: str
    id: str | None = None


class InvalidInputProperty(Base):
    property_path: str
    invalid_value: Any = None
    message: str | None = None


class InvalidInputExceptionInfo(Base):
    message: str
    validation_errors: list[InvalidInputProperty]


class InternalErrorInfo(Base):
    message: str
    request_id: str
