"""A database made by the first release is brought to today's schema by `airpipe migrate`
(models.migrate): each step of UPGRADES runs once, in order, on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest

from airpipe import models
from airpipe.models.migrations import SchemaVersion

#: what the first release (schema version 1) did not have
LATER_TABLES = [
    *("worker_beat", "discovered_catalog", "job_event", "notification_delivery", "notification_channel"),
    *("alert_event", "alert", "alert_rule", "application_token", "application", "stream_schedule", "api_key"),
    *("data_sink_entry", "data_sink", "change_record"),
]
LATER_COLUMNS = [
    *(("workspace", column) for column in ("updated_at", "created_by", "updated_by", "tags")),
    *((table, column) for table in ("actor", "connection") for column in ("created_by", "updated_by", "tags")),
    ("job", "created_by"),
]
LATER_INDEXES = {"connection": "connection_source_id_status_created_at_name_id", "job": "job_scope_id"}
POSTGRES_URL = os.environ.get("AIRPIPE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[peewee.Database]:
    if request.param == "sqlite":
        database = models.open_database(f"sqlite:///{tmp_path / 'old.db'}")
        yield database
        return
    import psycopg2

    name = f"airpipe_migrate_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(POSTGRES_URL)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    database = models.open_database(f"{POSTGRES_URL.rsplit('/', 1)[0]}/{name}")
    try:
        yield database
    finally:
        database.close_all()
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_a_first_release_database_is_upgraded_step_by_step(empty_database: peewee.Database) -> None:
    models.bind(empty_database)
    with empty_database.connection_context():
        models.migrate()  # today's schema, then made to look like the first release's
        for table in LATER_TABLES:
            empty_database.execute_sql(f'DROP TABLE "{table}"')
        for index in LATER_INDEXES.values():
            empty_database.execute_sql(f'DROP INDEX "{index}"')
        for table, column in LATER_COLUMNS:
            empty_database.execute_sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
        SchemaVersion.update(version=1).execute()
        assert models.current_version() == 1

        assert models.migrate() == models.CURRENT_VERSION
        assert models.current_version() == models.CURRENT_VERSION
        tables = set(empty_database.get_tables())
        assert set(LATER_TABLES) <= tables
        for table, index in LATER_INDEXES.items():
            assert index in {found.name for found in empty_database.get_indexes(table)}
        for table, column in LATER_COLUMNS:
            assert column in {found.name for found in empty_database.get_columns(table)}
        assert models.migrate() == models.CURRENT_VERSION  # a second run changes nothing


def test_webhook_urls_kept_in_plain_text_before_are_encrypted(empty_database: peewee.Database) -> None:
    from cryptography.fernet import Fernet

    url = "https://hooks.slack.com/services/T0/B0/aVeryLongSecretToken"
    models.bind(empty_database)
    models.use_key(Fernet.generate_key())
    with empty_database.connection_context():
        models.migrate()
        workspace = models.Workspace.create(name="w", slug="w")
        for name, kind in (("chat", "slack"), ("mail", "email")):
            models.NotificationChannel.create(workspace=workspace.id, name=name, kind=kind, events=[])
        # as the release before stored it: the URL as it is (a Value, so no field encrypts it)
        channel = models.NotificationChannel
        channel.update({channel.url: peewee.Value(url)}).where(channel.kind == "slack").execute()
        SchemaVersion.update(version=models.CURRENT_VERSION - 1).execute()

        assert models.migrate() == models.CURRENT_VERSION
        [(stored,)] = empty_database.execute_sql("SELECT url FROM notification_channel WHERE url IS NOT NULL").fetchall()
        assert stored.startswith("gAAAA") and "aVeryLongSecretToken" not in stored
        assert [(c.kind, c.url) for c in channel.select().order_by(channel.name)] == [("slack", url), ("email", None)]
        SchemaVersion.update(version=models.CURRENT_VERSION - 1).execute()
        models.migrate()  # the step run again leaves what it encrypted alone
        assert empty_database.execute_sql("SELECT url FROM notification_channel WHERE url IS NOT NULL").fetchall() == [(stored,)]
