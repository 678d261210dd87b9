"""Alert rules of a workspace, the alerts they fired, resolving one by hand, and the timeline."""

from __future__ import annotations

from airpipe.errors import InvalidInput, NotFound
from airpipe.models import Actor, Alert, AlertEvent, AlertRule, Connection, by_id, transaction
from airpipe.schemas.alerts import (
    AlertEventListRequestBody,
    AlertEventRead,
    AlertEventReadList,
    AlertIdRequestBody,
    AlertKind,
    AlertListRequestBody,
    AlertRead,
    AlertReadList,
    AlertRuleCreate,
    AlertRuleIdRequestBody,
    AlertRuleRead,
    AlertRuleReadList,
    AlertStatus,
    Severity,
)
from airpipe.schemas.workspaces import WorkspaceIdRequestBody
from airpipe.services.converters import stored_as
from airpipe.services.workspaces import get_workspace_model
from airpipe.worker import alerts


def create_rule(request: AlertRuleCreate) -> AlertRuleRead:
    get_workspace_model(request.workspace_id)
    if request.connection_id is not None:
        in_workspace = (
            Connection.select(Connection.id)
            .join(Actor, on=Connection.source)
            .where(Connection.id == request.connection_id, Actor.workspace == request.workspace_id, Connection.status != "deprecated")
            .exists()
        )
        if not in_workspace:
            raise InvalidInput.field("$.connectionId", "is not a connection of this workspace", str(request.connection_id))
    with transaction():
        rule = AlertRule.create(
            workspace=request.workspace_id,
            connection=request.connection_id,
            name=request.name,
            kind=request.kind.value,
            threshold=request.threshold,
            severity=request.severity.value,
        )
    return _rule_read(rule)


def list_rules(request: WorkspaceIdRequestBody) -> AlertRuleReadList:
    get_workspace_model(request.workspace_id)
    rules = AlertRule.select().where(AlertRule.workspace == request.workspace_id).order_by(AlertRule.created_at, AlertRule.name)
    return AlertRuleReadList(rules=[_rule_read(r) for r in rules])


def delete_rule(request: AlertRuleIdRequestBody) -> None:
    with transaction():
        if not AlertRule.delete().where(AlertRule.id == request.rule_id).execute():
            raise NotFound("alert rule", request.rule_id)


def list_alerts(request: AlertListRequestBody) -> AlertReadList:
    """Newest first."""
    get_workspace_model(request.workspace_id)
    query = Alert.select(Alert, AlertRule).join(AlertRule).where(AlertRule.workspace == request.workspace_id)
    if request.statuses:
        query = query.where(Alert.status.in_([s.value for s in request.statuses]))
    return AlertReadList(alerts=[_alert_read(a) for a in query.order_by(Alert.id.desc())])


def resolve_alert(request: AlertIdRequestBody) -> AlertRead:
    """Resolve a firing alert by hand; a resolved one stays as it is."""
    with transaction():
        alert = by_id(Alert, request.alert_id)
        if alert is None:
            raise NotFound("alert", request.alert_id)
        alerts.resolve_by_hand(alert)
    return _alert_read(Alert.select(Alert, AlertRule).join(AlertRule).where(Alert.id == request.alert_id).get())


def list_events(request: AlertEventListRequestBody) -> AlertEventReadList:
    """The workspace's timeline, oldest first, from ``afterId`` on."""
    get_workspace_model(request.workspace_id)
    query = (
        AlertEvent.select(AlertEvent, Alert, AlertRule)
        .join(Alert)
        .join(AlertRule)
        .where(AlertRule.workspace == request.workspace_id)
        .order_by(AlertEvent.id)
        .limit(request.page_size)
    )
    if request.after_id is not None:
        query = query.where(AlertEvent.id > request.after_id)
    events = [
        AlertEventRead(
            id=e.id,
            alert_id=e.alert_id,
            kind=e.kind,
            message=e.message,
            at=e.at,
            rule_name=e.alert.rule.name,
            severity=stored_as(Severity, e.alert.rule.severity),
            connection_id=e.alert.connection_id,
        )
        for e in query
    ]
    return AlertEventReadList(events=events)


def _rule_read(rule: AlertRule) -> AlertRuleRead:
    return AlertRuleRead(
        rule_id=rule.id,
        workspace_id=rule.workspace_id,
        connection_id=rule.connection_id,
        name=rule.name,
        kind=stored_as(AlertKind, rule.kind),
        threshold=rule.threshold,
        severity=stored_as(Severity, rule.severity),
        created_at=rule.created_at,
    )


def _alert_read(alert: Alert) -> AlertRead:
    return AlertRead(
        alert_id=alert.id,
        rule_id=alert.rule_id,
        rule_name=alert.rule.name,
        severity=stored_as(Severity, alert.rule.severity),
        connection_id=alert.connection_id,
        status=stored_as(AlertStatus, alert.status),
        message=alert.message,
        fired_at=alert.fired_at,
        resolved_at=alert.resolved_at,
        resolved_by=alert.resolved_by,
    )
