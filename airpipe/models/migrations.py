"""Schema creation and upgrades.

A new database gets today's tables and is stamped with the newest version. An existing one is
brought forward by the steps in ``UPGRADES`` (each a function of a ``playhouse.migrate``
migrator), so a later release can upgrade a database an earlier one created.
"""

from __future__ import annotations

from collections.abc import Callable

import peewee
from playhouse.migrate import PostgresqlMigrator, SchemaMigrator, SqliteMigrator
from playhouse.migrate import migrate as migrate_

from airpipe.models.alerts import Alert, AlertEvent, AlertRule
from airpipe.models.api_keys import ApiKey
from airpipe.models.applications import Application, ApplicationToken
from airpipe.models.config import Actor, ActorDefinition, Connection, ConnectionState, DiscoveredCatalog, StreamSchedule, Workspace
from airpipe.models.crypto import is_encrypted
from airpipe.models.data_sinks import DataSink, DataSinkEntry
from airpipe.models.db import BaseModel, db, is_sqlite, transaction
from airpipe.models.history import ChangeRecord
from airpipe.models.jobs import Attempt, Job, JobEvent, LogLine, WorkerBeat
from airpipe.models.notifications import NotificationChannel, NotificationDelivery

ALL_MODELS = [
    *(Workspace, ActorDefinition, Actor, DiscoveredCatalog, Connection, ConnectionState),
    *(Job, Attempt, LogLine, WorkerBeat, JobEvent, NotificationChannel, NotificationDelivery),
    *(AlertRule, Alert, AlertEvent, Application, ApplicationToken, StreamSchedule, ApiKey),
    *(DataSink, DataSinkEntry, ChangeRecord),
]


class SchemaVersion(BaseModel):
    version = peewee.IntegerField()


def _add_worker_beats(migrator: SchemaMigrator) -> None:
    db.create_tables([WorkerBeat])


def _add_discovered_catalogs(migrator: SchemaMigrator) -> None:
    db.create_tables([DiscoveredCatalog])


def _index_connections_in_list_order(migrator: SchemaMigrator) -> None:
    migrate_(migrator.add_index("connection", ("source_id", "status", "created_at", "name", "id"), False))


def _index_jobs_in_list_order(migrator: SchemaMigrator) -> None:
    migrate_(migrator.add_index("job", ("scope", "id"), False))


def _add_job_events(migrator: SchemaMigrator) -> None:
    db.create_tables([JobEvent])


def _add_notifications(migrator: SchemaMigrator) -> None:
    db.create_tables([NotificationChannel, NotificationDelivery])


def _add_alerts(migrator: SchemaMigrator) -> None:
    db.create_tables([AlertRule, Alert, AlertEvent])


def _add_applications(migrator: SchemaMigrator) -> None:
    db.create_tables([Application, ApplicationToken])


def _add_stream_schedules(migrator: SchemaMigrator) -> None:
    db.create_tables([StreamSchedule])


def _add_api_keys(migrator: SchemaMigrator) -> None:
    db.create_tables([ApiKey])


def _add_data_sinks(migrator: SchemaMigrator) -> None:
    db.create_tables([DataSink, DataSinkEntry])


def _add_authorship_and_tags(migrator: SchemaMigrator) -> None:
    """Who created and last changed each workspace, source, destination and connection (and who
    started each job), and their tags: nullable, since rows from before have none; and the change
    history of sources, destinations and connections from now on."""
    def text() -> peewee.Field:
        return peewee.TextField(null=True)

    changes = [migrator.add_column("workspace", "updated_at", peewee.BigIntegerField(null=True))]
    for table in ("workspace", "actor", "connection"):
        changes += [migrator.add_column(table, name, text()) for name in ("created_by", "updated_by", "tags")]
    changes.append(migrator.add_column("job", "created_by", text()))
    migrate_(*changes)
    db.create_tables([ChangeRecord])


def _encrypt_notification_urls(migrator: SchemaMigrator) -> None:
    """Webhook URLs are credentials (a Slack incoming webhook posts for whoever has it): those
    stored in plain text before are encrypted like connector configs. Same column, so only the
    rows change; the key is bound before any migration runs (bootstrap.open_database)."""
    rows = db.execute_sql("SELECT id, url FROM notification_channel WHERE url IS NOT NULL").fetchall()
    for channel_id, url in rows:
        if not is_encrypted(url):
            NotificationChannel.update(url=url).where(NotificationChannel.id == channel_id).execute()


#: version N+1 is reached by UPGRADES[N]; version 1 is the first release's schema.
UPGRADES: list[Callable[[SchemaMigrator], None]] = [
    _add_worker_beats,
    _add_discovered_catalogs,
    _index_connections_in_list_order,
    _index_jobs_in_list_order,
    _add_job_events,
    _add_notifications,
    _add_alerts,
    _add_applications,
    _add_stream_schedules,
    _add_api_keys,
    _add_data_sinks,
    _add_authorship_and_tags,
    _encrypt_notification_urls,
]
CURRENT_VERSION = 1 + len(UPGRADES)


def current_version() -> int | None:
    if not db.table_exists(SchemaVersion._meta.table_name):
        return None
    row = SchemaVersion.select().order_by(SchemaVersion.version.desc()).first()
    return row.version if row else None


def migrate() -> int:
    """Create or upgrade the schema; returns the version the database is at."""
    with transaction():
        version = current_version()
        if version is None:
            db.create_tables([SchemaVersion, *ALL_MODELS])
            SchemaVersion.create(version=CURRENT_VERSION)
            return CURRENT_VERSION
        migrator = SqliteMigrator(db.obj) if is_sqlite() else PostgresqlMigrator(db.obj)
        for step in UPGRADES[version - 1 :]:
            step(migrator)
        if version != CURRENT_VERSION:
            SchemaVersion.update(version=CURRENT_VERSION).execute()
        return CURRENT_VERSION
