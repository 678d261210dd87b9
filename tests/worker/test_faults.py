"""What the sync engine guarantees when things go wrong, with real processes and no mocks.

The first half runs jobs inline through the in-process API (SQLite and PostgreSQL) with
source-scripted (programs/scripted.py) misbehaving as told; retries are driven by calling the
runner the way the queue would. The second half starts real `airpipe serve` and `airpipe worker`
processes: cancel, two workers racing, a worker killed with SIGKILL, a queue that lost its messages.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import redis
from suitekit import users_catalog, wait_until
from synckit import (
    Builder,
    Deployment,
    alive,
    connector_pids,
    data,
    failure,
    items_catalog,
    log_lines,
    queue_keys,
    read_jsonl,
    worker_processes,
)

from airpipe import models
from airpipe.models import Attempt, LogLine, now
from airpipe.settings import Settings
from airpipe.worker import queue, runner, tasks

SECRET = "hunter2-s3cret-value"


def runs(path: Path) -> list[dict[str, Any]]:
    """What source-scripted wrote to its runs_file: one entry per read."""
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def run_due(job_id: int) -> float | None:
    """Run the job's next attempt as the queue would once its backoff is over."""
    return runner.run_job(job_id)


# FAULTY SOURCES (jobs inline, one attempt)


def test_crashing_source_fails_the_attempt_with_its_last_lines(api: Builder, programs: Path, settings: Settings) -> None:
    connection = api.connection(api.scripted(fail_after=0, exit_code=3), api.local_json(), items_catalog())
    info = api.sync(connection)
    assert info["job"]["status"] == "failed", info
    assert len(info["attempts"]) == 1
    reason = failure(info)
    assert reason["failureOrigin"] == "source"
    assert reason["externalMessage"] == "the source exited with code 3"
    assert reason["failureType"] == "system_error" and reason["retryable"] is True
    lines = log_lines(info)
    assert any("RuntimeError: scripted crash after 0 records" in line for line in lines)
    # the error logged for the attempt quotes the connector's last lines
    [summary] = [line for line in lines if "the source exited with code 3" in line]
    assert "last log lines:" in summary and "scripted crash after 0 records" in summary
    assert not (settings.local_root / "out" / "items.jsonl").exists()


def test_garbage_lines_are_logged_and_the_sync_succeeds(api: Builder, programs: Path, settings: Settings) -> None:
    connection = api.connection(api.scripted(records=9, garbage=True), api.local_json(), items_catalog())
    info = api.sync(connection)
    assert info["job"]["status"] == "succeeded", info
    assert info["attempts"][0]["attempt"]["recordsSynced"] == 9
    assert [r["id"] for r in data(settings.local_root / "out" / "items.jsonl")] == list(range(1, 10))
    lines = log_lines(info)
    for n in (3, 6, 9):
        assert any(line.endswith(f"INFO garbage line {n}: not json at all") for line in lines), lines
    assert sum("invalid message dropped" in line and '{"no": "type here"}' in line for line in lines) == 3


def test_source_exiting_non_zero_after_some_records(api: Builder, programs: Path) -> None:
    source = api.scripted(records=10, state_every=2, fail_after=5, exit_code=7)
    connection = api.connection(source, api.local_json(), items_catalog("incremental", "append"))
    info = api.sync(connection)
    assert info["job"]["status"] == "failed", info
    attempt = info["attempts"][0]["attempt"]
    assert attempt["recordsSynced"] == 5
    assert attempt["totalStats"]["stateMessagesEmitted"] == 2
    assert failure(info)["externalMessage"] == "the source exited with code 7"
    assert any("RuntimeError: scripted crash after 5 records" in line for line in log_lines(info))


def test_source_trace_error_is_the_failure_message(api: Builder, programs: Path) -> None:
    source = api.scripted(records=10, fail_after=2, fail_mode="trace", failure_type="transient_error")
    info = api.sync(api.connection(source, api.local_json(), items_catalog()))
    assert info["job"]["status"] == "failed", info
    reason = failure(info)
    assert reason["externalMessage"] == "scripted transient_error failure"
    assert reason["failureType"] == "transient_error" and reason["failureOrigin"] == "source"


