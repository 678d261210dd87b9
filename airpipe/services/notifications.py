"""Notification channels of a workspace: create, list, get, delete, rotate a webhook's secret,
and the log of what was delivered to each (worker/notifications.py sends the deliveries).

A webhook's URL is a credential (a Slack incoming webhook posts for whoever has it): it is stored
encrypted and reads show it through ``secrets.mask_url``. It must name a public address unless
the deployment allows private ones (``AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS``): checked here, to
answer at once, and again by the worker at each delivery, since a name may resolve elsewhere by
then. A name that does not resolve yet is accepted here; its deliveries fail until it does.
"""

from __future__ import annotations

import secrets
import urllib.parse
import uuid
from typing import Any

from airpipe.connectors import addresses
from airpipe.errors import InvalidInput, NotFound
from airpipe.models import NotificationChannel, NotificationDelivery, now, transaction
from airpipe.schemas.notifications import (
    DeliveryListRequestBody,
    DeliveryRead,
    DeliveryReadList,
    NotificationCreate,
    NotificationEvent,
    NotificationIdRequestBody,
    NotificationRead,
    NotificationReadList,
    NotificationRotateSecret,
    NotificationType,
)
from airpipe.schemas.workspaces import WorkspaceIdRequestBody
from airpipe.services import options
from airpipe.services.converters import stored_as
from airpipe.services.secrets import mask_url
from airpipe.services.workspaces import get_workspace_model


def create_notification(request: NotificationCreate) -> NotificationRead:
    get_workspace_model(request.workspace_id)
    _require_target(request)
    key = _new_key() if request.type is NotificationType.webhook else None
    events = request.events or list(NotificationEvent)
    with transaction():
        channel = NotificationChannel.create(
            workspace=request.workspace_id,
            name=request.name,
            kind=request.type.value,
            url=request.url,
            email=request.email,
            events=[e.value for e in dict.fromkeys(events)],
            secret={"current": key} if key else None,
        )
    return _read(channel, shown_secret=key)


def list_notifications(request: WorkspaceIdRequestBody) -> NotificationReadList:
    get_workspace_model(request.workspace_id)
    channels = NotificationChannel.select().where(NotificationChannel.workspace == request.workspace_id)
    channels = channels.order_by(NotificationChannel.created_at, NotificationChannel.name)
    return NotificationReadList(notifications=[_read(c) for c in channels])


def get_notification(request: NotificationIdRequestBody) -> NotificationRead:
    return _read(_channel(request.notification_id))


def delete_notification(request: NotificationIdRequestBody) -> None:
    with transaction():
        channel = _channel(request.notification_id)
        NotificationDelivery.delete().where(NotificationDelivery.channel == channel.id).execute()
        channel.delete_instance()


def rotate_secret(request: NotificationRotateSecret) -> NotificationRead:
    """A new signing secret; the old one keeps signing beside it for ``graceSeconds``."""
    with transaction():
        channel = _channel(request.notification_id)
        if channel.kind != NotificationType.webhook.value:
            raise InvalidInput.field("$.notificationId", f"is a {channel.kind} channel: only webhooks are signed")
        key = _new_key()
        previous = (channel.secret or {}).get("current")
        channel.secret = {"current": key, "previous": previous, "previous_until": now() + request.grace_seconds}
        channel.updated_at = now()
        channel.save()
    return _read(channel, shown_secret=key)


def list_deliveries(request: DeliveryListRequestBody) -> DeliveryReadList:
    """The channel's deliveries, oldest first, from ``afterId`` on."""
    channel = _channel(request.notification_id)
    query = NotificationDelivery.select().where(NotificationDelivery.channel == channel.id)
    if request.after_id is not None:
        query = query.where(NotificationDelivery.id > request.after_id)
    return DeliveryReadList(deliveries=[_delivery(d) for d in query.order_by(NotificationDelivery.id).limit(request.page_size)])


def _require_target(request: NotificationCreate) -> None:
    if request.type is NotificationType.email:
        if not request.email or "@" not in request.email:
            raise InvalidInput.field("$.email", "an email channel needs the address to write to", request.email)
        return
    url = request.url
    if not url or not url.startswith(("http://", "https://")):
        raise InvalidInput.field("$.url", f"a {request.type.value} channel needs an http(s) URL", _shown(url))
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise InvalidInput.field("$.url", str(exc), mask_url(url)) from None
    if not parts.hostname:
        raise InvalidInput.field("$.url", "names no host", mask_url(url))
    if options.webhook_allow_private_urls:
        return
    try:
        addresses.vet(parts.hostname, port, allow_private=False)
    except addresses.Refused as exc:
        reason = f"{exc}; set AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS=1 to allow private addresses"
        raise InvalidInput.field("$.url", reason, mask_url(url)) from None
    except addresses.Unresolvable:
        pass  # the worker checks again before each delivery (see the module docstring)


def _shown(url: str | None) -> str | None:
    """What a 422 may echo of a URL that is not http(s): masked, or nothing if it has no scheme to mask around."""
    return mask_url(url) if url and "://" in url else None


def _new_key() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def _channel(notification_id: uuid.UUID) -> NotificationChannel:
    channel = NotificationChannel.get_or_none(NotificationChannel.id == notification_id)
    if channel is None:
        raise NotFound("notification", notification_id)
    return channel


def _read(channel: NotificationChannel, shown_secret: str | None = None) -> NotificationRead:
    return NotificationRead(
        notification_id=channel.id,
        workspace_id=channel.workspace_id,
        name=channel.name,
        type=NotificationType(channel.kind),
        url=channel.url and mask_url(channel.url),
        email=channel.email,
        events=[stored_as(NotificationEvent, e) for e in channel.events],
        created_at=channel.created_at,
        secret=shown_secret,
    )


def _delivery(row: Any) -> DeliveryRead:
    return DeliveryRead(
        id=row.id,
        event=stored_as(NotificationEvent, row.event),
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        delivered_at=row.delivered_at,
    )
