"""Opening a deployment's database, the same way in every process (serve, worker, migrate,
connectors): bind it with its secret key, make sure its schema is current, seed the defaults."""

from __future__ import annotations

import peewee

from airpipe import models
from airpipe.errors import SettingsError
from airpipe.services.definitions import ensure_builtin_definitions
from airpipe.services.workspaces import ensure_default_workspace
from airpipe.settings import Settings


def open_database(settings: Settings) -> None:
    """Bind the database of ``settings`` and the key that encrypts its connector configs."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    models.bind(models.open_database(settings.database_url, prepare=settings.database_prepare))
    models.use_key(settings.load_secret_key())


def require_current_schema() -> None:
    """SQLite (the embedded default) is migrated here. PostgreSQL is shared by many processes, so
    its schema is upgraded once, on purpose, by `airpipe migrate`; until then nothing starts."""
    with models.db.connection_context():
        if models.is_sqlite():
            models.migrate()
        elif models.current_version() != models.CURRENT_VERSION:
            raise SettingsError("AIRPIPE_DATABASE_URL", "names a database whose schema is not current: run `airpipe migrate`")


def seed() -> None:
    """The default workspace and the built-in connector definitions."""
    with models.db.connection_context():
        try:
            ensure_default_workspace()
            ensure_builtin_definitions()
        except peewee.IntegrityError:
            pass  # another process seeded at the same moment
