"""Issue 9, items 5 to 7: health tells the truth, a job needing a worker fails fast without one,
a dead worker's attempt is taken over within about a lease, and a queue outage loses no sync.

The first tests drive the ``Watch`` (each worker's beat and reaper) in this process; the rest start
real `airpipe serve` and `airpipe worker` processes on PostgreSQL and Redis (a Redis server of
their own where they stop it: the shared one is never touched).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from suitekit import free_port, users_catalog, wait_until
from synckit import Builder, alive, connector_pids, failure, worker_processes

from airpipe import models
from airpipe.connectors import registry
from airpipe.models import Attempt, Job, WorkerBeat, now
from airpipe.services import scheduler
from airpipe.worker import runner
from airpipe.worker.watch import Watch

FAKER = str(registry.FAKER.id)


# THE WATCH, IN THIS PROCESS


def running_attempt(worker: str, lease_expires_at: int) -> Attempt:
    job = Job.create(config_type="sync", scope="c1", config={}, status="running")
    return Attempt.create(job=job, number=1, worker=worker, lease_expires_at=lease_expires_at)


@pytest.fixture
def database(settings: Any, client: Any) -> Iterator[None]:
    """The suite's database, bound and migrated (through the in-process app), one attempt each."""
    monkeypatch = pytest.MonkeyPatch()
    monkeypatch.setattr(runner.runner_options, "max_attempts", 1)
    with models.db.connection_context():
        yield
    monkeypatch.undo()


def test_a_watch_beats_and_its_worker_is_gone_when_it_stops(database: None) -> None:
    watch = Watch(0.05, lambda job_id, delay: None, worker="w-test")
    watch.start()
    wait_until(lambda: WorkerBeat.get_or_none(WorkerBeat.worker == "w-test") is not None, 5, "the first beat")
    watch.stop()
    assert WorkerBeat.get_or_none(WorkerBeat.worker == "w-test") is None


def test_the_attempt_of_a_worker_that_stopped_beating_is_taken_over(database: None) -> None:
    WorkerBeat.create(worker="dead", beat_at=now() - 3600)
    attempt = running_attempt("dead", now() - 1)
    enqueued: list[int] = []
    watch = Watch(0.05, lambda job_id, delay: enqueued.append(job_id), worker="reaper")
    watch.step()  # the first beat only: the reaper waits until this process is steady
    assert Attempt.get_by_id(attempt.id).status == "running"
    time.sleep(0.06)  # a deliberate gap: longer than the watch's interval, so the next step is a steady one
    watch.step()
    failed = Attempt.get_by_id(attempt.id)
    assert failed.status == "failed"
    assert failed.failure_summary["failures"][0]["externalMessage"] == "the worker running this attempt (dead) stopped responding"


def test_a_worker_that_still_beats_keeps_its_attempt_though_its_lease_lapsed(database: None) -> None:
    # e.g. a database outage: neither its lease renewal nor its beat got through, then its beat did
    WorkerBeat.create(worker="alive")
    attempt = running_attempt("alive", now() - 5)
    watch = Watch(0.0, lambda job_id, delay: None, worker="reaper")
    watch.step()
    watch.step()
    assert Attempt.get_by_id(attempt.id).status == "running"
    assert runner.reap_attempts() == []


def test_a_watch_that_cannot_reach_the_database_reaps_nothing_until_it_has_beaten_again(database: None) -> None:
    WorkerBeat.create(worker="dead", beat_at=now() - 3600)
    attempt = running_attempt("dead", now() - 1)
    watch = Watch(0.05, lambda job_id, delay: None, worker="reaper")
    watch.step()
    time.sleep(0.06)  # a deliberate gap: longer than the watch's interval, so the watch counts as steady
    assert watch.steady
    working = models.db.obj
    models.bind(models.open_database("postgresql://nobody@127.0.0.1:1/none"))
    try:
        watch.step()  # the beat fails
    finally:
        models.bind(working)
    assert not watch.steady
    watch.step()  # reconnected, but not for a whole beat yet
    assert Attempt.get_by_id(attempt.id).status == "running"


