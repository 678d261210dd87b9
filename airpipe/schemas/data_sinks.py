"""Data sinks: labelled key/value stores of a workspace (``SNK-1``, ``SNK-2``...), and their entries,
each a JSON value of a declared type under a key unique in its sink."""

from __future__ import annotations

import enum
import uuid
from typing import Annotated, Any

import msgspec

from airpipe.schemas.base import Base, Name
from airpipe.schemas.lists import ListRequestBody

#: a description: a paragraph, not a document
Description = Annotated[str, msgspec.Meta(max_length=4096)]
#: an entry's key: a stream's primary key joined with ":" fits in it
Key = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
#: the most entries one upsert takes (one transaction)
MAX_BATCH = 10_000


class DataSinkEntryType(enum.Enum):
    """What an entry's value must be: any JSON, a string, a number (not a boolean), or a boolean."""

    json = "json"
    string = "string"
    number = "number"
    boolean = "boolean"


# SINKS


class DataSinkEntryWrite(Base, kw_only=True):
    """One entry as a client writes it."""

    key: Key
    value: Any = None
    data_type: DataSinkEntryType


class DataSinkCreate(Base, kw_only=True):
    #: chosen by the client when it must know the id before creation (409 if taken); default a new uuid
    data_sink_id: uuid.UUID | None = None
    workspace_id: uuid.UUID
    label: Name
    description: Description | None = None
    tags: list[Name] = msgspec.field(default_factory=list)
    #: whatever the client draws the sink with, e.g. {"source": "DevIcon", "name": "python"}
    icon: dict[str, Any] | None = None
    #: entries to create with the sink (keys must differ)
    entries: Annotated[list[DataSinkEntryWrite], msgspec.Meta(max_length=MAX_BATCH)] | None = None


class DataSinkUpdate(Base, kw_only=True):
    """A field left out (or null) is left as it is."""

    data_sink_id: uuid.UUID
    label: Name | None = None
    description: Description | None = None
    tags: list[Name] | None = None
    icon: dict[str, Any] | None = None


class DataSinkIdRequestBody(Base):
    data_sink_id: uuid.UUID


class DataSinkGetRequestBody(Base, kw_only=True):
    data_sink_id: uuid.UUID
    include_entries: bool = False


class DataSinkListRequestBody(ListRequestBody, kw_only=True):
    """``nameContains`` and ``orderBy: name`` look at the label."""

    workspace_id: uuid.UUID
    include_entries: bool = False


class DataSinkEntryRead(Base, kw_only=True):
    data_sink_id: uuid.UUID
    entry_id: uuid.UUID
    key: str
    value: Any
    data_type: DataSinkEntryType
    created_at: int
    updated_at: int


class DataSinkRead(Base, kw_only=True):
    data_sink_id: uuid.UUID
    workspace_id: uuid.UUID
    serial: int
    #: "SNK-<serial>"
    visible_id: str
    label: str
    description: str | None = None
    tags: list[str]
    icon: dict[str, Any] | None = None
    #: only when asked for with includeEntries, ordered by key
    entries: list[DataSinkEntryRead] | None = None
    created_at: int
    updated_at: int


class DataSinkReadList(Base):
    data_sinks: list[DataSinkRead]


# ENTRIES


class DataSinkEntryCreate(DataSinkEntryWrite, kw_only=True):
    data_sink_id: uuid.UUID


class DataSinkEntryKeyRequestBody(Base, kw_only=True):
    data_sink_id: uuid.UUID
    key: Key


class DataSinkEntryUpdate(Base, kw_only=True):
    data_sink_id: uuid.UUID
    key: Key
    value: Any = None
    #: default: the entry's type stays, and the value must be of it
    data_type: DataSinkEntryType | None = None


class DataSinkEntryUpsert(Base, kw_only=True):
    """One entry (``key``, ``value``, ``dataType``) or many (``entries``), not both: each is created,
    or replaces the entry of its key. Many are written in one transaction; of one key given twice
    the last wins."""

    data_sink_id: uuid.UUID
    key: Key | None = None
    value: Any = None
    data_type: DataSinkEntryType | None = None
    entries: Annotated[list[DataSinkEntryWrite], msgspec.Meta(max_length=MAX_BATCH)] | None = None


class DataSinkEntryReadList(Base):
    entries: list[DataSinkEntryRead]