# AIRPIPE_SANDBOX=off in three tests: source-scripted reports its pid and writes files where the test reads them
@pytest.mark.settings(AIRPIPE_SOURCE_SILENCE_TIMEOUT="1.5", AIRPIPE_SANDBOX="off")
def test_hanging_source_is_stopped_after_the_silence_timeout(api: Builder, programs: Path, tmp_path: Path) -> None:
    runs_file = tmp_path / "runs.jsonl"
    source = api.scripted(records=10, fail_after=4, fail_mode="hang", runs_file=str(runs_file))
    connection = api.connection(source, api.local_json(), items_catalog())
    started = time.monotonic()
    info = api.sync(connection)
    assert time.monotonic() - started < 15
    assert info["job"]["status"] == "failed", info
    reason = failure(info)
    assert reason["externalMessage"] == "the source sent nothing for 1.5 s and was stopped"
    assert reason["failureOrigin"] == "source"
    lines = log_lines(info)
    assert any("hanging after 4 records" in line for line in lines)  # its stderr, kept in the log
    [summary] = [line for line in lines if "the source sent nothing" in line]
    assert "last log lines:" in summary and "hanging after 4 records" in summary
    [run] = runs(runs_file)
    assert not alive(run["pid"])


def test_secrets_never_reach_the_stored_log_lines(api: Builder, programs: Path) -> None:
    source = api.scripted(records=3, password=SECRET)
    assert source["connectionConfiguration"]["password"] == "**********"
    info = api.sync(api.connection(source, api.local_json(), items_catalog()))
    assert info["job"]["status"] == "succeeded", info
    with models.db.connection_context():
        stored = [line.message for line in LogLine.select()]
    assert any("connecting with password" in line for line in stored)  # the stderr line is kept...
    assert any("the password is" in line for line in stored)  # ...and so is the LOG message,
    assert not [line for line in stored if SECRET in line]  # but never the secret itself
    assert SECRET not in json.dumps(info)


def test_secrets_never_reach_the_failure_summary(api: Builder, programs: Path) -> None:
    source = api.scripted(records=3, fail_after=1, fail_mode="trace", password=SECRET)
    info = api.sync(api.connection(source, api.local_json(), items_catalog()))
    assert info["job"]["status"] == "failed", info
    assert failure(info)["externalMessage"].startswith("scripted system_error failure with password ")
    assert SECRET not in json.dumps(info)


# RETRIES (the first attempt runs inline; the next ones are run here, as the queue would)


@pytest.mark.settings(AIRPIPE_MAX_ATTEMPTS="3", AIRPIPE_RETRY_BACKOFF="0.01", AIRPIPE_SANDBOX="off")
def test_a_failed_attempt_is_retried_and_the_job_reads_running_between(
    api: Builder, programs: Path, tmp_path: Path, settings: Settings
) -> None:
    source = api.scripted(records=6, fail_after=0, once_marker=str(tmp_path / "failed-once"))
    connection = api.connection(source, api.local_json(), items_catalog())
    info = api.sync(connection)
    job_id = info["job"]["id"]
    assert info["job"]["status"] == "running", info  # between attempts
    assert [a["attempt"]["status"] for a in info["attempts"]] == ["failed", "running"]
    assert failure(info, 0)["retryable"] is True
    assert [task.args for task in queue.huey.scheduled()] == [(job_id,)]  # the retry's own message

    assert run_due(job_id) is None
    info = api.job(job_id)
    assert info["job"]["status"] == "succeeded", info
    assert [a["attempt"]["status"] for a in info["attempts"]] == ["failed", "succeeded"]
    assert [r["id"] for r in data(settings.local_root / "out" / "items.jsonl")] == list(range(1, 7))
    assert run_due(job_id) is None  # a late duplicate message changes nothing
    assert len(api.job(job_id)["attempts"]) == 2


@pytest.mark.settings(AIRPIPE_MAX_ATTEMPTS="3", AIRPIPE_RETRY_BACKOFF="0.01")
def test_attempts_stop_at_max_attempts(api: Builder, programs: Path) -> None:
    info = api.sync(api.connection(api.scripted(fail_after=0), api.local_json(), items_catalog()))
    job_id = info["job"]["id"]
    assert run_due(job_id) is not None  # attempt 2 fails, attempt 3 is scheduled
    assert api.job(job_id)["job"]["status"] == "running"
    assert run_due(job_id) is None  # attempt 3 fails: that was the last one
    info = api.job(job_id)
    assert info["job"]["status"] == "failed"
    assert [a["attempt"]["status"] for a in info["attempts"]] == ["failed"] * 3