def test_a_check_nobody_waits_for_any_more_is_not_run(database: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runner.runner_options, "synchronous_job_ttl", 10)
    job = Job.create(config_type="check_connection_source", scope="s1", config={}, created_at=now() - 11)
    Attempt.create(job=job, number=1)
    assert runner.run_job(job.id) is None
    assert Job.get_by_id(job.id).status == "failed"
    assert Attempt.get(Attempt.job == job.id).lease_expires_at is None  # never claimed


def test_an_abandoned_wait_fails_its_pending_job_but_not_a_claimed_one(database: None) -> None:
    pending = Job.create(config_type="discover_schema", scope="s1", config={})
    running = Job.create(config_type="discover_schema", scope="s1", config={}, status="running")
    scheduler.abandon(pending.id)
    scheduler.abandon(running.id)
    assert [Job.get_by_id(pending.id).status, Job.get_by_id(running.id).status] == ["failed", "running"]


# REAL PROCESSES


class RedisServer:
    """A redis-server of this test's own, which it may stop and start again on the same port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(command, cwd=self.directory, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(self._answers, 10, "redis-server to start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None

    def _answers(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
            return True
        except OSError:
            return False


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server")
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


class PostgresServer:
    """A PostgreSQL cluster of this test's own (initdb as the postgres user), stopped and started
    at will; the shared server on 5432 is never touched."""

    BIN = Path("/usr/lib/postgresql")

    def __init__(self) -> None:
        bins = sorted(self.BIN.glob("*/bin/initdb"))
        if os.geteuid() != 0 or not bins or shutil.which("runuser") is None:
            pytest.skip("needs root, runuser and PostgreSQL's server binaries")
        self.bin = bins[-1].parent
        self.directory = Path(tempfile.mkdtemp(prefix="airpipe-pg-"))
        shutil.chown(self.directory, "postgres")
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"
        self._as_postgres("initdb", "-D", str(self.directory / "data"), "-A", "trust", "-U", "postgres")

    def _as_postgres(self, program: str, *args: str) -> None:
        command = ["runuser", "-u", "postgres", "--", str(self.bin / program), *args]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._as_postgres("pg_ctl", "-D", str(self.directory / "data"), "-o", options, "-l", str(self.directory / "log"), "-w", "start")

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.directory / "data"), "-m", "fast", "-w", "stop")

    def remove(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    server.start()
    yield server
    try:
        server.stop()
    except subprocess.CalledProcessError:
        pass  # stopped by the test
    server.remove()


def health(deployment: Any) -> dict[str, Any]:
    answer = deployment.health()
    assert answer is not None, "the server does not answer"
    return answer


@pytest.mark.postgres
@pytest.mark.redis
def test_without_a_worker_health_is_503_and_a_check_fails_fast(production: Any) -> None:
    deployment = production(workers=0, AIRPIPE_LEASE_SECONDS="3")
    answer = health(deployment)
    assert answer["available"] is False and answer["workers"] == 0
    assert answer["message"] == "no worker has beaten in the last 3 s: start `airpipe worker`"

    started = time.monotonic()
    body = {"sourceDefinitionId": FAKER, "connectionConfiguration": {"count": 1}}
    response = deployment.call("scheduler/sources/check_connection", body, status=503)
    assert time.monotonic() - started < 5
    # (the check needs the connector's spec first, to validate the config: that job is refused)
    assert response == {"message": "no worker is running to read the connector's spec: start `airpipe worker`"}
    with models.db.connection_context():
        assert Job.select().count() == 0  # nothing left behind for a worker to run later, for nobody

    deployment.worker()
    wait_until(lambda: health(deployment)["available"], 15, "health to see the worker")
    assert health(deployment)["workers"] == 1
    assert deployment.call("scheduler/sources/check_connection", body)["status"] == "succeeded"


@pytest.mark.postgres
@pytest.mark.redis
def test_a_killed_worker_is_taken_over_by_a_live_one_within_a_lease_or_so(production: Any) -> None:
    lease = 3
    deployment = production(workers=2, AIRPIPE_LEASE_SECONDS=str(lease), AIRPIPE_RETRY_BACKOFF="0.2", AIRPIPE_MAX_ATTEMPTS="3")
    api = Builder(deployment.call)
    connection = api.connection(api.faker(10**7, state_every=5), api.local_json(), users_catalog("incremental", "append_dedup"))
    job_id = api.call("connections/sync", {"connectionId": connection["connectionId"]})["job"]["id"]
    busy: list[Any] = []

    def one_worker_is_syncing() -> bool:
        busy[:] = [w for w in worker_processes(deployment) if len(connector_pids(w.pid)) == 2]
        return len(busy) == 1

    wait_until(one_worker_is_syncing, 30, "a worker to run the sync")
    [worker] = busy
    connectors = connector_pids(worker.pid)
    for sig in (signal.SIGSTOP, signal.SIGKILL):  # the machine dies
        os.kill(worker.pid, sig)
        for pid in connectors:
            os.killpg(pid, sig)
    died = time.monotonic()
    worker.wait(5)
    wait_until(lambda: not any(alive(pid) for pid in connectors), 5, "the connectors to die")

    info = api.wait_job(job_id, 30, until=lambda info: len(info["attempts"]) == 2)
    taken_over = time.monotonic() - died
    # the lease runs out (<= lease), the beat goes stale (<= lease), the next reap (lease / 3)
    assert taken_over < 3 * lease, taken_over
    assert "stopped responding" in failure(info, 0)["externalMessage"]
    api.call("jobs/cancel", {"id": job_id})


@pytest.mark.postgres
def test_a_sync_requested_while_redis_is_down_is_accepted_and_runs_when_it_is_back(own_redis: RedisServer, production: Any) -> None:
    deployment = production(workers=1, AIRPIPE_REDIS_URL=own_redis.url, AIRPIPE_LEASE_SECONDS="3")
    api = Builder(deployment.call)
    connection = api.connection(api.faker(20), api.local_json(), users_catalog())

    own_redis.stop()
    answer = health(deployment)
    assert answer["available"] is False and answer["queue"] is False
    assert answer["message"].startswith("the queue is unreachable")
    job = api.call("connections/sync", {"connectionId": connection["connectionId"]})["job"]
    assert job["status"] in ("pending", "running")

    own_redis.start()  # empty: the message the API could not send is not in it
    info = api.wait_job(job["id"], 30)
    assert info["job"]["status"] == "succeeded", info
    assert health(deployment)["available"] is True


@pytest.mark.redis
def test_with_postgresql_stopped_health_and_every_operation_answer_503_and_come_back(own_postgres: PostgresServer, production: Any) -> None:
    deployment = production(workers=1, AIRPIPE_DATABASE_URL=own_postgres.url, AIRPIPE_LEASE_SECONDS="3")
    api = Builder(deployment.call)
    connection = api.connection(api.faker(20), api.local_json(), users_catalog())
    assert health(deployment)["available"] is True

    own_postgres.stop()
    answer = health(deployment)
    assert (answer["available"], answer["db"]) == (False, False)
    assert answer["message"].startswith("the database is unreachable")
    response = deployment.call("workspaces/list", {}, status=503)
    assert response == {"message": "the database is unreachable; retry later"}

    own_postgres.start()
    wait_until(lambda: health(deployment)["available"], 30, "health to recover")
    job_id = api.call("connections/sync", {"connectionId": connection["connectionId"]})["job"]["id"]
    assert api.wait_job(job_id, 30)["job"]["status"] == "succeeded"
