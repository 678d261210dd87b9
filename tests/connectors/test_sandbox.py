"""The connector sandbox (connectors/sandbox.py): a prying connector (programs/pry.py) run for real,
inside bubblewrap and without it."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from airpipe.connectors import sandbox as sandbox_module
from airpipe.connectors.errors import ConnectorError
from airpipe.connectors.launcher import Launcher
from airpipe.connectors.sandbox import Sandbox, rewrite_local
from airpipe.errors import SettingsError
from airpipe.settings import Settings

PRY = Path(__file__).parent / "programs" / "pry.py"


@pytest.fixture
def bwrap() -> None:
    problem = sandbox_module.probe()
    if problem is not None:
        if os.environ.get("AIRPIPE_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{problem} and AIRPIPE_TEST_REQUIRE_SERVICES=1")
        pytest.skip(problem)


class Host:
    """A data directory with a secret key, a local root with a file, and a file elsewhere."""

    def __init__(self, base: Path, data_dir: Path | None = None) -> None:
        self.data_dir = data_dir or base / "data"
        self.local_root = self.data_dir / "local"
        self.secret_key = self.data_dir / "secret.key"
        self.outside = base / "outside.txt"
        self.local_root.mkdir(parents=True)
        self.secret_key.write_text("the deployment's key")
        (self.local_root / "x.txt").write_text("hello from /local")
        self.outside.write_text("a file of the host")

    def pry(self, mode: str, command: list[str] | None = None, **config: Any) -> dict[str, Any]:
        sandbox = Sandbox(mode, self.local_root, self.data_dir)
        launcher = Launcher(command or [sys.executable, str(PRY)], run_root=self.data_dir / "run", sandbox=sandbox, timeout=60)
        status = launcher.check(config)
        assert status.message is not None
        return json.loads(status.message)  # type: ignore[no-any-return]


def test_inside_bubblewrap_a_connector_sees_local_and_its_run_directory_only(bwrap: None, tmp_path: Path) -> None:
    host = Host(tmp_path)
    found = host.pry(
        "bwrap",
        read=["/etc/passwd", str(host.secret_key), str(host.outside), __file__, "/local/x.txt"],
        write=[str(tmp_path / "escaped.txt"), "/usr/pried", "/local/out.txt", "own.txt"],
        list=[str(host.data_dir)],
    )
    assert found["read"] == {
        "/etc/passwd": "<FileNotFoundError>",  # only a few files of /etc are there
        str(host.secret_key): "<FileNotFoundError>",
        str(host.outside): "<FileNotFoundError>",
        __file__: "<FileNotFoundError>",  # airpipe's own source tree is not there either
        "/local/x.txt": "hello from /local",
    }
    assert found["write"]["/local/out.txt"] == found["write"]["own.txt"] == "written"
    assert found["write"]["/usr/pried"] == "<OSError>"  # read-only file system
    assert not (tmp_path / "escaped.txt").exists()  # written, if at all, to the sandbox's own /tmp
    assert (host.local_root / "out.txt").read_text() == "pried"
    # the data directory shows nothing but the way to the connector's own run directory
    assert found["list"] == {str(host.data_dir): ["run"]}
    run_dir = Path(found["cwd"])
    assert run_dir.parent == host.data_dir / "run" and found["home"] == found["cwd"]
    assert (found["local_root"], found["data_dir"]) == ("/local", None)
    assert list((host.data_dir / "run").iterdir()) == []  # own.txt went with the run directory


def test_a_data_directory_inside_what_the_connector_needs_stays_hidden(bwrap: None, tmp_path: Path) -> None:
    # a connector installed in a virtualenv that holds the data directory too
    app = tmp_path / "app"
    (app / "bin").mkdir(parents=True)
    (app / "pyvenv.cfg").write_text(Path(sys.prefix, "pyvenv.cfg").read_text() if sys.prefix != sys.base_prefix else "")
    program = app / "bin" / "source-pry"
    program.write_text(f"#!{sys.executable}\n" + PRY.read_text())
    program.chmod(0o755)
    host = Host(tmp_path, data_dir=app / "data")
    found = host.pry("bwrap", [str(program)], read=[str(host.secret_key), str(app / "pyvenv.cfg")])
    assert found["read"][str(host.secret_key)] == "<FileNotFoundError>"
    assert found["read"][str(app / "pyvenv.cfg")] == (app / "pyvenv.cfg").read_text()


def test_without_a_sandbox_local_paths_are_rewritten_and_relative_ones_stay_in_the_run_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    host = Host(tmp_path)
    monkeypatch.chdir(host.local_root)  # the server's working directory is not where x.txt is looked for
    found = host.pry("off", read=["/local/x.txt", "x.txt"], write=["own.txt"])
    assert found["read"] == {str(host.local_root / "x.txt"): "hello from /local", "x.txt": "<FileNotFoundError>"}
    assert found["write"] == {"own.txt": "written"}
    assert Path(found["cwd"]).parent == host.data_dir / "run"
    assert not (host.local_root / "own.txt").exists()


def test_builtins_get_their_config_unchanged(tmp_path: Path) -> None:
    sandbox = Sandbox("off", tmp_path / "local", tmp_path).for_builtin()
    assert sandbox.config({"destination_path": "/local/out"}) == {"destination_path": "/local/out"}


def test_rewrite_local_moves_every_local_path_and_nothing_else() -> None:
    config = {"url": "/local/a.csv", "nested": [{"path": "/local"}, "/localhost/x", "local/x", 3], "flag": True}
    assert rewrite_local(config, Path("/srv/root")) == {
        "url": "/srv/root/a.csv",
        "nested": [{"path": "/srv/root"}, "/localhost/x", "local/x", 3],
        "flag": True,
    }


def test_auto_falls_back_and_bwrap_refuses_where_bubblewrap_cannot_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sandbox_module, "_probed", ["bubblewrap is not installed (Debian: apt-get install bubblewrap)"])
    auto = Sandbox("auto", tmp_path / "local", tmp_path)
    assert not auto.confined
    assert auto.describe() == (
        "sandbox: off (bubblewrap is not installed (Debian: apt-get install bubblewrap)); "
        f"/local/ in connector configs is rewritten to {tmp_path / 'local'}/"
    )
    assert auto.wrap(["source-x", "check"], {}, tmp_path) == (["source-x", "check"], {})
    required = Sandbox("bwrap", tmp_path / "local", tmp_path)
    with pytest.raises(ConnectorError, match="^AIRPIPE_SANDBOX=bwrap, but bubblewrap is not installed"):
        required.wrap(["source-x", "check"], {}, tmp_path)
    assert required.describe().startswith("sandbox: unavailable, connectors cannot start (bubblewrap is not installed")


def test_describe_says_which_sandbox_is_in_force(bwrap: None, tmp_path: Path) -> None:
    assert Sandbox("auto", tmp_path, tmp_path).describe().startswith("sandbox: bubblewrap; connectors see the local root")
    assert Sandbox("off", tmp_path, tmp_path).describe().startswith("sandbox: off (AIRPIPE_SANDBOX=off); /local/ in connector")


def test_the_setting_takes_three_values() -> None:
    assert Settings.from_env({}).sandbox == "auto"
    assert Settings.from_env({"AIRPIPE_SANDBOX": "off"}).sandbox == "off"
    with pytest.raises(SettingsError, match="AIRPIPE_SANDBOX"):
        Settings.from_env({"AIRPIPE_SANDBOX": "docker"})
