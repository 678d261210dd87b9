"""Notifications (issue 13): channels per workspace, events written to an outbox with the change
that made them, sent by the worker: a signed webhook checked by a receiver this test runs (before
and after a secret rotation), a Slack-compatible webhook, e-mail through a local SMTP server,
retries with a delivery log."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from suitekit import free_port, users_catalog, wait_until
from synckit import items_catalog

from airpipe import models
from airpipe.connectors import addresses
from airpipe.errors import SettingsError
from airpipe.services.workspaces import DEFAULT_WORKSPACE_ID
from airpipe.settings import Settings
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


@pytest.mark.settings(AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS="1")  # the receiver listens on 127.0.0.1
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


@pytest.mark.settings(AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS="1")  # the receiver listens on 127.0.0.1
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


@pytest.mark.settings(AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS="1")  # the receiver listens on 127.0.0.1
def test_a_slack_webhook_gets_a_line_of_text(api: Any, receiver: Receiver) -> None:
    api.call(
        "notifications/create",
        {"workspaceId": WORKSPACE, "name": "chat", "type": "slack", "url": receiver.url, "events": ["sync_succeeded"]},
    )
    connection = api.connection(api.faker(2), api.local_json(), users_catalog(), name="nightly users")
    job = api.sync(connection)["job"]
    assert receiver.events() == [{"text": f"airpipe: sync succeeded for nightly users (job {job['id']})"}]


@pytest.mark.settings(AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS="1")  # the receiver listens on 127.0.0.1
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


def test_unknown_channels_are_a_404_and_only_webhooks_rotate(api: Any, names: dict[str, str]) -> None:
    nowhere = {"notificationId": "00000000-0000-4000-8000-000000000000"}
    for path in ("notifications/get", "notifications/delete", "notifications/rotate_secret", "notifications/deliveries/list"):
        assert api.call(path, nowhere, status=404)["message"]
    slack = api.call("notifications/create", {"workspaceId": WORKSPACE, "name": "chat", "type": "slack", "url": SLACK})
    answer = api.call("notifications/rotate_secret", {"notificationId": slack["notificationId"]}, status=422)
    assert answer["validationErrors"][0]["propertyPath"] == "$.notificationId"
    api.call("notifications/delete", {"notificationId": slack["notificationId"]}, status=204)
    assert api.call("notifications/list", {"workspaceId": WORKSPACE})["notifications"] == []


# WEBHOOK URLS: credentials kept out of reads and errors, public addresses only

SLACK = "https://hooks.slack.com/services/T0123ABCD/B0456EFGH/aVeryLongSecretToken"
SHOWN = "https://hooks.slack.com/services/**********"
PUBLIC = "93.184.215.14"
ALLOW = "set AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS=1 to allow private addresses"


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A resolver whose answers for these names the test sets (no test here leaves this machine);
    other names and addresses resolve as usual."""
    answers: dict[str, str] = {"hooks.slack.com": PUBLIC}
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host in answers:
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(addresses.socket, "getaddrinfo", getaddrinfo)
    return answers


def test_a_webhook_url_reads_back_masked_and_rests_encrypted(api: Any, names: dict[str, str]) -> None:
    created = api.call("notifications/create", {"workspaceId": WORKSPACE, "name": "chat", "type": "slack", "url": SLACK})
    assert created["url"] == SHOWN
    assert api.call("notifications/get", {"notificationId": created["notificationId"]})["url"] == SHOWN
    assert [n["url"] for n in api.call("notifications/list", {"workspaceId": WORKSPACE})["notifications"]] == [SHOWN]
    with models.db.connection_context():
        [(stored,)] = models.db.execute_sql("SELECT url FROM notification_channel").fetchall()
        assert stored.startswith("gAAAA") and "aVeryLongSecretToken" not in stored
        assert models.NotificationChannel.get().url == SLACK  # what deliveries use


