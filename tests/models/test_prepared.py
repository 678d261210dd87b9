"""Prepared queries (by_id, a job's attempts and log lines) read what peewee's own queries read,
on SQLite and PostgreSQL, and refuse a query whose parameters are not its values."""

from __future__ import annotations

import uuid

import pytest

from airpipe import models
from airpipe.models import Attempt, Job, LogLine, Workspace, attempts_of_job, by_id, job_shown, log_lines_of_job
from airpipe.models.db import Prepared
from airpipe.services import bootstrap
from airpipe.settings import Settings


def settings_env(settings: Settings) -> dict[str, str]:
    return {"AIRPIPE_DATA_DIR": str(settings.data_dir), "AIRPIPE_DATABASE_URL": settings.database_url}


def fields(instance: object) -> dict[str, object]:
    return dict(instance.__data__)  # type: ignore[attr-defined]


def test_a_jobs_attempts_and_log_lines_are_those_peewee_reads(client) -> None:
    with models.db.connection_context():
        job, other = (Job.create(config_type="sync", scope="c", status="succeeded", config={"secret": 1}) for _ in range(2))
        second = Attempt.create(job=job, number=1, status="succeeded", stats={"recordsEmitted": 3})
        first = Attempt.create(job=job, number=0, status="failed", failure_summary={"failures": []})
        Attempt.create(job=other, number=0)
        for attempt, message in [(second, "b"), (first, "a"), (second, "c")]:
            LogLine.create(attempt=attempt, level="INFO", message=message)

        attempts = attempts_of_job(job.id)
        assert [a.number for a in attempts] == [0, 1]
        assert [fields(a) for a in attempts] == [fields(a) for a in job.attempts.order_by(Attempt.number)]
        lines = log_lines_of_job(job.id)
        assert [line.message for line in lines] == ["b", "a", "c"]  # in the order they were written
        assert [fields(line) for line in lines] == [fields(line) for line in LogLine.select().order_by(LogLine.id)]
        assert log_lines_of_job(other.id) == [] and attempts_of_job(10**9) == []

        assert fields(by_id(Job, job.id)) == fields(Job.get_by_id(job.id))  # the config decrypted, as peewee does
        assert by_id(Job, 10**9) is None
        (shown,) = job_shown(job.id)  # what jobs/get shows: all but the config, which it would decrypt
        assert fields(shown) == {k: v for k, v in fields(Job.get_by_id(job.id)).items() if k != "config"} and shown.config is None
        workspace = Workspace.select().first()
        assert fields(by_id(Workspace, workspace.id)) == fields(Workspace.get_by_id(workspace.id))
        assert by_id(Workspace, uuid.uuid4()) is None


def test_a_query_whose_parameters_are_not_its_values_is_refused(client) -> None:
    scaled = Prepared(Job, lambda n: Job.select().where(Job.id == n * 2), 3)
    with models.db.connection_context(), pytest.raises(TypeError, match="parameters must be its values"):
        scaled(1)


def test_a_related_row_loads_as_peewee_loads_it(client) -> None:
    with models.db.connection_context():
        job = Job.create(config_type="sync", scope="c", status="succeeded", config={"secret": 1})
        attempt = Attempt.create(job=job, number=0, status="succeeded")
        line = LogLine.create(attempt=attempt, level="INFO", message="m")
        loaded = LogLine.get_by_id(line.id).attempt.job  # two lazy loads, each through by_id
        assert fields(loaded) == fields(Job.get_by_id(job.id))
        orphan = LogLine.get_by_id(line.id)
        orphan.__data__["attempt"] = 10**9
        with pytest.raises(Attempt.DoesNotExist):
            _ = orphan.attempt


def test_a_limit_caps_the_rows_read(client) -> None:
    first_two = Prepared(Job, lambda scope: Job.select().where(Job.scope == scope).order_by(Job.id), "s", limit=2)
    with models.db.connection_context():
        ids = [Job.create(config_type="sync", scope="s", status="succeeded", config={}).id for _ in range(3)]
        assert [job.id for job in first_two("s")] == ids[:2]


#: server-side prepared statements are PostgreSQL's (SQLite keeps a statement cache of its own)
on_postgresql = pytest.mark.parametrize("database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)


@on_postgresql
def test_on_postgresql_a_query_is_prepared_once_per_connection_and_outlives_a_rollback(client) -> None:
    by_scope = Prepared(Job, lambda scope: Job.select().where(Job.scope == scope).order_by(Job.id), "s")
    with models.db.connection_context():
        with pytest.raises(RuntimeError), models.db.atomic():
            Job.create(config_type="sync", scope="s", status="succeeded", config={})
            assert [job.scope for job in by_scope("s")] == ["s"]  # prepared inside the transaction...
            raise RuntimeError("roll back")
        assert by_scope("s") == []  # ...and still there after its rollback
        cursor = models.db.execute_sql("SELECT count(*) FROM pg_prepared_statements WHERE name = %s", (by_scope.name,))
        assert cursor.fetchone()[0] == 1


@on_postgresql
def test_a_statement_that_vanished_is_answered_plain_and_statements_are_turned_off(client, caplog) -> None:
    by_scope = Prepared(Job, lambda scope: Job.select().where(Job.scope == scope), "s")
    with models.db.connection_context():
        Job.create(config_type="sync", scope="s", status="succeeded", config={})
        assert len(by_scope("s")) == 1
        models.db.execute_sql("DEALLOCATE ALL")  # as a pooler resetting its server connection does
        assert len(by_scope("s")) == 1
        assert models.db.obj.prepare is False and "prepared statements are off" in caplog.text
        assert len(by_scope("s")) == 1
        assert models.db.execute_sql("SELECT count(*) FROM pg_prepared_statements").fetchone()[0] == 0


@on_postgresql
def test_with_prepare_off_nothing_is_prepared(client, settings) -> None:
    models.db.obj.close_all()
    bootstrap.open_database(Settings.from_env({**settings_env(settings), "AIRPIPE_DATABASE_PREPARE": "0"}))
    assert models.db.obj.prepare is False
    with models.db.connection_context():
        Job.create(config_type="sync", scope="s", status="succeeded", config={})
        assert len(Prepared(Job, lambda scope: Job.select().where(Job.scope == scope), "s")("s")) == 1
        assert models.db.execute_sql("SELECT count(*) FROM pg_prepared_statements").fetchone()[0] == 0
