"""What the fault tests share. For issue 9 items 3, 9 and 11 (run directories, the sandbox, the
local root): two third-party connectors as executables on PATH, helpers to look for a secret left
on disk, and the ``mode``/``settings`` fixtures that run a test with the sandbox on and off
(import them into the test module). For all: ``synckit()``, the sync engine's test kit.

- ``source-slowpoke`` copies its config into its working directory (as careless connectors cache
  theirs), then hangs in ``check`` and emits a record a second forever in ``read``;
- ``source-csvfile`` reads the CSV file its config's ``url`` names exactly as given, as Airbyte's
  own airbyte-source-file does (no idea of airpipe's local root): ``/local/x.csv`` works only if
  something makes it work; ``check`` fails with the error it got, ``discover`` reads the header.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types
from pathlib import Path

import pytest

from airpipe.settings import Settings

SLOWPOKE = '''
import json, shutil, sys, time
args = dict(zip(sys.argv[2::2], sys.argv[3::2]))
def say(message):
    print(json.dumps(message), flush=True)
spec = {"connectionSpecification": {"type": "object", "properties": {"password": {"type": "string", "airbyte_secret": True}}}}
if sys.argv[1] == "spec":
    say({"type": "SPEC", "spec": spec})
    sys.exit(0)
shutil.copy(args["--config"], "config-copy.json")
if sys.argv[1] == "check":
    time.sleep(600)  # a check that never answers, on purpose
stream = {"name": "ticks", "json_schema": {}, "supported_sync_modes": ["full_refresh"]}
if sys.argv[1] == "discover":
    say({"type": "CATALOG", "catalog": {"streams": [stream]}})
    sys.exit(0)
n = 0
while True:
    n += 1
    say({"type": "RECORD", "record": {"stream": "ticks", "data": {"n": n}, "emitted_at": 1}})
    time.sleep(1)  # slow on purpose: the read is still running when the test acts on it
'''

CSVFILE = '''
import csv, json, sys
args = dict(zip(sys.argv[2::2], sys.argv[3::2]))
def say(message):
    print(json.dumps(message), flush=True)
if sys.argv[1] == "spec":
    say({"type": "SPEC", "spec": {"connectionSpecification": {"type": "object", "properties": {"url": {"type": "string"}}}}})
    sys.exit(0)
url = json.load(open(args["--config"]))["url"]
try:
    with open(url, newline="") as file:
        rows = list(csv.DictReader(file))
except OSError as exc:
    if sys.argv[1] == "check":
        say({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "FAILED", "message": f"{type(exc).__name__}: {exc}"}})
        sys.exit(0)
    raise
if sys.argv[1] == "check":
    say({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED", "message": f"{len(rows)} rows"}})
elif sys.argv[1] == "discover":
    properties = {name: {"type": "string"} for name in (rows[0] if rows else {})}
    stream = {"name": "rows", "json_schema": {"type": "object", "properties": properties}, "supported_sync_modes": ["full_refresh"]}
    say({"type": "CATALOG", "catalog": {"streams": [stream]}})
else:
    for row in rows:
        say({"type": "RECORD", "record": {"stream": "rows", "data": row, "emitted_at": 1}})
'''


def install_connectors(bin_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Both programs as ``source-<name>`` in ``bin_dir``, put first on PATH."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name, text in (("slowpoke", SLOWPOKE), ("csvfile", CSVFILE)):
        target = bin_dir / f"source-{name}"
        target.write_text(f"#!{sys.executable}\n{text}")
        target.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return bin_dir


def files_containing(secret: str, *roots: Path, since: float = 0.0) -> list[Path]:
    """Every regular file under ``roots`` (modified after ``since``) whose bytes contain ``secret``."""
    needle = secret.encode()
    found: list[Path] = []
    for root in roots:
        for directory, _, names in os.walk(root, onerror=lambda error: None):
            for name in names:
                path = Path(directory) / name
                try:
                    if not path.is_file() or path.is_symlink() or path.stat().st_mtime < since:
                        continue
                    if path.stat().st_size < 50_000_000 and needle in path.read_bytes():
                        found.append(path)
                except OSError:
                    continue
    return found


def require_bubblewrap() -> None:
    """Skip a test that needs bubblewrap where it cannot run, unless the suite must run everything."""
    from airpipe.connectors.sandbox import probe

    problem = probe()
    if problem is None:
        return
    if os.environ.get("AIRPIPE_TEST_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{problem} and AIRPIPE_TEST_REQUIRE_SERVICES=1")
    pytest.skip(problem)


@pytest.fixture(params=["bwrap", "off"])
def mode(request: pytest.FixtureRequest) -> str:
    """The sandbox mode under test: bubblewrap, then none."""
    if request.param == "bwrap":
        require_bubblewrap()
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def settings(tmp_path: Path, queue_name: str, mode: str) -> Settings:
    """SQLite, one attempt per job, the sandbox in ``mode``."""
    return Settings.from_env(
        {
            "AIRPIPE_DATA_DIR": str(tmp_path / "data"),
            "AIRPIPE_DATABASE_URL": f"sqlite:///{tmp_path / 'airpipe.db'}",
            "AIRPIPE_QUEUE_NAME": queue_name,
            "AIRPIPE_MAX_ATTEMPTS": "1",
            "AIRPIPE_SANDBOX": mode,
        }
    )


def synckit() -> types.ModuleType:
    """tests/worker/synckit.py (builders, real `airpipe serve`/`worker` processes), loaded by path:
    pytest puts tests/worker on sys.path only once it collects that directory, after this one."""
    if "synckit" not in sys.modules:
        spec = importlib.util.spec_from_file_location("synckit", Path(__file__).parents[1] / "worker" / "synckit.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["synckit"] = module
        spec.loader.exec_module(module)
    return sys.modules["synckit"]