@pytest.mark.parametrize(
    ("url", "refused"),
    [
        ("http://127.0.0.1:8000/hook", "127.0.0.1 resolves to 127.0.0.1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 resolves to 169.254.169.254, a link-local address"),
        ("https://[::1]/hook", "::1 resolves to ::1, a loopback address"),
        ("http://10.0.0.5/services/T0/B0/token", "10.0.0.5 resolves to 10.0.0.5, a private address"),
        ("http://metadata.internal/token", "metadata.internal resolves to 169.254.169.254, a link-local address"),
    ],
)
@pytest.mark.parametrize("kind", ["webhook", "slack"])
def test_a_url_of_a_private_address_is_refused_at_create_naming_the_field(
    api: Any, names: dict[str, str], kind: str, url: str, refused: str
) -> None:
    names["metadata.internal"] = "169.254.169.254"
    answer = api.call("notifications/create", {"workspaceId": WORKSPACE, "name": "x", "type": kind, "url": url}, status=422)
    [error] = answer["validationErrors"]
    assert (error["propertyPath"], error["message"]) == ("$.url", f"{refused}; {ALLOW}")
    assert "token" not in str(answer)  # the invalid value is echoed masked
    assert api.call("notifications/list", {"workspaceId": WORKSPACE})["notifications"] == []


def test_localhost_is_refused_at_create(api: Any) -> None:
    body = {"workspaceId": WORKSPACE, "name": "x", "type": "webhook", "url": "http://localhost:9/h"}
    answer = api.call("notifications/create", body, status=422)
    [error] = answer["validationErrors"]
    assert error["propertyPath"] == "$.url" and error["message"].startswith("localhost resolves to ")
    assert error["message"].endswith(f", a loopback address; {ALLOW}")


def test_a_name_that_resolves_to_a_private_address_after_create_is_refused_at_delivery(
    api: Any, names: dict[str, str], receiver: Receiver
) -> None:
    port = receiver.server.server_port
    names["hooks.example"] = PUBLIC
    url = f"http://hooks.example:{port}/services/T0/B0/aVeryLongSecretToken"
    created = api.call("notifications/create", {"workspaceId": WORKSPACE, "name": "chat", "type": "slack", "url": url})
    names["hooks.example"] = "127.0.0.1"  # the name now points at this machine, where the receiver listens
    api.sync(api.connection(api.faker(2), api.local_json(), users_catalog()))
    assert receiver.received == []
    [delivery] = api.call("notifications/deliveries/list", {"notificationId": created["notificationId"]})["deliveries"]
    assert (delivery["status"], delivery["attempts"]) == ("pending", 1)
    assert delivery["lastError"] == f"RuntimeError: hooks.example resolves to 127.0.0.1, a loopback address; {ALLOW}"


@pytest.mark.settings(AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS="1")
def test_with_the_setting_on_private_addresses_are_allowed(api: Any, names: dict[str, str], receiver: Receiver) -> None:
    names["hooks.example"] = "127.0.0.1"
    port = receiver.server.server_port
    url = f"http://hooks.example:{port}/services/T0/B0/aVeryLongSecretToken"
    api.call("notifications/create", {"workspaceId": WORKSPACE, "name": "chat", "type": "slack", "url": url, "events": ["sync_succeeded"]})
    metadata = {"name": "meta", "type": "webhook", "url": "http://169.254.169.254/", "events": ["alert_resolved"]}
    api.call("notifications/create", {"workspaceId": WORKSPACE, **metadata})  # accepted too
    api.sync(api.connection(api.faker(2), api.local_json(), users_catalog(), name="users"))
    [(headers, _)] = receiver.received
    assert headers["Host"] == f"hooks.example:{port}"  # connected to the checked address, naming the host
    assert receiver.events()[0]["text"].startswith("airpipe: sync succeeded for users")


@pytest.mark.settings(AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS="1")
def test_a_delivery_error_never_holds_the_url(api: Any) -> None:
    url = f"http://127.0.0.1:{free_port()}/services/T0/B0/aVeryLongSecretToken?token=another"  # nothing listens there
    created = api.call("notifications/create", {"workspaceId": WORKSPACE, "name": "chat", "type": "slack", "url": url})
    api.sync(api.connection(api.faker(2), api.local_json(), users_catalog()))
    [delivery] = api.call("notifications/deliveries/list", {"notificationId": created["notificationId"]})["deliveries"]
    assert delivery["lastError"].startswith("RuntimeError: cannot reach 127.0.0.1: ")
    assert notifications._scrubbed(url, f"ValueError: bad URL {url!r}") == "ValueError: bad URL '**********'"
    assert notifications._scrubbed(url, "no aVeryLongSecretToken, no token=another") == "no **********, no **********"


def test_the_setting_is_off_unless_set() -> None:
    assert Settings.from_env({}).webhook_allow_private_urls is False
    assert Settings.from_env({"AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS": "1"}).webhook_allow_private_urls is True
    with pytest.raises(SettingsError, match="AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS"):
        Settings.from_env({"AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS": "maybe"})
