"""Connection state: what the destination echoed back is stored; what is stored is what the next
read starts from. Stored in the API's shape (CONTRACT.md `state/get`), given to sources in the
protocol's shape."""

from __future__ import annotations

from typing import Any

from airpipe.models import ConnectionState, now, transaction


def state_input(stored: ConnectionState | None) -> Any:
    """The ``--state`` a source is started with, or None for a first sync."""
    if stored is None:
        return None
    if stored.state_type == "stream":
        return [
            {
                "type": "STREAM",
                "stream": {"stream_descriptor": _descriptor_out(s["streamDescriptor"]), "stream_state": s.get("streamState")},
            }
            for s in stored.state
        ]
    if stored.state_type == "global":
        return [
            {
                "type": "GLOBAL",
                "global": {
                    "shared_state": stored.state.get("sharedState"),
                    "stream_states": [
                        {"stream_descriptor": _descriptor_out(s["streamDescriptor"]), "stream_state": s.get("streamState")}
                        for s in stored.state.get("streamStates") or []
                    ],
                },
            }
        ]
    return stored.state


def save(connection_id: str, messages: list[dict[str, Any]]) -> None:
    """Fold echoed STATE messages (protocol dicts, oldest first) into the connection's state."""
    if not messages:
        return
    with transaction():
        stored = ConnectionState.get_or_none(ConnectionState.connection == connection_id)
        state_type, state = (stored.state_type, stored.state) if stored else (None, None)
        for message in messages:
            state_type, state = _fold(state_type, state, message)
        ConnectionState.insert(connection=connection_id, state_type=state_type, state=state, updated_at=now()).on_conflict(
            conflict_target=[ConnectionState.connection],
            update={ConnectionState.state_type: state_type, ConnectionState.state: state, ConnectionState.updated_at: now()},
        ).execute()


def forget(connection_id: str, streams: list[tuple[str, str | None]]) -> None:
    """Drop the state of ``streams`` (name, namespace) and keep the others'. A stored state that is
    not per stream (global, legacy) cannot be split: it is dropped whole (the services refuse
    partial resets of such connections before they get here)."""
    wanted = [_descriptor_in({"name": name, "namespace": namespace}) for name, namespace in streams]
    with transaction():
        stored = ConnectionState.get_or_none(ConnectionState.connection == connection_id)
        if stored is None:
            return
        kept = [s for s in stored.state if s["streamDescriptor"] not in wanted] if stored.state_type == "stream" else []
        if kept:
            ConnectionState.update(state=kept, updated_at=now()).where(ConnectionState.connection == connection_id).execute()
        else:
            stored.delete_instance()


def streams_with_state(stored: ConnectionState | None) -> set[tuple[str, str | None]] | None:
    """The (name, namespace) of each stream the stored state holds; None: a state that is not per
    stream (legacy), which may hold any of them."""
    if stored is None:
        return set()
    if stored.state_type == "stream":
        entries = stored.state
    elif stored.state_type == "global":
        entries = stored.state.get("streamStates") or []
    else:
        return None
    return {(s["streamDescriptor"]["name"], s["streamDescriptor"].get("namespace")) for s in entries}


def _fold(state_type: str | None, state: Any, message: dict[str, Any]) -> tuple[str, Any]:
    kind = (message.get("type") or "LEGACY").upper()
    if kind == "STREAM" and message.get("stream"):
        stream = message["stream"]
        entry = {"streamDescriptor": _descriptor_in(stream["stream_descriptor"]), "streamState": stream.get("stream_state")}
        streams = [s for s in (state if state_type == "stream" else []) if s["streamDescriptor"] != entry["streamDescriptor"]]
        return "stream", [*streams, entry]
    if kind == "GLOBAL" and message.get("global"):
        glob = message["global"]
        return "global", {
            "sharedState": glob.get("shared_state"),
            "streamStates": [
                {"streamDescriptor": _descriptor_in(s["stream_descriptor"]), "streamState": s.get("stream_state")}
                for s in glob.get("stream_states") or []
            ],
        }
    return "legacy", message.get("data")


def _descriptor_in(descriptor: dict[str, Any]) -> dict[str, Any]:
    out = {"name": descriptor["name"]}
    if descriptor.get("namespace") is not None:
        out["namespace"] = descriptor["namespace"]
    return out


def _descriptor_out(descriptor: dict[str, Any]) -> dict[str, Any]:
    return _descriptor_in(descriptor)
