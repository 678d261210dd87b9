"""Connector configurations and job configs are encrypted at rest."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from airpipe import models
from airpipe.connectors import registry
from airpipe.errors import SettingsError
from airpipe.models import Actor, Job
from airpipe.settings import Settings

WORKSPACE = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
FAKER = str(registry.FAKER.id)


def raw_column(table: str, column: str) -> list[str]:
    return [row[0] for row in models.db.execute_sql(f'SELECT "{column}" FROM "{table}"').fetchall()]


def test_a_source_config_is_stored_encrypted_and_read_back_clear(client) -> None:
    response = client.post(
        "/api/v1/sources/create",
        json={"workspaceId": WORKSPACE, "sourceDefinitionId": FAKER, "name": "s", "connectionConfiguration": {"count": 7, "seed": 31337}},
    )
    assert response.status_code == 200
    assert client.post("/api/v1/sources/check_connection", json={"sourceId": response.json()["sourceId"]}).json()["status"] == "succeeded"
    with models.db.connection_context():
        (stored,) = raw_column("actor", "configuration")
        assert stored.startswith("gAAAA") and "31337" not in stored
        assert Actor.get().configuration == {"count": 7, "seed": 31337}
        assert all("31337" not in value for value in raw_column("job", "config"))
        assert any(job.config.get("config") == {"count": 7, "seed": 31337} for job in Job.select())


def test_rows_written_before_encryption_are_still_read(client) -> None:
    response = client.post(
        "/api/v1/sources/create",
        json={"workspaceId": WORKSPACE, "sourceDefinitionId": FAKER, "name": "s", "connectionConfiguration": {"count": 7}},
    )
    with models.db.connection_context():
        models.db.execute_sql('UPDATE "actor" SET configuration = \'{"count": 1}\'')
    read = client.post("/api/v1/sources/get", json={"sourceId": response.json()["sourceId"]}).json()
    assert read["connectionConfiguration"] == {"count": 1}


def test_the_embedded_default_creates_a_private_key_file_once(tmp_path: Path) -> None:
    settings = Settings.from_env({"AIRPIPE_DATA_DIR": str(tmp_path)})
    key = settings.load_secret_key()
    assert Fernet(key)  # a valid key
    assert stat.S_IMODE((tmp_path / "secret.key").stat().st_mode) == 0o600
    assert settings.load_secret_key() == key


def test_a_configured_key_wins_and_a_bad_one_names_the_variable(tmp_path: Path) -> None:
    key = Fernet.generate_key()
    settings = Settings.from_env({"AIRPIPE_DATA_DIR": str(tmp_path), "AIRPIPE_SECRET_KEY": key.decode()})
    assert settings.load_secret_key() == key
    assert not (tmp_path / "secret.key").exists()
    with pytest.raises(SettingsError, match="^AIRPIPE_SECRET_KEY 'nope' is not valid: expected a Fernet key"):
        Settings.from_env({"AIRPIPE_SECRET_KEY": "nope"})


def test_a_wrong_key_is_a_clear_error(tmp_path: Path) -> None:
    from airpipe.models.crypto import EncryptedJSONField, use_key

    field = EncryptedJSONField()
    use_key(Fernet.generate_key())
    token = field.db_value({"password": "hunter2"})
    use_key(Fernet.generate_key())
    with pytest.raises(RuntimeError, match="not the key it was written with"):
        field.python_value(token)
