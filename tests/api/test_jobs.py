"""jobs/list, jobs/get and jobs/cancel. Jobs are put straight into the database where a test
needs them to sit still (pending, running); one real sync shows what a finished job carries."""

from __future__ import annotations

import time
from typing import Any

from airpipe import models
from airpipe.worker import runner

SCOPE = "6f1c9a52-1111-4c1e-9d7e-000000000001"


def ids(listed: Any) -> list[int]:
    return [j["job"]["id"] for j in listed["jobs"]]


# LIST


def test_list_is_newest_first_and_filtered_by_scope_and_type(call: Any, insert_job: Any) -> None:
    first = insert_job(SCOPE, "sync", "succeeded", "succeeded")
    reset = insert_job(SCOPE, "reset_connection", "failed", "failed")
    second = insert_job(SCOPE, "sync", "succeeded", "succeeded")
    insert_job("another-scope", "sync", "succeeded", "succeeded")
    insert_job(SCOPE, "discover_schema", "succeeded", "succeeded")

    syncs = call("jobs/list", {"configId": SCOPE, "configType": "sync"})
    assert ids(syncs) == [second, first]
    assert syncs["totalJobCount"] == 2
    both = call("jobs/list", {"configId": SCOPE, "configTypes": ["sync", "reset_connection"]})
    assert ids(both) == [second, reset, first]
    assert both["totalJobCount"] == 3
    job = both["jobs"][1]
    assert job["job"] == {
        "id": reset,
        "configType": "reset_connection",
        "configId": SCOPE,
        "createdAt": job["job"]["createdAt"],
        "updatedAt": job["job"]["updatedAt"],
        "status": "failed",
    }
    assert [a["status"] for a in job["attempts"]] == ["failed"]


def test_list_pages_through_the_jobs(call: Any, insert_job: Any) -> None:
    jobs = [insert_job(SCOPE, "sync", "succeeded", "succeeded") for _ in range(5)]
    page = call("jobs/list", {"configId": SCOPE, "configType": "sync", "pagination": {"pageSize": 2, "rowOffset": 1}})
    assert ids(page) == [jobs[3], jobs[2]]
    assert page["totalJobCount"] == 5
    last = call("jobs/list", {"configId": SCOPE, "configType": "sync", "pagination": {"pageSize": 2, "rowOffset": 4}})
    assert ids(last) == [jobs[0]]
    assert call("jobs/list", {"configId": SCOPE, "configType": "sync", "pagination": {"rowOffset": 9}}) == {"jobs": [], "totalJobCount": 5}


def test_list_of_a_scope_without_jobs_is_empty(call: Any) -> None:
    assert call("jobs/list", {"configId": "nothing", "configTypes": ["sync"]}) == {"jobs": [], "totalJobCount": 0}


def test_list_needs_a_config_type(call: Any) -> None:
    error = call("jobs/list", {"configId": SCOPE}, status=422)
    assert error["validationErrors"] == [
        {"propertyPath": "$.configTypes", "message": "one of configType or configTypes is required"}
    ]
    error = call("jobs/list", {"configId": SCOPE, "configTypes": ["sync", "nope"]}, status=422)
    assert error["validationErrors"] == [
        {"propertyPath": "$.configTypes[1]", "invalidValue": "nope", "message": "Invalid enum value 'nope'"}
    ]
    error = call("jobs/list", {"configId": SCOPE, "configType": "sync", "pagination": {"pageSize": 0}}, status=422)
    assert error["validationErrors"][0]["propertyPath"] == "$.pagination.pageSize"


# GET


def test_get_of_an_unknown_job_is_404(call: Any) -> None:
    assert call("jobs/get", {"id": 999}, status=404) == {"message": "Could not find job with id 999", "id": "999"}
    assert call("jobs/cancel", {"id": 999}, status=404) == {"message": "Could not find job with id 999", "id": "999"}
    error = call("jobs/get", {"id": "1"}, status=422)
    assert error["validationErrors"] == [{"propertyPath": "$.id", "invalidValue": "1", "message": "Expected `int`, got `str`"}]


def test_a_finished_sync_carries_its_attempt_stats_and_logs(call: Any, connection: Any, sync: Any) -> None:
    info = sync(connection)
    assert abs(info["job"]["createdAt"] - time.time()) < 600  # epoch seconds, not milliseconds
    assert info["job"]["updatedAt"] >= info["job"]["createdAt"]
    [attempt] = info["attempts"]
    assert attempt["attempt"]["status"] == "succeeded"
    assert attempt["attempt"]["endedAt"] >= attempt["attempt"]["createdAt"]
    assert attempt["attempt"]["totalStats"] == {
        "recordsEmitted": 5,
        "bytesEmitted": attempt["attempt"]["bytesSynced"],
        "stateMessagesEmitted": 1,
        "recordsCommitted": 5,
        "estimatedRecords": 5,  # Faker announces its records in a TRACE ESTIMATE
    }
    lines = attempt["logs"]["logLines"]
    assert any("sync finished: 5 records" in line for line in lines)
    assert all(line[:4].isdigit() for line in lines)  # each line starts with its timestamp
    listed = call("jobs/list", {"configId": connection["connectionId"], "configType": "sync"})
    assert listed["jobs"][0]["attempts"] == [attempt["attempt"]]


