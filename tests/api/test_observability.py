"""Issue 13, first part: a job's status history, its logs page by page, the jobs of a workspace,
the newest job and next run in web_backend's views, and the workspace's topology."""

from __future__ import annotations

import time
from typing import Any

import pytest

from airpipe import models
from airpipe.services.workspaces import DEFAULT_WORKSPACE_ID as DEFAULT_WORKSPACE

WORKSPACE = str(DEFAULT_WORKSPACE)
Call = Any


# STATUS HISTORY


def test_a_sync_has_its_whole_history_in_order(call: Call, connection: dict[str, Any], sync: Call) -> None:
    job = sync(connection)["job"]
    history = call("jobs/history", {"id": job["id"]})
    assert history["jobId"] == job["id"]
    steps = [(e["status"], e.get("attemptNumber")) for e in history["events"]]
    assert steps == [("pending", None), ("running", 1), ("running", None), ("succeeded", 1), ("succeeded", None)]
    assert history["events"][0]["reason"] == "created"
    assert history["events"][1]["reason"].startswith("taken by worker ")
    times = [e["at"] for e in history["events"]]
    assert times == sorted(times) and job["createdAt"] <= times[0] <= times[-1] <= job["updatedAt"] + 1


def test_a_cancel_is_in_the_history_with_the_attempt_it_stopped(call: Call, connection: dict[str, Any], insert_job: Call) -> None:
    job_id = insert_job(connection["connectionId"], status="running")
    call("jobs/cancel", {"id": job_id})
    events = call("jobs/history", {"id": job_id})["events"]
    assert [(e["status"], e.get("attemptNumber"), e["reason"]) for e in events] == [
        ("failed", 1, "the job was cancelled"),
        ("cancelled", None, "cancelled through the API"),
    ]
    call("jobs/cancel", {"id": job_id})  # cancelling a finished job changes nothing, and records nothing
    assert len(call("jobs/history", {"id": job_id})["events"]) == 2


def test_history_of_an_unknown_job_is_a_404_and_a_bad_id_a_422(call: Call) -> None:
    assert call("jobs/history", {"id": 999999}, status=404)["message"]
    assert call("jobs/history", {}, status=422)["validationErrors"][0]["propertyPath"] == "$.id"
    assert call("jobs/history", {"id": "one"}, status=422)["validationErrors"][0]["propertyPath"] == "$.id"


# PAGED LOGS


@pytest.fixture
def logged_job(connection: dict[str, Any], insert_job: Call) -> int:
    """A job whose first attempt wrote 10,000 lines (every tenth an ERROR) and whose second wrote 3."""
    job_id = insert_job(connection["connectionId"], status="running", attempt_status="failed")
    with models.db.connection_context():
        first = models.Attempt.get(models.Attempt.job == job_id)
        second = models.Attempt.create(job=job_id, number=2)
        lines = [{"attempt": first.id, "level": "ERROR" if i % 10 == 0 else "INFO", "message": f"line {i}"} for i in range(10_000)]
        lines += [{"attempt": second.id, "level": "INFO", "message": f"retry {i}"} for i in range(3)]
        with models.transaction():
            for start in range(0, len(lines), 500):
                models.LogLine.insert_many(lines[start : start + 500]).execute()
    return job_id


def pages(call: Call, body: dict[str, Any]) -> list[dict[str, Any]]:
    """Every line, by following nextAfterId until a page comes back empty."""
    found: list[dict[str, Any]] = []
    after = None
    while True:
        page = call("jobs/logs/list", {**body, **({"afterId": after} if after is not None else {})})
        if not page["logs"]:
            assert page["nextAfterId"] == after
            return found
        found += page["logs"]
        after = page["nextAfterId"]
        assert after == page["logs"][-1]["id"]


def test_logs_page_through_ten_thousand_lines_with_none_lost_or_repeated(call: Call, logged_job: int) -> None:
    lines = pages(call, {"jobId": logged_job, "pageSize": 777})
    assert len(lines) == 10_003
    assert len({line["id"] for line in lines}) == 10_003 and [line["id"] for line in lines] == sorted(line["id"] for line in lines)
    assert [line["message"] for line in lines[:10_000]] == [f"line {i}" for i in range(10_000)]
    assert {line["attemptNumber"] for line in lines[:10_000]} == {1}
    assert (lines[-1]["attemptNumber"], lines[-1]["message"]) == (2, "retry 2")


