"""GET /metrics: the deployment's job figures from the database, and this process's request
latency, in Prometheus's text format."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families
from starlette.testclient import TestClient

Call = Any


def scrape(client: TestClient, path: str = "/metrics") -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get(path)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_count_jobs_records_durations_and_requests(
    client: TestClient, call: Call, connection: dict[str, Any], sync: Call, insert_job: Call
) -> None:
    job = sync(connection)
    records = job["attempts"][0]["attempt"]["recordsSynced"]
    assert records > 0
    insert_job("waiting-connection")  # a job whose attempt no worker has taken
    metrics = scrape(client)
    assert metrics[("airpipe_jobs", (("status", "succeeded"), ("type", "sync")))] == 1
    assert metrics[("airpipe_jobs", (("status", "pending"), ("type", "sync")))] == 1
    assert metrics[("airpipe_records_synced_total", ())] == records
    assert metrics[("airpipe_bytes_synced_total", ())] == job["attempts"][0]["attempt"]["bytesSynced"]
    assert metrics[("airpipe_sync_duration_seconds_count", ())] == 1
    assert metrics[("airpipe_sync_duration_seconds_bucket", (("le", "+Inf"),))] == 1
    assert metrics[("airpipe_queue_depth", ())] == 1
    assert metrics[("airpipe_workers_alive", ())] >= 0
    assert metrics[("airpipe_http_request_duration_seconds_count", (("operation", "connections.sync"),))] >= 1
    assert ("process_resident_memory_bytes", ()) in metrics
    # the same under the API's prefixes
    assert scrape(client, "/api/v1/metrics")[("airpipe_jobs", (("status", "succeeded"), ("type", "sync")))] == 1
    assert ("airpipe_queue_depth", ()) in scrape(client, "/v1/metrics")
