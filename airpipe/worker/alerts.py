"""Alert rules, applied: an alert fires when its rule's condition holds for a connection and
resolves by itself when it no longer does (or by hand). Each change goes on the timeline and to
the notification channels that want ``alert_fired`` or ``alert_resolved``.

- ``consecutive_failures`` (threshold: N): the connection's last N finished syncs all failed;
  resolved by a success.
- ``records_below`` (threshold: records): a successful sync moved fewer records; resolved by
  one that moved enough.
- ``no_success_within`` (threshold: seconds): no successful sync for that long (counted from the
  connection's creation if it never had one), checked at each tick; resolved by a success.

``after_sync`` runs in the transaction that ends a sync, ``check_silences`` in the tick.
"""

from __future__ import annotations

import logging

import peewee

from airpipe.models import RESET, SYNC, Actor, Alert, AlertEvent, AlertRule, Connection, Job, now
from airpipe.worker import notifications

logger = logging.getLogger("airpipe.alerts")

KINDS = ("consecutive_failures", "no_success_within", "records_below")
SEVERITIES = ("info", "warning", "critical")


def after_sync(connection: Connection, succeeded: bool, records: int) -> None:
    """A sync or reset of ``connection`` ended: fire or resolve its rules' alerts."""
    for rule in _rules_of(connection):
        if rule.kind == "consecutive_failures":
            failing = not succeeded and _last_outcomes(connection, rule.threshold) == ["failed"] * rule.threshold
            _set(rule, connection, failing, f"the last {rule.threshold} syncs failed")
        elif rule.kind == "records_below" and succeeded:
            _set(rule, connection, records < rule.threshold, f"a sync moved {records} records, fewer than {rule.threshold}")
        elif rule.kind == "no_success_within" and succeeded:
            _set(rule, connection, False, "")


def check_silences() -> None:
    """The tick's part: fire ``no_success_within`` alerts for connections silent too long."""
    for rule in AlertRule.select().where(AlertRule.kind == "no_success_within"):
        for connection in _connections_of(rule):
            last = (
                Job.select(peewee.fn.MAX(Job.updated_at))
                .where(Job.scope == str(connection.id), Job.config_type.in_((SYNC, RESET)), Job.status == "succeeded")
                .scalar()
            )
            since = last if last is not None else connection.created_at
            _set(rule, connection, now() - since >= rule.threshold, f"no successful sync for {rule.threshold} s")


def resolve_by_hand(alert: Alert) -> None:
    _resolve(alert, "manual", "resolved by hand")


def _rules_of(connection: Connection) -> list[AlertRule]:
    workspace = notifications.workspace_of(connection)
    rules = AlertRule.select().where(
        AlertRule.workspace == workspace, (AlertRule.connection.is_null()) | (AlertRule.connection == connection.id)
    )
    return list(rules)


def _connections_of(rule: AlertRule) -> list[Connection]:
    if rule.connection_id is not None:
        return list(Connection.select().where(Connection.id == rule.connection_id, Connection.status == "active"))
    query = Connection.select().join(Actor, on=Connection.source).where(Actor.workspace == rule.workspace_id, Connection.status == "active")
    return list(query)


def _last_outcomes(connection: Connection, count: int) -> list[str]:
    finished = (
        Job.select(Job.status)
        .where(Job.scope == str(connection.id), Job.config_type.in_((SYNC, RESET)), Job.status.in_(("succeeded", "failed")))
        .order_by(Job.id.desc())
        .limit(count)
    )
    return [job.status for job in finished]


def _set(rule: AlertRule, connection: Connection, holds: bool, message: str) -> None:
    firing = Alert.get_or_none(Alert.rule == rule.id, Alert.connection == connection.id, Alert.status == "firing")
    if holds and firing is None:
        alert = Alert.create(rule=rule.id, connection=connection.id, message=message)
        _record(alert, "fired", message, rule, connection)
    elif not holds and firing is not None:
        _resolve(firing, "condition", "the condition no longer holds")


def _resolve(alert: Alert, by: str, message: str) -> None:
    if Alert.update(status="resolved", resolved_at=now(), resolved_by=by).where(Alert.id == alert.id, Alert.status == "firing").execute():
        rule = AlertRule.get_by_id(alert.rule_id)
        connection = Connection.get_by_id(alert.connection_id)
        _record(alert, "resolved", message, rule, connection)


def _record(alert: Alert, kind: str, message: str, rule: AlertRule, connection: Connection) -> None:
    AlertEvent.create(alert=alert.id, kind=kind, message=message)
    logger.info("alert %s %s: %s (%s) on connection %s", alert.id, kind, rule.name, message, connection.id)
    details = {"alertId": alert.id, "ruleName": rule.name, "severity": rule.severity, "message": message}
    notifications.queue_event(f"alert_{kind}", connection, details)
