"""May the current principal run this operation on what its request names? (403 if not.)

An operation needs a level (``read``, ``write`` or ``admin``). A principal whose scope at that
level covers every workspace may; one whose scopes name some workspaces may only when the request
is about one of them: the workspace is found from the request's ids (a workspaceId, or the
source, destination, connection, job, notification channel, alert or data sink it names). A request
about no workspace (definitions, the list of workspaces, API keys) needs a scope for every
workspace, except reading definitions, which any reader may. A list of the public API
(``workspaceIds``) is narrowed instead: to the workspaces it names, all of which must be the
principal's, or else to the principal's own (``narrow_list``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import msgspec

from airpipe.errors import Forbidden
from airpipe.models import Actor, Alert, AlertRule, ChangeRecord, Connection, DataSink, Job, NotificationChannel
from airpipe.principal import Principal

#: resources readable by a key limited to some workspaces: they belong to none
SHARED_READS = (
    "source_definitions",
    "destination_definitions",
    "source_definition_specifications",
    "destination_definition_specifications",
)


def require_level(who: Principal, level: str) -> None:
    """The first check, before the request is even decoded: a scope at ``level`` somewhere."""
    if not who.may(level):
        raise Forbidden(f"{who.name} may not do this: it needs the {level} scope")


def authorize(who: Principal, level: str, resource: str, payload: Any) -> None:
    """The whole check: the level, and the workspace the request is about (a database read)."""
    require_level(who, level)
    allowed = who.workspaces_for(level)
    if allowed is None:
        return
    if level == "read" and resource in SHARED_READS:
        return
    workspace = workspace_of(payload)
    if workspace is None:
        raise Forbidden(f"{who.name} may {level} only in some workspaces, and this request is about none of them")
    if workspace not in allowed:
        raise Forbidden(f"{who.name} may not {level} in workspace {workspace}")


def narrow_list(who: Principal, level: str, query: Any) -> Any:
    """A list's query (one with ``workspace_ids``) as ``who`` may run it: every workspace it names
    must be one ``who`` may act on at ``level`` (403 naming the first that is not, as a request
    about one workspace is refused); naming none, it lists ``who``'s own. A ``connection_id``
    (listJobs) must be in one of them too."""
    require_level(who, level)
    allowed = who.workspaces_for(level)
    if allowed is None:
        return query
    for workspace in query.workspace_ids or ():
        if workspace not in allowed:
            raise Forbidden(f"{who.name} may not {level} in workspace {workspace}")
    connection_id = getattr(query, "connection_id", None)
    if connection_id is not None and _connection(connection_id) not in allowed:
        raise Forbidden(f"{who.name} may not {level} in the workspace of connection {connection_id}")
    if query.workspace_ids:
        return query
    return msgspec.structs.replace(query, workspace_ids=sorted(allowed))


def workspace_of(payload: Any) -> uuid.UUID | None:
    """The workspace the request is about, from the first id it names (None when it names none,
    or an id that does not exist: a limited key is refused rather than told what exists)."""
    if payload is None:
        return None
    for name, resolve in _RESOLVERS:
        value = getattr(payload, name, None)
        if value is not None:
            return resolve(value)
    return None


def _actor(actor_id: uuid.UUID) -> uuid.UUID | None:
    found: uuid.UUID | None = Actor.select(Actor.workspace).where(Actor.id == actor_id).scalar()
    return found


def _connection(connection_id: uuid.UUID) -> uuid.UUID | None:
    source = Connection.select(Connection.source).where(Connection.id == connection_id).scalar()
    return None if source is None else _actor(source)


def _job(job_id: int) -> uuid.UUID | None:
    scope = Job.select(Job.scope).where(Job.id == job_id).scalar()
    if scope is None:
        return None
    try:
        target = uuid.UUID(scope)
    except ValueError:
        return None
    return _connection(target) or _actor(target)


def _channel(channel_id: uuid.UUID) -> uuid.UUID | None:
    found: uuid.UUID | None = NotificationChannel.select(NotificationChannel.workspace).where(NotificationChannel.id == channel_id).scalar()
    return found


def _rule(rule_id: uuid.UUID) -> uuid.UUID | None:
    found: uuid.UUID | None = AlertRule.select(AlertRule.workspace).where(AlertRule.id == rule_id).scalar()
    return found


def _sink(sink_id: uuid.UUID) -> uuid.UUID | None:
    found: uuid.UUID | None = DataSink.select(DataSink.workspace).where(DataSink.id == sink_id).scalar()
    return found


def _change(history_id: int) -> uuid.UUID | None:
    found: uuid.UUID | None = ChangeRecord.select(ChangeRecord.workspace_id).where(ChangeRecord.id == history_id).scalar()
    return found


def _connections(connection_ids: list[uuid.UUID]) -> uuid.UUID | None:
    """The workspace all of them are in (None if they are not all in one)."""
    found = {_connection(connection_id) for connection_id in connection_ids}
    return found.pop() if len(found) == 1 else None


def _alert(alert_id: int) -> uuid.UUID | None:
    rule = Alert.select(Alert.rule).where(Alert.id == alert_id).scalar()
    return None if rule is None else _rule(rule)


#: the fields a request may name its subject by, tried in this order (``id`` is a job's: jobs/get)
_RESOLVERS: list[tuple[str, Callable[[Any], uuid.UUID | None]]] = [
    ("workspace_id", lambda workspace: workspace),
    ("source_id", _actor),
    ("destination_id", _actor),
    ("connection_id", _connection),
    ("job_id", _job),
    ("notification_id", _channel),
    ("rule_id", _rule),
    ("alert_id", _alert),
    ("data_sink_id", _sink),
    ("history_id", _change),
    ("connection_ids", _connections),
    ("id", _job),
]
