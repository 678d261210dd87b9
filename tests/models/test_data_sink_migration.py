"""Issue 12: a database from before data sinks gets their tables from `airpipe migrate`, and keeps
what it held (kept apart from test_migrations.py, whose list of later tables other work extends)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airpipe import models
from airpipe.models.migrations import UPGRADES, SchemaVersion, _add_data_sinks
from airpipe.services.workspaces import DEFAULT_WORKSPACE_ID


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'before_sinks.db'}"
    url: str = request.getfixturevalue("empty_postgres_url")
    return url


def test_a_database_from_before_data_sinks_is_upgraded(database_url: str) -> None:
    database = models.open_database(database_url)
    models.bind(database)
    try:
        with database.connection_context():
            models.migrate()  # today's schema, made to look like the one before data sinks
            models.Workspace.create(id=DEFAULT_WORKSPACE_ID, name="kept", slug="kept")
            database.drop_tables([models.DataSinkEntry, models.DataSink])
            before = UPGRADES.index(_add_data_sinks) + 1  # version N+1 is reached by UPGRADES[N]
            SchemaVersion.update(version=before).execute()

            assert models.migrate() == models.CURRENT_VERSION
            assert {"data_sink", "data_sink_entry"} <= set(database.get_tables())
            sink = models.DataSink.create(workspace=DEFAULT_WORKSPACE_ID, serial=1, label="after", tags=[])
            models.DataSinkEntry.create(sink=sink.id, key="k", value={"a": 1}, data_type="json")
            assert models.DataSinkEntry.get(models.DataSinkEntry.key == "k").value == {"a": 1}
            assert models.Workspace.get_by_id(DEFAULT_WORKSPACE_ID).name == "kept"
            assert models.migrate() == models.CURRENT_VERSION  # a second run changes nothing
    finally:
        if not database_url.startswith("sqlite"):
            database.close_all()
