"""Telling people what happened: events written to an outbox, sent by the workers.

``queue_event`` writes one ``NotificationDelivery`` per channel of the connection's workspace that
wants the event, inside the caller's transaction, so an event is never lost nor announced for a
change that was rolled back. ``send_due`` sends what is due: a worker calls it after each job and
at each tick. A delivery that fails is tried again after 10 s, 20 s, 40 s... and fails for good
after ``MAX_TRIES``; every try is in its row (``notifications/deliveries/list``).

A webhook gets the event as JSON with ``X-Airpipe-Signature: t=<epoch>,v1=<hex>``: HMAC-SHA256,
keyed by the channel's secret, of ``"<epoch>." + body``. After a rotation the previous secret
signs too (a second ``v1=``) until its grace period ends, so receivers can switch keys at leisure.
A Slack-compatible webhook gets ``{"text": ...}``; an e-mail channel a message through the SMTP
server of ``AIRPIPE_SMTP_*``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import smtplib
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from airpipe.models import Actor, Connection, NotificationChannel, NotificationDelivery, db, now, transaction

logger = logging.getLogger("airpipe.notifications")

EVENTS = ("sync_succeeded", "sync_failed", "connection_disabled", "alert_fired", "alert_resolved")
MAX_TRIES = 6
FIRST_RETRY = 10
#: a delivery being sent is not due again before this (seconds): time enough for one try
SENDING = 60
TIMEOUT = 10.0


@dataclass
class Smtp:
    """Where e-mail goes (``AIRPIPE_SMTP_HOST``, ``_PORT``, ``_FROM``, ``_USER``, ``_PASSWORD``, ``_STARTTLS``)."""

    host: str | None = None
    port: int = 25
    sender: str = "airpipe@localhost"
    user: str | None = None
    password: str | None = None
    starttls: bool = False


smtp = Smtp()


def queue_event(event: str, connection: Connection, details: dict[str, Any]) -> int:
    """Write the event's deliveries for the connection's workspace (call inside the transaction
    that made the change); returns how many."""
    assert event in EVENTS, event
    workspace = workspace_of(connection)
    payload = {
        "event": event,
        "at": now(),
        "workspaceId": str(workspace),
        "connectionId": str(connection.id),
        "connectionName": connection.name,
        **details,
    }
    channels = [c for c in NotificationChannel.select().where(NotificationChannel.workspace == workspace) if event in c.events]
    for channel in channels:
        NotificationDelivery.create(channel=channel.id, event=event, payload=payload)
    return len(channels)


def workspace_of(connection: Connection) -> uuid.UUID:
    """The workspace a connection belongs to: its source's."""
    workspace: uuid.UUID = Actor.select(Actor.workspace).where(Actor.id == connection.source_id).scalar()
    return workspace


def send_due(limit: int = 100) -> int:
    """Send the deliveries that are due (each taken by one worker only); returns how many were tried."""
    with db.connection_context():
        due = list(
            NotificationDelivery.select(NotificationDelivery.id)
            .where(NotificationDelivery.status == "pending", NotificationDelivery.next_attempt_at <= now())
            .order_by(NotificationDelivery.id)
            .limit(limit)
        )
        tried = 0
        for row in due:
            tried += _try(row.id)
        return tried


def _try(delivery_id: int) -> int:
    Delivery = NotificationDelivery
    with transaction():  # take it: a conditional update only one worker wins
        delivery = Delivery.get_by_id(delivery_id)
        due = (Delivery.id == delivery_id) & (Delivery.status == "pending") & (Delivery.next_attempt_at <= now())
        taken = Delivery.update(next_attempt_at=now() + SENDING, attempts=Delivery.attempts + 1).where(due).execute()
    if not taken:
        return 0
    channel = NotificationChannel.get_by_id(delivery.channel_id)
    try:
        _send(channel, delivery.event, delivery.payload)
    except Exception as exc:  # noqa: BLE001 - whatever went wrong is the delivery's last error
        tries = delivery.attempts + 1
        final = tries >= MAX_TRIES
        with transaction():
            NotificationDelivery.update(
                status="failed" if final else "pending",
                last_error=f"{exc.__class__.__name__}: {exc}"[:2000],
                next_attempt_at=now() + FIRST_RETRY * 2 ** (tries - 1),
            ).where(NotificationDelivery.id == delivery_id).execute()
        logger.warning("notification %s to %s failed (try %s): %s", delivery_id, channel.name, tries, exc)
        return 1
    with transaction():
        Delivery.update(status="delivered", delivered_at=now(), last_error=None).where(Delivery.id == delivery_id).execute()
    return 1


def _send(channel: NotificationChannel, event: str, payload: dict[str, Any]) -> None:
    if channel.kind == "webhook":
        body = json.dumps(payload, sort_keys=True).encode()
        headers = {"X-Airpipe-Event": event, "X-Airpipe-Signature": signature(channel.secret or {}, body, now())}
        _post(channel.url or "", body, headers)
    elif channel.kind == "slack":
        _post(channel.url or "", json.dumps({"text": summary(payload)}).encode(), {})
    elif channel.kind == "email":
        _mail(channel.email or "", payload)
    else:
        raise ValueError(f"unknown channel kind {channel.kind!r}")


def signature(secret: dict[str, Any], body: bytes, timestamp: int) -> str:
    """``t=<epoch>,v1=<hex>`` signed with the current key, and with the previous one during its grace."""
    keys = [secret["current"]]
    if secret.get("previous") and (secret.get("previous_until") or 0) > timestamp:
        keys.append(secret["previous"])
    signed = b"%d." % timestamp + body
    return ",".join([f"t={timestamp}", *(f"v1={hmac.new(key.encode(), signed, hashlib.sha256).hexdigest()}" for key in keys)])


def summary(payload: dict[str, Any]) -> str:
    """One line for people: what happened to which connection."""
    what = {
        "sync_succeeded": "sync succeeded",
        "sync_failed": "sync failed",
        "connection_disabled": "connection disabled",
        "alert_fired": f"{payload.get('severity')} alert {payload.get('ruleName')!r} fired",
        "alert_resolved": f"alert {payload.get('ruleName')!r} resolved",
    }
    line = f"airpipe: {what.get(payload['event'], payload['event'])} for {payload.get('connectionName') or payload['connectionId']}"
    if payload.get("jobId") is not None:
        line += f" (job {payload['jobId']})"
    if payload.get("message"):
        line += f": {payload['message']}"
    return line


def _post(url: str, body: bytes, headers: dict[str, str]) -> None:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 - the URL is the channel's, http(s) only
            response.read()
    except urllib.error.HTTPError as exc:
        raise RuntimeError(f"the receiver answered {exc.code}") from None


def _mail(to: str, payload: dict[str, Any]) -> None:
    if smtp.host is None:
        raise RuntimeError("no SMTP server: set AIRPIPE_SMTP_HOST")
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = smtp.sender, to, summary(payload)
    message.set_content(json.dumps(payload, indent=2, sort_keys=True))
    with smtplib.SMTP(smtp.host, smtp.port, timeout=TIMEOUT) as server:
        if smtp.starttls:
            server.starttls()
        if smtp.user:
            server.login(smtp.user, smtp.password or "")
        server.send_message(message)
