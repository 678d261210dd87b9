"""`airpipe --version`, and `serve` flags: a flag beats its environment variable, which beats the default."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from suitekit import free_port, wait_until

from airpipe import __version__

pytestmark = pytest.mark.e2e
AIRPIPE = [sys.executable, "-m", "airpipe.cli"]


def test_version() -> None:
    result = subprocess.run([*AIRPIPE, "--version"], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == f"airpipe {__version__}"


def test_serve_flags_override_the_environment(tmp_path: Path) -> None:
    import urllib.request

    port, ignored = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRPIPE_")}
    env.update(AIRPIPE_PORT=str(ignored), AIRPIPE_DATA_DIR=str(tmp_path / "from-env"), AIRPIPE_LOG_LEVEL="DEBUG")
    flags = ["--port", str(port), "--data-dir", str(tmp_path / "from-flag"), "--log-level", "warning", "--workers", "2"]
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([*AIRPIPE, "serve", *flags], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path)

    def healthy() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(healthy, 30, "the server on the flag's port")
    finally:
        server.terminate()
        server.wait(15)
        log.close()
    assert (tmp_path / "from-flag" / "airpipe.db").exists() and not (tmp_path / "from-env").exists()
    text = (tmp_path / "serve.log").read_text()
    assert " INFO " not in text and " DEBUG " not in text  # --log-level warning beat AIRPIPE_LOG_LEVEL=DEBUG


def test_a_bad_flag_is_refused_with_a_message() -> None:
    result = subprocess.run([*AIRPIPE, "serve", "--log-level", "loud"], capture_output=True, text=True)
    assert result.returncode == 2 and "invalid choice: 'LOUD'" in result.stderr
