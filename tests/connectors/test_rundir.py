"""Run directories (connectors/rundir.py) and in-memory inputs (connectors/inputs.py), with real
processes holding and dropping the locks."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from airpipe.connectors import inputs, rundir
from airpipe.connectors.inputs import Inputs
from airpipe.connectors.rundir import RunDir

#: a process that makes a run directory, writes a config into it, says where, then waits to be killed
HOLDER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from airpipe.connectors.rundir import RunDir
    run_dir = RunDir.create(Path(sys.argv[1]))
    (run_dir.path / "config.json").write_text('{"password": "hunter2"}')
    print(run_dir.path, flush=True)
    time.sleep(600)
    """
)


def hold(root: Path) -> tuple[subprocess.Popen[str], Path]:
    process = subprocess.Popen([sys.executable, "-c", HOLDER, str(root)], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    with process.stdout:
        return process, Path(process.stdout.readline().strip())


def test_a_run_directory_is_private_and_removed(tmp_path: Path) -> None:
    root = tmp_path / "data" / "run"
    run_dir = RunDir.create(root)
    assert run_dir.path.parent == root
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    assert stat.S_IMODE(run_dir.path.stat().st_mode) == 0o700
    assert run_dir.path.name.startswith(f"{rundir._HOST}-{os.getpid()}-")
    (run_dir.path / "scratch").write_text("x")
    run_dir.remove()
    run_dir.remove()  # twice is fine
    assert list(root.iterdir()) == []


def test_an_existing_run_root_is_narrowed_to_0700(tmp_path: Path) -> None:
    root = tmp_path / "run"
    root.mkdir(mode=0o755)
    RunDir.create(root).remove()
    assert stat.S_IMODE(root.stat().st_mode) == 0o700


def test_sweep_removes_what_a_killed_process_left_and_spares_the_living(tmp_path: Path) -> None:
    root = tmp_path / "run"
    dead, dead_dir = hold(root)
    living, living_dir = hold(root)
    ours = RunDir.create(root)
    try:
        dead.send_signal(signal.SIGKILL)
        dead.wait()
        assert (dead_dir / "config.json").exists()  # a SIGKILL leaves it behind

        assert rundir.sweep(root) == [dead_dir]
        assert not dead_dir.exists()
        assert (living_dir / "config.json").exists() and ours.path.exists()
    finally:
        living.kill()
        living.wait()
        ours.remove()
    assert rundir.sweep(root) == [living_dir]
    assert list(root.iterdir()) == []


def test_sweep_of_a_missing_root_does_nothing(tmp_path: Path) -> None:
    assert rundir.sweep(tmp_path / "nothing") == []


def test_inputs_live_in_memory_and_read_back_in_a_child(tmp_path: Path) -> None:
    files = Inputs({"config": {"password": "hunter2"}, "catalog": {"streams": []}}, tmp_path)
    try:
        assert files.args[0::2] == ["--config", "--catalog"]
        config = files.args[1]
        assert config.startswith("/dev/fd/")
        script = "import sys; print(open(sys.argv[1]).read() + open(sys.argv[1]).read())"  # readable twice
        result = subprocess.run(
            [sys.executable, "-c", script, config], pass_fds=files.pass_fds, capture_output=True, text=True, check=True
        )
        assert result.stdout.strip() == '{"password":"hunter2"}' * 2
    finally:
        files.close()
    assert list(tmp_path.iterdir()) == []


def test_without_memfd_inputs_are_0600_files_removed_on_demand(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(inputs, "IN_MEMORY", False)
    files = Inputs({"config": {"password": "hunter2"}}, tmp_path)
    path = Path(files.args[1])
    assert path.parent == tmp_path and files.pass_fds == []
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == '{"password":"hunter2"}'
    files.remove()
    assert not path.exists()