def test_logs_filter_by_level_and_attempt(call: Call, logged_job: int) -> None:
    errors = pages(call, {"jobId": logged_job, "levels": ["ERROR"], "pageSize": 400})
    assert len(errors) == 1000 and {line["level"] for line in errors} == {"ERROR"}
    second = call("jobs/logs/list", {"jobId": logged_job, "attemptNumber": 2})
    assert [line["message"] for line in second["logs"]] == ["retry 0", "retry 1", "retry 2"]
    assert call("jobs/logs/list", {"jobId": logged_job, "attemptNumber": 3})["logs"] == []


def test_following_a_running_job_gets_each_new_line_once(call: Call, logged_job: int) -> None:
    last = call("jobs/logs/list", {"jobId": logged_job, "pageSize": 10_000})
    last = call("jobs/logs/list", {"jobId": logged_job, "afterId": last["nextAfterId"]})
    assert [line["message"] for line in last["logs"]] == ["retry 0", "retry 1", "retry 2"]
    waiting = call("jobs/logs/list", {"jobId": logged_job, "afterId": last["nextAfterId"]})
    assert waiting == {"logs": [], "nextAfterId": last["nextAfterId"]}
    with models.db.connection_context():
        attempt = models.Attempt.get(models.Attempt.job == logged_job, models.Attempt.number == 2)
        models.LogLine.create(attempt=attempt, level="WARN", message="a new line")
    fresh = call("jobs/logs/list", {"jobId": logged_job, "afterId": waiting["nextAfterId"]})
    assert [(line["level"], line["message"]) for line in fresh["logs"]] == [("WARN", "a new line")]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "$.jobId"),
        ({"jobId": 1, "pageSize": 0}, "$.pageSize"),
        ({"jobId": 1, "pageSize": 10_001}, "$.pageSize"),
        ({"jobId": 1, "levels": ["LOUD"]}, "$.levels[0]"),
        ({"jobId": 1, "afterId": "x"}, "$.afterId"),
    ],
)
def test_bad_log_requests_are_a_422_naming_the_field(call: Call, body: dict[str, Any], path: str) -> None:
    assert call("jobs/logs/list", body, status=422)["validationErrors"][0]["propertyPath"] == path


def test_logs_of_an_unknown_job_are_a_404(call: Call) -> None:
    assert call("jobs/logs/list", {"jobId": 424242}, status=404)["message"]


# THE JOBS OF A WORKSPACE


def test_a_workspaces_jobs_are_filtered_as_asked(
    call: Call, create_connection: Call, create_source: Call, sync: Call, insert_job: Call
) -> None:
    source = create_source()
    first, second = create_connection(source), create_connection(source)
    synced = [sync(first)["job"]["id"], sync(second)["job"]["id"], sync(first)["job"]["id"]]
    assert call("sources/check_connection", {"sourceId": source["sourceId"]})["status"] == "succeeded"
    with models.db.connection_context():
        check = models.Job.get(models.Job.config_type == "check_connection_source").id
    other_workspace = call("workspaces/create", {"name": "elsewhere"})["workspaceId"]
    insert_job("not-of-this-workspace")

    def ids(**filters: Any) -> list[int]:
        listed = call("jobs/list_for_workspace", {"workspaceId": WORKSPACE, **filters})
        return [j["job"]["id"] for j in listed["jobs"]]

    assert ids() == sorted([*synced, check], reverse=True)
    assert ids(connectionIds=[first["connectionId"]]) == [synced[2], synced[0]]
    assert ids(configTypes=["check_connection_source"]) == [check]
    assert ids(statuses=["succeeded"], configTypes=["sync"]) == sorted(synced, reverse=True)
    assert ids(statuses=["failed"]) == []
    assert ids(createdAfter=int(time.time()) + 3600) == [] and ids(createdBefore=0) == []
    page = call("jobs/list_for_workspace", {"workspaceId": WORKSPACE, "pagination": {"pageSize": 2, "rowOffset": 1}})
    assert [j["job"]["id"] for j in page["jobs"]] == sorted([*synced, check], reverse=True)[1:3]
    assert page["totalJobCount"] == 4 and all(len(j["attempts"]) == 1 for j in page["jobs"])
    assert call("jobs/list_for_workspace", {"workspaceId": other_workspace})["jobs"] == []

    call("connections/delete", {"connectionId": second["connectionId"]}, status=204)
    assert synced[1] not in ids()
    assert synced[1] in ids(includeDeleted=True)


