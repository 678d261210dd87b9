"""Notifications (issue 13): channels per workspace, events written to an outbox with the change
that made them, sent by the worker: a signed webhook checked by a receiver this test runs (before
and after a secret rotation), a Slack-compatible webhook, e-mail through a local SMTP server,
retries with a delivery log."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from suitekit import free_port, users_catalog, wait_until
from synckit import items_catalog

from airpipe import models
from airpipe.services.workspaces import DEFAULT_WORKSPACE_ID
from airpipe.worker import notifications

WORKSPACE = str(DEFAULT_WORKSPACE_ID)


class Receiver:
    """An HTTP server that keeps what is POSTed to it and answers ``status``."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), body))
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for _, body in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


def verified(headers: dict[str, str], body: bytes, secret: str) -> bool:
    """What a receiver does: recompute the HMAC of "<t>." + body and compare it with each v1."""
    parts = [part.split("=", 1) for part in headers["X-Airpipe-Signature"].split(",")]
    timestamp = next(value for key, value in parts if key == "t")
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return any(key == "v1" and hmac.compare_digest(value, expected) for key, value in parts)


def test_a_signed_webhook_hears_of_each_sync_and_survives_a_rotation(api: Any, receiver: Receiver) -> None:
    created = api.call("notifications/create", {"workspaceId": WORKSPACE, "name": "ops", "type": "webhook", "url": receiver.url})
    secret = created["secret"]
    assert secret.startswith("whsec_") and created["events"] == [
        "sync_succeeded",
        "sync_failed",
        "connection_disabled",
        "alert_fired",
        "alert_resolved",
    ]
    assert "secret" not in api.call("notifications/get", {"notificationId": created["notificationId"]})
    assert [n["name"] for n in api.call("notifications/list", {"workspaceId": WORKSPACE})["notifications"]] == ["ops"]

    connection = api.connection(api.faker(3), api.local_json(), users_catalog())
    job = api.sync(connection)["job"]
    [(headers, body)] = receiver.received
    event = json.loads(body)
    assert (event["event"], event["jobId"], event["connectionId"], event["recordsSynced"]) == (
        "sync_succeeded",
        job["id"],
        connection["connectionId"],
        3,
    )
    assert headers["X-Airpipe-Event"] == "sync_succeeded" and verified(headers, body, secret)
    assert not verified(headers, body, "whsec_not-the-secret")

    rotated = api.call("notifications/rotate_secret", {"notificationId": created["notificationId"], "graceSeconds": 3600})["secret"]
    assert rotated != secret
    api.sync(connection)
    headers, body = receiver.received[1]
    assert verified(headers, body, rotated) and verified(headers, body, secret)  # both, during the grace period
    newest = api.call("notifications/rotate_secret", {"notificationId": created["notificationId"], "graceSeconds": 0})["secret"]
    api.sync(connection)
    headers, body = receiver.received[2]
    assert verified(headers, body, newest) and not verified(headers, body, rotated)  # no grace: the old one is gone

    deliveries = api.call("notifications/deliveries/list", {"notificationId": created["notificationId"]})["deliveries"]
    assert [(d["event"], d["status"], d["attempts"]) for d in deliveries] == [("sync_succeeded", "delivered", 1)] * 3


def test_a_failed_sync_and_a_disabled_connection_are_announced(api: Any, receiver: Receiver, programs: Any) -> None:
    events = ["sync_failed", "connection_disabled"]
    api.call("notifications/create", {"workspaceId": WORKSPACE, "name": "pager", "type": "webhook", "url": receiver.url, "events": events})
    connection = api.connection(api.scripted(fail_after=0, exit_code=3), api.local_json(), items_catalog())
    assert api.sync(connection)["job"]["status"] == "failed"
    update = {k: connection[k] for k in ("connectionId", "syncCatalog")}
    api.call("connections/update", {**update, "status": "inactive"})
    api.call("connections/update", {**update, "status": "inactive"})  # already inactive: nothing new to say
    failed, disabled = receiver.events()
    assert failed["event"] == "sync_failed" and "exited with code 3" in failed["message"] and failed["failureOrigin"] == "source"
    assert (disabled["event"], disabled["status"], disabled["connectionId"]) == (
        "connection_disabled",
        "inactive",
        connection["connectionId"],
    )


