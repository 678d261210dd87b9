"""connections/stats, sources/stats, destinations/stats: how the syncs went over a window."""

from __future__ import annotations

import time
from typing import Any

from airpipe import models

Call = Any
NOWHERE = "00000000-0000-4000-8000-000000000000"


def fail_attempt_of(job_id: int, message: str, at: int) -> None:
    """Mark a job's attempt failed as a worker would have, with the connector's message."""
    failure = {"failures": [{"failureOrigin": "source", "failureType": "system_error", "externalMessage": message, "timestamp": at}]}
    with models.db.connection_context():
        models.Attempt.update(status="failed", ended_at=at, failure_summary=failure).where(models.Attempt.job == job_id).execute()
        models.Job.update(status="failed").where(models.Job.id == job_id).execute()


def test_a_connections_stats_count_outcomes_records_streams_and_errors(
    call: Call, connection: dict[str, Any], sync: Call, insert_job: Call
) -> None:
    jobs = [sync(connection) for _ in range(2)]
    records = sum(j["attempts"][0]["attempt"]["recordsSynced"] for j in jobs)
    size = sum(j["attempts"][0]["attempt"]["bytesSynced"] for j in jobs)
    failed = insert_job(connection["connectionId"], status="running")
    fail_attempt_of(failed, "the source could not connect", int(time.time()))

    stats = call("connections/stats", {"connectionId": connection["connectionId"]})
    assert stats["syncs"] == {"succeeded": 2, "failed": 1, "cancelled": 0, "running": 0, "pending": 0}
    assert (stats["recordsSynced"], stats["bytesSynced"]) == (records, size) and records > 0
    assert stats["windowEnd"] - stats["windowStart"] == 7 * 86400 and stats["bucketSeconds"] == 7 * 86400 // 24
    assert len(stats["throughput"]) == 24 and sum(b["records"] for b in stats["throughput"]) == records
    assert stats["throughput"][-1]["records"] == records  # all of it just now, in the last bucket
    assert stats["streams"] == [{"streamName": "users", "records": records, "bytes": size}]
    [error] = stats["recentErrors"]
    assert (error["jobId"], error["attemptNumber"], error["message"], error["origin"]) == (
        failed,
        1,
        "the source could not connect",
        "source",
    )


def test_stats_keep_to_their_window(call: Call, connection: dict[str, Any], sync: Call) -> None:
    created = sync(connection)["job"]["createdAt"]
    before = call("connections/stats", {"connectionId": connection["connectionId"], "windowEnd": created - 1})
    assert before["syncs"]["succeeded"] == 0 and before["recordsSynced"] == 0 and before["streams"] == []
    narrow = {"connectionId": connection["connectionId"], "windowStart": created - 600, "windowEnd": created + 600, "bucketSeconds": 300}
    stats = call("connections/stats", narrow)
    assert stats["syncs"]["succeeded"] == 1 and [b["start"] for b in stats["throughput"]] == [created - 600 + i * 300 for i in range(4)]


def test_source_and_destination_stats_add_up_their_connections(
    call: Call, create_connection: Call, create_source: Call, create_destination: Call, sync: Call
) -> None:
    source, destination = create_source(), create_destination()
    first = create_connection(source, destination)
    second = create_connection(source, create_destination(path="/local/elsewhere"))
    synced = [sync(first), sync(second)]
    both = sum(j["attempts"][0]["attempt"]["recordsSynced"] for j in synced)
    assert call("sources/stats", {"sourceId": source["sourceId"]})["recordsSynced"] == both
    into = call("destinations/stats", {"destinationId": destination["destinationId"]})
    assert into["syncs"]["succeeded"] == 1 and into["recordsSynced"] == synced[0]["attempts"][0]["attempt"]["recordsSynced"]


def test_stats_of_unknown_ids_are_a_404_and_bad_windows_a_422(call: Call, connection: dict[str, Any]) -> None:
    assert call("connections/stats", {"connectionId": NOWHERE}, status=404)["message"]
    assert call("sources/stats", {"sourceId": NOWHERE}, status=404)["message"]
    assert call("destinations/stats", {"destinationId": NOWHERE}, status=404)["message"]
    backwards = {"connectionId": connection["connectionId"], "windowStart": 2000, "windowEnd": 1000}
    assert call("connections/stats", backwards, status=422)["validationErrors"][0]["propertyPath"] == "$.windowStart"
    tiny = {"connectionId": connection["connectionId"], "bucketSeconds": 30}
    assert call("connections/stats", tiny, status=422)["validationErrors"][0]["propertyPath"] == "$.bucketSeconds"
    assert call("connections/stats", {}, status=422)["validationErrors"][0]["propertyPath"] == "$.connectionId"