def test_workspace_jobs_of_an_unknown_workspace_are_a_404_and_bad_filters_a_422(call: Call) -> None:
    assert call("jobs/list_for_workspace", {"workspaceId": "00000000-0000-4000-8000-000000000000"}, status=404)["message"]
    body = {"workspaceId": WORKSPACE, "statuses": ["finished"]}
    assert call("jobs/list_for_workspace", body, status=422)["validationErrors"][0]["propertyPath"] == "$.statuses[0]"


def test_jobs_list_names_every_missing_field_at_once(call: Call) -> None:
    errors = call("jobs/list", {}, status=422)["validationErrors"]
    assert [e["propertyPath"] for e in errors] == ["$.configId", "$.configTypes"]
    assert [e["message"] for e in errors] == ["is required", "one of configType or configTypes is required"]


# WEB BACKEND: THE NEWEST JOB AND THE NEXT RUN


def test_web_backend_views_show_the_newest_job_and_the_next_run(call: Call, create_connection: Call, sync: Call) -> None:
    hourly = create_connection(schedule={"units": 1, "timeUnit": "hours"})
    manual = create_connection()
    job = sync(hourly)["job"]
    views = {v["connectionId"]: v for v in call("web_backend/connections/list", {"workspaceId": WORKSPACE})["connections"]}
    view = views[hourly["connectionId"]]
    assert view["latestSyncJobStatus"] == "succeeded" and view["latestSyncJobCreatedAt"] == job["createdAt"]
    assert view["latestSyncJobDuration"] == job["updatedAt"] - job["createdAt"]
    with models.db.connection_context():
        created = models.Connection.get_by_id(hourly["connectionId"]).created_at
    assert view["nextScheduledAt"] == created - created % 60 + 3600
    assert "latestSyncJobStatus" not in views[manual["connectionId"]] and "nextScheduledAt" not in views[manual["connectionId"]]
    call("connections/update", {**{k: hourly[k] for k in ("connectionId", "syncCatalog", "schedule")}, "status": "inactive"})
    single = call("web_backend/connections/get", {"connectionId": hourly["connectionId"]})
    assert "nextScheduledAt" not in single and single["latestSyncJobStatus"] == "succeeded"


# TOPOLOGY


def test_topology_links_sources_connections_and_destinations(
    call: Call, create_connection: Call, create_source: Call, create_destination: Call
) -> None:
    source, destination = create_source(name="shop db"), create_destination(name="lake")
    first = create_connection(source, destination, name="orders")
    second = create_connection(source, destination, name="users", status="inactive")
    gone = create_connection(source, destination)
    call("connections/delete", {"connectionId": gone["connectionId"]}, status=204)
    topology = call("workspaces/topology", {"workspaceId": WORKSPACE})
    nodes = {n["id"]: n for n in topology["nodes"]}
    assert nodes[source["sourceId"]] == {"id": source["sourceId"], "kind": "source", "name": "shop db"}
    assert nodes[destination["destinationId"]]["kind"] == "destination"
    assert nodes[first["connectionId"]] == {"id": first["connectionId"], "kind": "connection", "name": "orders", "status": "active"}
    assert nodes[second["connectionId"]]["status"] == "inactive" and gone["connectionId"] not in nodes
    edges = {(e["fromId"], e["toId"]) for e in topology["edges"]}
    assert edges == {
        (source["sourceId"], first["connectionId"]),
        (first["connectionId"], destination["destinationId"]),
        (source["sourceId"], second["connectionId"]),
        (second["connectionId"], destination["destinationId"]),
    }
    assert call("workspaces/topology", {"workspaceId": "00000000-0000-4000-8000-000000000000"}, status=404)["message"]
