"""Alerts (issue 13): rules fire and resolve by themselves, can be resolved by hand, leave a
timeline, and tell the notification channels."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from suitekit import free_port, users_catalog
from synckit import items_catalog

from airpipe import models
from airpipe.services.workspaces import DEFAULT_WORKSPACE_ID
from airpipe.worker import alerts, runner

WORKSPACE = str(DEFAULT_WORKSPACE_ID)


@pytest.fixture
def heard() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A webhook receiver: its URL, and the events it was sent."""
    events: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            events.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", events
    server.shutdown()
    server.server_close()


def rule(api: Any, kind: str, threshold: int, **fields: Any) -> Any:
    body = {"workspaceId": WORKSPACE, "name": f"{kind} {threshold}", "kind": kind, "threshold": threshold, **fields}
    return api.call("alerts/rules/create", body)


def alert_list(api: Any, **filters: Any) -> list[Any]:
    return api.call("alerts/list", {"workspaceId": WORKSPACE, **filters})["alerts"]


@pytest.mark.settings(AIRPIPE_WEBHOOK_ALLOW_PRIVATE_URLS="1")  # the receiver listens on 127.0.0.1
def test_an_alert_fires_on_the_second_failed_sync_and_resolves_on_the_next_success(api: Any, programs: Any, heard: Any) -> None:
    url, events = heard
    api.call(
        "notifications/create",
        {"workspaceId": WORKSPACE, "name": "pager", "type": "webhook", "url": url, "events": ["alert_fired", "alert_resolved"]},
    )
    created = rule(api, "consecutive_failures", 2, severity="critical")
    source = api.scripted(fail_after=0, exit_code=3)
    connection = api.connection(source, api.local_json(), items_catalog())

    assert api.sync(connection)["job"]["status"] == "failed"
    assert alert_list(api) == []  # one failure is not two
    assert api.sync(connection)["job"]["status"] == "failed"
    [firing] = alert_list(api)
    assert (firing["status"], firing["severity"], firing["ruleId"], firing["connectionId"]) == (
        "firing",
        "critical",
        created["ruleId"],
        connection["connectionId"],
    )
    assert firing["message"] == "the last 2 syncs failed"
    api.sync(connection)  # a third failure: still the same alert, not a second one
    assert len(alert_list(api)) == 1

    api.update_source(source, fail_after=10**6)
    assert api.sync(connection)["job"]["status"] == "succeeded"
    [resolved] = alert_list(api)
    assert (resolved["status"], resolved["resolvedBy"]) == ("resolved", "condition") and resolved["resolvedAt"] >= resolved["firedAt"]
    timeline = api.call("alerts/events/list", {"workspaceId": WORKSPACE})["events"]
    assert [(e["kind"], e["alertId"], e["severity"]) for e in timeline] == [
        ("fired", firing["alertId"], "critical"),
        ("resolved", firing["alertId"], "critical"),
    ]
    assert [(e["event"], e["alertId"], e["severity"]) for e in events] == [
        ("alert_fired", firing["alertId"], "critical"),
        ("alert_resolved", firing["alertId"], "critical"),
    ]


def test_too_few_records_fire_and_enough_resolve(api: Any) -> None:
    rule(api, "records_below", 10)
    source = api.faker(3)
    connection = api.connection(source, api.local_json(), users_catalog())
    api.sync(connection)
    [alert] = alert_list(api, statuses=["firing"])
    assert alert["message"] == "a sync moved 3 records, fewer than 10" and alert["severity"] == "warning"
    api.update_source(source, count=20)
    api.sync(connection)
    assert alert_list(api, statuses=["firing"]) == [] and len(alert_list(api, statuses=["resolved"])) == 1


def test_a_connection_silent_too_long_fires_at_the_tick(api: Any) -> None:
    connection = api.connection(api.faker(2), api.local_json(), users_catalog())
    rule(api, "no_success_within", 3600, connectionId=connection["connectionId"])
    with models.db.connection_context():
        runner.tick()
    assert alert_list(api) == []  # created just now: not silent yet
    with models.db.connection_context():
        models.Connection.update(created_at=models.now() - 7200).where(models.Connection.id == connection["connectionId"]).execute()
        runner.tick()
        runner.tick()  # a second tick does not fire it again
    [alert] = alert_list(api)
    assert alert["status"] == "firing" and alert["message"] == "no successful sync for 3600 s"
    api.sync(connection)
    assert alert_list(api)[0]["status"] == "resolved"


def test_an_alert_resolved_by_hand_stays_resolved(api: Any) -> None:
    rule(api, "records_below", 100)
    connection = api.connection(api.faker(1), api.local_json(), users_catalog())
    api.sync(connection)
    [alert] = alert_list(api)
    resolved = api.call("alerts/resolve", {"alertId": alert["alertId"]})
    assert (resolved["status"], resolved["resolvedBy"]) == ("resolved", "manual")
    assert api.call("alerts/resolve", {"alertId": alert["alertId"]})["resolvedAt"] == resolved["resolvedAt"]  # changes nothing
    assert api.call("alerts/resolve", {"alertId": 987654}, status=404)["message"]
    kinds = [e["kind"] for e in api.call("alerts/events/list", {"workspaceId": WORKSPACE})["events"]]
    assert kinds == ["fired", "resolved"]


def test_rules_are_listed_deleted_and_checked(api: Any) -> None:
    created = rule(api, "consecutive_failures", 3)
    assert [r["ruleId"] for r in api.call("alerts/rules/list", {"workspaceId": WORKSPACE})["rules"]] == [created["ruleId"]]
    assert created["severity"] == "warning" and "connectionId" not in created
    for body, path in [
        ({"kind": "loud", "threshold": 1}, "$.kind"),
        ({"kind": "records_below", "threshold": 0}, "$.threshold"),
        ({"kind": "records_below", "threshold": 1, "severity": "dire"}, "$.severity"),
        ({"kind": "records_below", "threshold": 1, "connectionId": "00000000-0000-4000-8000-000000000000"}, "$.connectionId"),
    ]:
        answer = api.call("alerts/rules/create", {"workspaceId": WORKSPACE, "name": "x", **body}, status=422)
        assert answer["validationErrors"][0]["propertyPath"] == path
    api.call("alerts/rules/delete", {"ruleId": created["ruleId"]}, status=204)
    assert api.call("alerts/rules/delete", {"ruleId": created["ruleId"]}, status=404)["message"]
    assert api.call("alerts/rules/list", {"workspaceId": WORKSPACE})["rules"] == []
    assert alerts.KINDS == ("consecutive_failures", "no_success_within", "records_below")
