"""Fixtures of the tests that install real connectors from PyPI (`make test-connectors`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from airpipe.settings import Settings

#: installed connectors are kept between runs, so only the first run downloads
CONNECTORS_CACHE = Path(os.environ.get("AIRPIPE_TEST_CONNECTORS_DIR") or Path.home() / ".cache" / "airpipe-tests" / "connectors")


@pytest.fixture
def database_url(empty_postgres_url: str) -> str:
    """airpipe's own database in PostgreSQL too (the default suite covers SQLite)."""
    return empty_postgres_url


@pytest.fixture
def airpipe(settings: Settings) -> Any:
    """``airpipe("connectors", "list")``: the command on the test's data directory, database and
    sandbox mode, whose connectors directory is the cache kept between runs."""
    CONNECTORS_CACHE.mkdir(parents=True, exist_ok=True)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    (settings.data_dir / "connectors").symlink_to(CONNECTORS_CACHE, target_is_directory=True)

    def run(*args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRPIPE_")}
        env.update(AIRPIPE_DATA_DIR=str(settings.data_dir), AIRPIPE_DATABASE_URL=settings.database_url, AIRPIPE_SANDBOX=settings.sandbox)
        result = subprocess.run([sys.executable, "-m", "airpipe.cli", *args], env=env, capture_output=True, text=True, timeout=1200)
        assert result.returncode == 0, result.stdout + result.stderr[-5000:]
        return result.stdout

    return run
