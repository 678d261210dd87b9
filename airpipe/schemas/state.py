from __future__ import annotations

import uuid
from typing import Any

from airpipe.schemas.base import Base, ConnectionStateType
from airpipe.schemas.catalog import StreamDescriptor


class StreamState(Base):
    stream_descriptor: StreamDescriptor
    stream_state: Any = None


class GlobalState(Base, kw_only=True):
    shared_state: Any = None
    stream_states: list[StreamState]


class ConnectionState(Base):
    connection_id: uuid.UUID
    state_type: ConnectionStateType
    state: Any = None
    stream_state: list[StreamState] | None = None
    global_state: GlobalState | None = None
