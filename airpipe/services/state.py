from __future__ import annotations

import msgspec

from airpipe.models import ConnectionState as StoredState
from airpipe.models import by_id
from airpipe.schemas.base import ConnectionStateType
from airpipe.schemas.connections import ConnectionIdRequestBody
from airpipe.schemas.state import ConnectionState
from airpipe.services.connections import get_connection_model


def get_state(request: ConnectionIdRequestBody) -> ConnectionState:
    connection = get_connection_model(request.connection_id)
    stored = by_id(StoredState, connection.id)
    if stored is None:
        return ConnectionState(connection_id=connection.id, state_type=ConnectionStateType.not_set)
    if stored.state_type == "stream":
        return msgspec.convert({"connectionId": str(connection.id), "stateType": "stream", "streamState": stored.state}, ConnectionState)
    if stored.state_type == "global":
        return msgspec.convert({"connectionId": str(connection.id), "stateType": "global", "globalState": stored.state}, ConnectionState)
    return ConnectionState(connection_id=connection.id, state_type=ConnectionStateType.legacy, state=stored.state)