@pytest.mark.settings(AIRPIPE_MAX_ATTEMPTS="3", AIRPIPE_RETRY_BACKOFF="0.01")
def test_a_config_error_is_not_retried(api: Builder, programs: Path) -> None:
    source = api.scripted(fail_after=0, fail_mode="trace", failure_type="config_error")
    info = api.sync(api.connection(source, api.local_json(), items_catalog()))
    assert info["job"]["status"] == "failed", info
    assert len(info["attempts"]) == 1
    reason = failure(info)
    assert reason["failureType"] == "config_error" and reason["retryable"] is False
    assert reason["externalMessage"] == "scripted config_error failure"
    assert queue.huey.scheduled() == []


@pytest.mark.settings(AIRPIPE_MAX_ATTEMPTS="3", AIRPIPE_RETRY_BACKOFF="0.01", AIRPIPE_SANDBOX="off")
def test_the_next_attempt_resumes_from_the_checkpoint(api: Builder, programs: Path, tmp_path: Path, settings: Settings) -> None:
    runs_file = tmp_path / "runs.jsonl"
    source = api.scripted(
        records=20,
        state_every=5,
        fail_after=12,
        fail_pause=0.5,  # the destination starts and echoes the states before the source fails
        once_marker=str(tmp_path / "failed-once"),
        runs_file=str(runs_file),
    )
    connection = api.connection(source, api.local_json(), items_catalog("incremental", "append_dedup"))
    info = api.sync(connection)
    job_id = info["job"]["id"]
    assert info["job"]["status"] == "running", info
    assert info["attempts"][0]["attempt"]["recordsSynced"] == 12
    # the checkpoint: the last state the destination echoed (after record 10, not 12)
    state = api.state(connection)
    assert state["streamState"][0]["streamState"] == {"updated_at": 10}, state

    assert run_due(job_id) is None
    info = api.job(job_id)
    assert info["job"]["status"] == "succeeded", info
    assert info["attempts"][1]["attempt"]["recordsSynced"] == 10  # 11..20: the first ten were not read again
    first, second = runs(runs_file)
    assert first["state"] is None
    assert second["state"] == [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "items"}, "stream_state": {"updated_at": 10}}}]
    ids = Counter(r["id"] for r in data(settings.local_root / "out" / "items.jsonl"))
    assert ids == {i: 1 for i in range(1, 21)}  # 11 and 12 were written twice, and deduplicated
    assert api.state(connection)["streamState"][0]["streamState"] == {"updated_at": 20}


# REAL PROCESSES