def test_a_job_with_a_long_log_answers_every_line(call: Any, insert_job: Any) -> None:
    # a short log is answered on the event loop, a long one by a worker thread (api/operations.INLINE)
    from airpipe.services.jobs import SHORT_LOG_CHARS

    logs = {
        "short": ["one", "two"],
        "many lines": [f"line {n}" for n in range(models.SHORT_LOG_LINES + 30)],
        "long lines": ["x" * (SHORT_LOG_CHARS // 2), "y" * (SHORT_LOG_CHARS // 2), "z"],
    }
    for messages in logs.values():
        job = insert_job(SCOPE, status="succeeded", attempt_status="succeeded")
        with models.db.connection_context():
            (attempt,) = models.Attempt.select().where(models.Attempt.job == job)
            models.LogLine.insert_many([{"attempt": attempt.id, "level": "INFO", "message": m} for m in messages]).execute()
        [shown] = call("jobs/get", {"id": job})["attempts"]
        assert [line.partition(" INFO ")[2] for line in shown["logs"]["logLines"]] == messages


def test_a_line_of_an_attempt_begun_after_the_attempts_were_read_waits_for_the_next_read(insert_job: Any) -> None:
    from airpipe.services.converters import job_info_read

    job = insert_job(SCOPE)
    with models.db.connection_context():
        (attempt,) = models.Attempt.select().where(models.Attempt.job == job)
        later = models.Attempt.create(job=job, number=2, status="running")
        for owner in (attempt, later):
            models.LogLine.create(attempt=owner, level="INFO", message=f"of attempt {owner.number}")
        info = job_info_read(models.Job.get_by_id(job), [attempt])  # as read before `later` began
        lines = models.log_lines_of_job(job)
    assert [a.logs.log_lines for a in info.attempts] == [[lines[0].render()]]


# CANCEL


def test_cancel_a_pending_job(call: Any, insert_job: Any) -> None:
    job_id = insert_job(SCOPE, "sync", "pending")
    info = call("jobs/cancel", {"id": job_id})
    assert info["job"]["status"] == "cancelled"
    [attempt] = info["attempts"]
    assert attempt["attempt"]["status"] == "failed"
    assert attempt["attempt"]["endedAt"] == info["job"]["updatedAt"]
    assert attempt["attempt"]["failureSummary"] == {
        "failures": [
            {
                "failureOrigin": "airpipe",
                "failureType": "manual_cancellation",
                "externalMessage": "The job was cancelled.",
                "retryable": False,
                "timestamp": info["job"]["updatedAt"],
            }
        ]
    }
    assert call("jobs/get", {"id": job_id}) == info


def test_a_cancelled_job_is_never_started(call: Any, insert_job: Any) -> None:
    job_id = insert_job(SCOPE, "sync", "pending")
    call("jobs/cancel", {"id": job_id})
    runner.run_job(job_id)  # the queue message arrives after the cancel
    info = call("jobs/get", {"id": job_id})
    assert info["job"]["status"] == "cancelled"
    assert [a["attempt"]["status"] for a in info["attempts"]] == ["failed"]
    assert info["attempts"][0]["logs"]["logLines"] == []


def test_cancel_a_running_job(call: Any, insert_job: Any) -> None:
    job_id = insert_job(SCOPE, "sync", "running")
    info = call("jobs/cancel", {"id": job_id})
    assert info["job"]["status"] == "cancelled"
    assert info["attempts"][0]["attempt"]["failureSummary"]["failures"][0]["failureType"] == "manual_cancellation"


def test_cancel_a_finished_job_changes_nothing(call: Any, insert_job: Any) -> None:
    for status, attempt_status in [("succeeded", "succeeded"), ("failed", "failed"), ("cancelled", "failed")]:
        job_id = insert_job(SCOPE, "sync", status, attempt_status)
        before = call("jobs/get", {"id": job_id})
        assert call("jobs/cancel", {"id": job_id}) == before
        assert before["job"]["status"] == status


def test_cancel_frees_the_connection_for_a_new_sync(call: Any, connection: Any, insert_job: Any) -> None:
    stuck = insert_job(connection["connectionId"], "sync", "running")
    call("jobs/cancel", {"id": stuck})
    with models.db.connection_context():
        assert models.Job.get_by_id(stuck).status == "cancelled"
    started = call("connections/sync", {"connectionId": connection["connectionId"]})
    assert started["job"]["id"] != stuck
    assert call("jobs/get", {"id": started["job"]["id"]})["job"]["status"] == "succeeded"