def test_a_slack_webhook_gets_a_line_of_text(api: Any, receiver: Receiver) -> None:
    api.call(
        "notifications/create",
        {"workspaceId": WORKSPACE, "name": "chat", "type": "slack", "url": receiver.url, "events": ["sync_succeeded"]},
    )
    connection = api.connection(api.faker(2), api.local_json(), users_catalog(), name="nightly users")
    job = api.sync(connection)["job"]
    assert receiver.events() == [{"text": f"airpipe: sync succeeded for nightly users (job {job['id']})"}]


def test_a_delivery_that_fails_is_retried_then_given_up_with_its_error_kept(api: Any, receiver: Receiver) -> None:
    created = api.call("notifications/create", {"workspaceId": WORKSPACE, "name": "flaky", "type": "webhook", "url": receiver.url})
    receiver.status = 500
    connection = api.connection(api.faker(2), api.local_json(), users_catalog())
    api.sync(connection)
    [delivery] = api.call("notifications/deliveries/list", {"notificationId": created["notificationId"]})["deliveries"]
    assert (delivery["status"], delivery["attempts"], delivery["lastError"]) == ("pending", 1, "RuntimeError: the receiver answered 500")
    for _ in range(notifications.MAX_TRIES - 1):  # each retry made due at once, as time would
        with models.db.connection_context():
            models.NotificationDelivery.update(next_attempt_at=0).execute()
        assert notifications.send_due() == 1
    [delivery] = api.call("notifications/deliveries/list", {"notificationId": created["notificationId"]})["deliveries"]
    assert (delivery["status"], delivery["attempts"]) == ("failed", notifications.MAX_TRIES)
    assert notifications.send_due() == 0 and len(receiver.received) == notifications.MAX_TRIES


def test_email_goes_through_the_smtp_server(api: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from aiosmtpd.controller import Controller  # a test dependency (setup.cfg)

    class Inbox:
        messages: list[Any] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
            self.messages.append(envelope)
            return "250 OK"

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        monkeypatch.setattr(notifications, "smtp", notifications.Smtp(host="127.0.0.1", port=controller.port, sender="airpipe@example.org"))
        api.call("notifications/create", {"workspaceId": WORKSPACE, "name": "mail", "type": "email", "email": "ops@example.org"})
        connection = api.connection(api.faker(2), api.local_json(), users_catalog(), name="users")
        api.sync(connection)
        wait_until(lambda: inbox.messages, 10, "the e-mail")
    finally:
        controller.stop()
    [envelope] = inbox.messages
    assert envelope.mail_from == "airpipe@example.org" and envelope.rcpt_tos == ["ops@example.org"]
    text = envelope.content.decode()
    assert "Subject: airpipe: sync succeeded for users" in text and '"event": "sync_succeeded"' in text


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"name": "x", "type": "webhook"}, "$.url"),
        ({"name": "x", "type": "webhook", "url": "ftp://example.org"}, "$.url"),
        ({"name": "x", "type": "email"}, "$.email"),
        ({"name": "x", "type": "pager", "url": "http://example.org"}, "$.type"),
        ({"name": "x", "type": "slack", "url": "http://example.org", "events": ["sync_started"]}, "$.events[0]"),
        ({"type": "slack", "url": "http://example.org"}, "$.name"),
    ],
)
def test_bad_channels_are_a_422_naming_the_field(api: Any, body: dict[str, Any], path: str) -> None:
    answer = api.call("notifications/create", {"workspaceId": WORKSPACE, **body}, status=422)
    assert answer["validationErrors"][0]["propertyPath"] == path


def test_unknown_channels_are_a_404_and_only_webhooks_rotate(api: Any) -> None:
    nowhere = {"notificationId": "00000000-0000-4000-8000-000000000000"}
    for path in ("notifications/get", "notifications/delete", "notifications/rotate_secret", "notifications/deliveries/list"):
        assert api.call(path, nowhere, status=404)["message"]
    slack = api.call("notifications/create", {"workspaceId": WORKSPACE, "name": "chat", "type": "slack", "url": "http://example.org"})
    answer = api.call("notifications/rotate_secret", {"notificationId": slack["notificationId"]}, status=422)
    assert answer["validationErrors"][0]["propertyPath"] == "$.notificationId"
    api.call("notifications/delete", {"notificationId": slack["notificationId"]}, status=204)
    assert api.call("notifications/list", {"workspaceId": WORKSPACE})["notifications"] == []