def test_cancel_stops_the_connectors_and_nothing_follows(
    deployment_factory: Any, bound_database: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    deployment: Deployment = deployment_factory()  # the embedded default: SQLite and an in-process consumer
    server = deployment.serve()
    api = Builder(deployment.call)
    connection = api.connection(api.faker(10**9), api.local_json(), users_catalog("full_refresh", "overwrite"))
    job_id = api.call("connections/sync", {"connectionId": connection["connectionId"]})["job"]["id"]
    api.wait_job(job_id, 30, until=lambda info: info["attempts"] and (info["attempts"][0]["attempt"]["recordsSynced"] or 0) > 0)
    # the source is reading; the destination may still be starting (inside bubblewrap, say)
    connectors = wait_until(
        lambda: len(pids := connector_pids(server.pid)) == 2 and pids,
        10,
        "both connectors to run",
    )

    cancelled = api.call("jobs/cancel", {"id": job_id})
    stopped = time.monotonic()
    assert cancelled["job"]["status"] == "cancelled"
    wait_until(lambda: not any(alive(pid) for pid in connectors), 5, "the connectors to exit after the cancel")
    assert time.monotonic() - stopped < 5

    info = api.wait_job(job_id, 10, until=lambda info: any("the job was cancelled" in line for line in log_lines(info)))
    assert info["job"]["status"] == "cancelled"
    assert len(info["attempts"]) == 1
    assert info["attempts"][0]["attempt"]["status"] == "failed"
    assert failure(info)["failureType"] == "manual_cancellation"
    out = deployment.local_root / "out"
    assert not out.exists() or list(out.iterdir()) == []  # the overwrite was abandoned, its temporary file removed
    assert server.poll() is None

    # nothing brings it back: no retry, no new job, and the sweep finds nothing to re-send
    time.sleep(1.5)  # a deliberate window in which nothing may happen (an absence cannot be polled for)
    assert [j["job"]["id"] for j in api.jobs(connection)] == [job_id]
    bound_database(deployment.env)
    monkeypatch.setattr(runner, "LOST_AFTER", 0)
    assert [due for due in runner.tick() if due[0] == job_id] == []
    assert api.job(job_id)["job"]["status"] == "cancelled"


@pytest.mark.postgres
@pytest.mark.redis
def test_two_workers_run_each_job_exactly_once(production: Any) -> None:
    deployment = production(workers=2)
    api = Builder(deployment.call)
    source = api.faker(50)
    connections = [api.connection(source, api.local_json(f"/local/c{i}"), users_catalog("full_refresh", "append")) for i in range(6)]
    job_ids = []
    for connection in connections:
        job_id = api.call("connections/sync", {"connectionId": connection["connectionId"]})["job"]["id"]
        tasks.enqueue_job(job_id)  # the same job, twice more: duplicate messages race for it
        tasks.enqueue_job(job_id)
        job_ids.append(job_id)
    for i, job_id in enumerate(job_ids):
        info = api.wait_job(job_id, 60)
        assert info["job"]["status"] == "succeeded", info
        assert len(info["attempts"]) == 1
        # append mode: a second run of the job would have doubled the file
        assert [r["id"] for r in data(deployment.local_root / f"c{i}" / "users.jsonl")] == list(range(1, 51))
    with models.db.connection_context():
        assert Attempt.select().where(Attempt.job.in_(job_ids)).count() == len(job_ids)
        workers = {a.worker for a in Attempt.select().where(Attempt.job.in_(job_ids))}
    assert len(workers) in (1, 2) and all(workers)
    assert all(p.poll() is None for p in worker_processes(deployment))


@pytest.mark.postgres
@pytest.mark.redis
def test_concurrent_sync_calls_share_one_job(production: Any, programs: Path) -> None:
    deployment = production(workers=2)
    api = Builder(deployment.call)
    source = api.scripted(records=20, delay=0.1)  # two seconds: every call below comes while it runs
    connection = api.connection(source, api.local_json(), items_catalog("full_refresh", "append"))
    barrier = threading.Barrier(8)
    answers: list[Any] = []

    def sync() -> None:
        barrier.wait(10)
        answers.append(api.call("connections/sync", {"connectionId": connection["connectionId"]}))

    threads = [threading.Thread(target=sync) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(answers) == 8
    [job_id] = {answer["job"]["id"] for answer in answers}
    info = api.wait_job(job_id, 30)
    assert info["job"]["status"] == "succeeded", info
    assert len(info["attempts"]) == 1
    assert [j["job"]["id"] for j in api.jobs(connection)] == [job_id]
    assert [r["id"] for r in data(deployment.local_root / "out" / "items.jsonl")] == list(range(1, 21))


@pytest.mark.postgres
@pytest.mark.redis
def test_a_worker_killed_mid_sync_is_taken_over(production: Any) -> None:
    count = 400_000  # long enough to be caught mid-way on a loaded machine
    deployment = production(workers=1, AIRPIPE_LEASE_SECONDS="3", AIRPIPE_RETRY_BACKOFF="0.2", AIRPIPE_MAX_ATTEMPTS="3")
    [worker] = worker_processes(deployment)
    api = Builder(deployment.call)
    connection = api.connection(api.faker(count, state_every=5), api.local_json(), users_catalog("incremental", "append_dedup"))
    job_id = api.call("connections/sync", {"connectionId": connection["connectionId"]})["job"]["id"]

    # mid-sync: records are flowing and a checkpoint is stored
    api.wait_job(
        job_id,
        30,
        until=lambda info: (info["attempts"][0]["attempt"]["recordsSynced"] or 0) > 0
        and api.state(connection)["stateType"] == "stream"
        and len(connector_pids(worker.pid)) == 2,
    )
    connectors = connector_pids(worker.pid)
    # the machine dies: everything stops at once, then is gone (connectors run in sessions of their own)
    for sig in (signal.SIGSTOP, signal.SIGKILL):
        os.kill(worker.pid, sig)
        for pid in connectors:
            os.killpg(pid, sig)
    worker.wait(5)
    wait_until(lambda: not any(alive(pid) for pid in connectors), 5, "the connectors to die")
    info = api.job(job_id)
    assert info["job"]["status"] == "running"
    records_before = info["attempts"][0]["attempt"]["recordsSynced"]
    assert 0 < records_before < count, "the sync was not mid-way when its worker was killed"
    checkpoint = api.state(connection)["streamState"][0]["streamState"]["updated_at"]

    with models.db.connection_context():
        wait_until(lambda: Attempt.get(Attempt.job == job_id).lease_expires_at < now(), 10, "the lease to expire", interval=0.2)
    deployment.worker()  # its start-up sweep takes over the attempt whose lease expired
    info = api.wait_job(job_id, 60)
    assert info["job"]["status"] == "succeeded", info
    assert [a["attempt"]["status"] for a in info["attempts"]] == ["failed", "succeeded"]
    assert "stopped responding" in failure(info, 0)["externalMessage"]
    resumed = [line for line in log_lines(info, 1) if "users: reading records" in line]
    assert resumed and "reading records 1 to" not in resumed[0], resumed  # from the checkpoint, not the start
    assert info["attempts"][1]["attempt"]["recordsSynced"] < count
    assert checkpoint >= "2024-01-01T00:00:05Z"

    ids = Counter(r["id"] for r in data(deployment.local_root / "out" / "users.jsonl"))
    assert len(ids) == count and set(ids.values()) == {1} and min(ids) == 1 and max(ids) == count


@pytest.mark.postgres
@pytest.mark.redis
def test_connectors_of_a_killed_worker_commit_nothing(production: Any) -> None:
    deployment = production(workers=1)
    [worker] = worker_processes(deployment)
    api = Builder(deployment.call)
    source = api.faker(50)
    connection = api.connection(source, api.local_json(), users_catalog("full_refresh", "overwrite"))
    assert api.wait_job(api.sync(connection)["job"]["id"], 30)["job"]["status"] == "succeeded"
    before = read_jsonl(deployment.local_root / "out" / "users.jsonl")

    api.update_source(source, count=10**9)
    job_id = api.call("connections/sync", {"connectionId": connection["connectionId"]})["job"]["id"]
    api.wait_job(job_id, 30, until=lambda info: info["attempts"] and (info["attempts"][0]["attempt"]["recordsSynced"] or 0) > 0)
    connectors = connector_pids(worker.pid)
    assert len(connectors) == 2
    os.kill(worker.pid, signal.SIGKILL)  # the worker alone
    worker.wait(5)
    try:
        wait_until(lambda: not any(alive(pid) for pid in connectors), 10, "the orphaned connectors to exit")
    finally:
        for pid in connectors:
            if alive(pid):
                os.killpg(pid, signal.SIGKILL)
    assert read_jsonl(deployment.local_root / "out" / "users.jsonl") == before


@pytest.mark.postgres
@pytest.mark.redis
def test_lost_queue_messages_are_sent_again_by_the_tick(production: Any, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    deployment = production(workers=1)
    api = Builder(deployment.call)
    connection = api.connection(api.faker(20), api.local_json(), users_catalog())
    [worker] = worker_processes(deployment)
    worker.terminate()  # nobody takes jobs now
    worker.wait(15)

    job_id = api.call("connections/sync", {"connectionId": connection["connectionId"]})["job"]["id"]
    assert queue.huey.pending_count() == 1
    # Redis restarted and lost the queue: this test's keys only, the server is shared
    assert redis.Redis.from_url(redis_url).delete(*queue_keys()) >= 1
    assert queue.huey.pending_count() == 0

    assert [due for due in runner.tick() if due[0] == job_id] == []  # not lost yet: just queued
    monkeypatch.setattr(runner, "LOST_AFTER", 0)
    with models.db.connection_context():
        scheduled = Attempt.get(Attempt.job == job_id).scheduled_at
    wait_until(lambda: now() > scheduled, 3, "a second to pass")
    tasks.tick.call_local()
    assert queue.huey.pending_count() == 1

    deployment.worker()
    info = api.wait_job(job_id, 30)
    assert info["job"]["status"] == "succeeded", info
    assert len(info["attempts"]) == 1
    assert len(read_jsonl(deployment.local_root / "out" / "users.jsonl")) == 20
