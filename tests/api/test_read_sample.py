"""sources/read_sample and scheduler/sources/read_sample: a few records of one stream, read now by
the real Faker source, answered, and kept nowhere: not in the job row, not in its log lines."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from suitekit import wait_until

from airpipe import models
from airpipe.connectors.errors import ConnectorError
from airpipe.services import scheduler
from airpipe.settings import Settings
from airpipe.worker import handlers, queue, runner

Call = Any
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
FAKER_ID = "a3395a42-d499-4316-9233-0451ac0673d1"
DEFAULT_WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"


def test_a_saved_source_answers_a_sample_and_keeps_none_of_it(call: Call, create_source: Call) -> None:
    source = create_source(50)
    sample = call("sources/read_sample", {"sourceId": source["sourceId"], "streamName": "users", "limit": 3})
    assert sample["streamName"] == "users" and [r["id"] for r in sample["records"]] == [1, 2, 3]
    assert {"email", "updated_at"} <= set(sample["records"][0])
    with models.db.connection_context():
        [job] = models.Job.select().where(models.Job.config_type == "read_sample")
        assert job.status == "succeeded" and job.output is None
        lines = [line.message for line in models.LogLine.select()]
    emails = {r["email"] for r in sample["records"]}
    assert not any(email in line for line in lines for email in emails)
    assert any("read 3 sample records of stream users" in line for line in lines)


def test_an_unsaved_config_answers_a_sample(call: Call, cached_specs: None) -> None:
    body = {"sourceDefinitionId": FAKER_ID, "connectionConfiguration": {"count": 2, "seed": 1}, "streamName": "products", "limit": 10}
    sample = call("scheduler/sources/read_sample", body)
    assert sample["streamName"] == "products" and 0 < len(sample["records"]) <= 10
    invalid = call("scheduler/sources/read_sample", {**body, "connectionConfiguration": {"count": "many"}}, status=422)
    assert "count" in invalid["message"]


def test_a_sample_names_what_is_wrong(call: Call, create_source: Call) -> None:
    source = create_source(5)
    unknown = call("sources/read_sample", {"sourceId": source["sourceId"], "streamName": "nope"}, status=422)
    assert unknown["validationErrors"][0]["propertyPath"] == "$.streamName"
    too_many = call("sources/read_sample", {"sourceId": source["sourceId"], "streamName": "users", "limit": 1001}, status=422)
    assert too_many["validationErrors"][0]["propertyPath"] == "$.limit"
    call("sources/read_sample", {"sourceId": UNKNOWN_ID, "streamName": "users"}, status=404)


def test_a_failed_sample_answers_at_once_with_the_reason(call: Call, create_source: Call, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(source: Any, job: Any) -> Any:
        raise ConnectorError("the API refused the token", [], failure_type="config_error")

    monkeypatch.setattr(handlers.sampling, "read_sample", broken)
    source = create_source(5)
    started = time.monotonic()
    failed = call("sources/read_sample", {"sourceId": source["sourceId"], "streamName": "users"}, status=422)
    assert "Reading a sample failed: the API refused the token" in failed["message"]
    assert time.monotonic() - started < 10  # not after the whole wait (60 s here)


# ABANDONED SAMPLES: the caller gave up while a worker still reads; its answer must not stay in
# the queue's result store (huey keeps results until read, forever on SQLite and Redis alike)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def consumer_client(request: pytest.FixtureRequest, settings: Settings, cache_specs: Callable[[], None]) -> Iterator[TestClient]:
    """The app with its consumer running in-process on a real queue (huey's SQLite storage, or
    Redis), and a short wait for synchronous jobs."""
    from airpipe.api.app import create_app

    redis_url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    settings = dataclasses.replace(settings, job_wait_timeout=2.0, redis_url=redis_url)
    with TestClient(create_app(settings, run_consumer=True), raise_server_exceptions=False) as client:
        with models.db.connection_context():  # the in-process consumer is the live worker
            models.WorkerBeat.create(worker="in-process")
        cache_specs()
        yield client
    if not models.is_sqlite():
        models.db.obj.close_all()


@pytest.fixture
def slow_sample(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """The worker's read of a sample ends only once the returned event is set."""
    release = threading.Event()
    read_sample = handlers.sampling.read_sample

    def slow(source: Any, job: Any) -> Any:
        records = read_sample(source, job)
        assert release.wait(30), "the test never let the sample end"
        return records

    monkeypatch.setattr(handlers.sampling, "read_sample", slow)
    return release


@pytest.fixture
def worker_checks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each worker's look for an abandoned caller found (it follows putting the answer)."""
    found: list[bool] = []
    nobody_waits = runner.nobody_waits

    def noted(job_id: int) -> bool:
        found.append(nobody_waits(job_id))
        return found[-1]

    monkeypatch.setattr(runner, "nobody_waits", noted)
    return found


def sample_times_out(client: TestClient) -> None:
    body = {"workspaceId": DEFAULT_WORKSPACE_ID, "sourceDefinitionId": FAKER_ID, "connectionConfiguration": {"count": 50}, "name": "faker"}
    source = client.post("/api/v1/sources/create", json=body).json()
    body = {"sourceId": source["sourceId"], "streamName": "users", "limit": 3, "timeoutSeconds": 1}
    response = client.post("/api/v1/sources/read_sample", json=body)
    assert response.status_code == 504, response.text
    assert "did not finish in time" in response.json()["message"]


def no_answer_stays() -> None:
    wait_until(lambda: queue.huey.storage.result_store_size() == 0, 10, "the abandoned answer to go")


def test_an_answer_that_comes_after_the_caller_gave_up_is_not_kept(
    consumer_client: TestClient, slow_sample: threading.Event, worker_checks: list[bool]
) -> None:
    sample_times_out(consumer_client)
    slow_sample.set()  # the worker ends its read now, with no one waiting
    wait_until(lambda: worker_checks, 20, "the worker to answer")
    assert worker_checks == [True]
    no_answer_stays()
    with models.db.connection_context():
        [job] = models.Job.select().where(models.Job.config_type == "read_sample")
        events = [e.status for e in models.JobEvent.select().where(models.JobEvent.job == job.id, models.JobEvent.attempt_number.is_null())]
    assert job.status == "succeeded" and models.ABANDONED in events


def test_an_answer_that_came_just_before_the_caller_gave_up_is_not_kept(
    consumer_client: TestClient,
    slow_sample: threading.Event,
    worker_checks: list[bool],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The race: the wait timed out, then the worker answered and found no note, then the caller
    noted that it gave up. The caller removes that answer."""
    abandon = scheduler.abandon

    def late(job_id: int) -> None:
        slow_sample.set()
        wait_until(lambda: worker_checks, 20, "the worker to answer")
        abandon(job_id)

    monkeypatch.setattr(scheduler, "abandon", late)
    sample_times_out(consumer_client)
    assert worker_checks == [False]  # the worker kept its answer for the caller...
    no_answer_stays()  # ...who removed it
