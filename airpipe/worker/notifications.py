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

Webhooks reach public addresses only, unless ``AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS=1``: the host is
resolved at each delivery, every address checked, and the connection made to the checked one
(``connectors/addresses.py``), since a name accepted at create may resolve to a private address
by now. For the same reason redirects are not followed (an answer of 3xx is a failed try), and
no ``HTTP(S)_PROXY`` is used. A channel's URL is a credential: a delivery's error and the log
line about it never contain it (``_scrubbed``).
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import smtplib
import urllib.parse
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from airpipe.connectors import addresses
from airpipe.models import Actor, Connection, NotificationChannel, NotificationDelivery, db, now, transaction
from airpipe.worker.scrubbing import MIN_FRAGMENT, Scrubber

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
#: may webhooks go to loopback, private, link-local... addresses (``AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS``)?
allow_private_urls = False


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
        error = _scrubbed(channel.url, f"{exc.__class__.__name__}: {exc}")
        with transaction():
            NotificationDelivery.update(
                status="failed" if final else "pending",
                last_error=error[:2000],
                next_attempt_at=now() + FIRST_RETRY * 2 ** (tries - 1),
            ).where(NotificationDelivery.id == delivery_id).execute()
        logger.warning("notification %s to %s failed (try %s): %s", delivery_id, channel.name, tries, error)
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
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RuntimeError("the channel's URL is not an http(s) URL with a host")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        address = addresses.vet(parts.hostname, port, allow_private=allow_private_urls)
    except addresses.Refused as exc:
        raise RuntimeError(f"{exc}; set AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS=1 to allow private addresses") from None
    except addresses.Unresolvable as exc:
        raise RuntimeError(str(exc)) from None
    kind = addresses.PinnedHTTPSConnection if parts.scheme == "https" else addresses.PinnedHTTPConnection
    connection = kind(parts.hostname, port, address, TIMEOUT)
    target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
    try:
        connection.request("POST", target, body=body, headers={"Content-Type": "application/json", **headers})
        response = connection.getresponse()
        response.read()
    except (OSError, http.client.HTTPException) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise RuntimeError(f"cannot reach {parts.hostname}: {reason}") from None
    finally:
        connection.close()
    if not 200 <= response.status < 300:
        raise RuntimeError(f"the receiver answered {response.status}")


def _scrubbed(url: str | None, text: str) -> str:
    """``text`` without the channel's URL or its secret parts (userinfo, path, query: where
    services put their tokens), in any spelling; the scheme and host stay, to say where it went."""
    if not url:
        return text
    parts = urllib.parse.urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    rest = url.split(parts.netloc, 1)[-1] if parts.netloc else url  # path, query, fragment
    host = parts.hostname or ""
    # a long path segment on its own too (a token an error might quote), unless the host has it
    segments = [s for s in parts.path.split("/") if len(s) >= MIN_FRAGMENT and s not in host]
    return Scrubber([url, userinfo, parts.query, *([rest] if len(rest) > 1 else []), *segments])(text)


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
