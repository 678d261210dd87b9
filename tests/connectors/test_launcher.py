from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from airpipe.connectors import inputs, registry
from airpipe.connectors.errors import ConnectorError, ConnectorNotFound, ConnectorTimeout
from airpipe.connectors.launcher import Launcher
from airpipe.connectors.stream import peek_type
from airpipe.protocol import AirbyteConnectionStatus, MessageType, Status, decode_message

Program = Callable[[str], list[str]]


def alive(pid: int, wait: float = 2.0) -> bool:
    """Is ``pid`` still running after up to ``wait`` seconds? A zombie (an orphan its new parent
    has not reaped yet) counts as gone."""
    deadline = time.monotonic() + wait
    while True:
        try:
            if os.path.isdir("/proc"):
                with open(f"/proc/{pid}/stat") as f:
                    running = f.read().rpartition(")")[2].split()[0] != "Z"
            else:  # pragma: no cover - no procfs: a zombie counts as alive here
                os.kill(pid, 0)
                running = True
        except (FileNotFoundError, ProcessLookupError):
            running = False
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.05)


# THE BUILT-INS, THROUGH THE REGISTRY


def test_faker_spec_check_discover(faker: Launcher) -> None:
    spec = faker.spec()
    assert set(spec.connection_specification["properties"]) == {"count", "seed", "state_every"}
    assert faker.check({"count": 5}) == AirbyteConnectionStatus(status=Status.SUCCEEDED)
    assert [s.name for s in faker.discover({}).streams] == ["users", "products", "purchases"]


def test_an_invalid_config_fails_check_and_errors_discover(faker: Launcher) -> None:
    expected = "The provided configuration does not fulfill the specification: $.count: -1 is less than the minimum of 0"
    assert faker.check({"count": -1}) == AirbyteConnectionStatus(status=Status.FAILED, message=expected)
    with pytest.raises(ConnectorError) as info:
        faker.discover({"count": -1})
    assert info.value.message == expected
    assert info.value.failure_type == "config_error"


def test_local_json_check_reports_an_escaping_path(tmp_path: Path) -> None:
    command = registry.resolve("airpipe/destination-local-json")
    launcher = Launcher(command, env={"AIRPIPE_LOCAL_ROOT": str(tmp_path)})
    status = launcher.check({"destination_path": "/local/../../etc"})
    assert status.status is Status.FAILED
    assert status.message == f"destination_path: the path '/local/../../etc' leads outside the local root {tmp_path}"
    assert launcher.check({"destination_path": "/local/ok"}).status is Status.SUCCEEDED
    assert (tmp_path / "ok").is_dir()


def test_read_streams_raw_lines_from_the_source(faker: Launcher, faker_catalog: Callable[..., Any]) -> None:
    with faker.read({"count": 30, "state_every": 10}, faker_catalog("users")) as process:
        types = [peek_type(line) for line in process]
        assert process.wait(10) == 0
    assert types.count(("RECORD", "users", None)) == 30
    assert types.count(("STATE", None, None)) == 3
    assert process.stdin is None


def test_write_takes_stdin_and_echoes_state(tmp_path: Path, faker_catalog: Callable[..., Any]) -> None:
    launcher = Launcher(registry.resolve("airpipe/destination-local-json"), env={"AIRPIPE_LOCAL_ROOT": str(tmp_path)})
    state = b'{"type":"STATE","state":{"type":"STREAM","stream":{"stream_descriptor":{"name":"users"},"stream_state":{"n":1}}}}\n'
    with launcher.write({"destination_path": "out"}, faker_catalog("users")) as process:
        assert process.stdin is not None
        process.stdin.write(b'{"type":"RECORD","record":{"stream":"users","data":{"id":1},"emitted_at":7}}\n' + state)
        process.stdin.close()
        assert process.stdout.read() == state
        assert process.wait(10) == 0
    assert (tmp_path / "out" / "users.jsonl").read_bytes().endswith(b'"_airbyte_emitted_at":7,"_airbyte_data":{"id":1}}\n')


# FAILURES


def test_a_crash_raises_with_the_exit_code_and_last_lines(program: Program, logs: Any) -> None:
    with pytest.raises(ConnectorError) as info:
        Launcher(program("crash"), on_log=logs).spec()
    error = info.value
    assert error.message == "connector spec failed with exit code 3"
    assert error.failure_type is None
    assert set(error.last_lines) == {
        "INFO crash: starting spec",
        "ERROR Traceback (most recent call last):",
        "ERROR RuntimeError: the crash program always crashes",
    }
    assert str(error).startswith("connector spec failed with exit code 3\nlast log lines:\n")
    assert ("INFO", "crash: starting spec") in logs


def test_a_trace_error_gives_the_connectors_own_message(program: Program) -> None:
    launcher = Launcher(program("crash"), env={"CRASH_TRACE": "system_error"})
    with pytest.raises(ConnectorError) as info:
        launcher.discover({})
    assert info.value.message == "the password is wrong"
    assert info.value.failure_type == "system_error"
    assert "ERROR the password is wrong (AuthError(401))" in info.value.last_lines


def test_check_answers_a_config_error_trace_as_failed(program: Program) -> None:
    launcher = Launcher(program("crash"), env={"CRASH_TRACE": "config_error"})
    assert launcher.check({}) == AirbyteConnectionStatus(status=Status.FAILED, message="the password is wrong")


def test_junk_is_logged_and_the_answer_still_found(program: Program, logs: Any) -> None:
    spec = Launcher(program("garbage"), on_log=logs).spec()
    assert spec.connection_specification == {"type": "object"}
    assert logs.at("INFO") == ["Starting connector v1.2.3"]
    assert logs.at("WARN") == ["careful now"]
    assert logs.at("DEBUG") == ["details"]
    assert sorted(logs.at("ERROR")) == [
        "a line on stderr",
        "invalid message dropped (Expected `object`, got `array`): [1, 2, 3]",
        'invalid message dropped (Invalid enum value \'NOPE\' - at `$.type`): {"type": "NOPE"}',
        'invalid message dropped (Object missing required field `type`): {"log": {"level": "INFO", "message": "no type"}}',
    ]


def test_a_failed_check_is_an_answer(program: Program) -> None:
    status = Launcher(program("garbage")).check({"host": "nowhere"})
    assert status == AirbyteConnectionStatus(status=Status.FAILED, message="bad host nowhere")


def test_no_answer_is_an_error(program: Program) -> None:
    with pytest.raises(ConnectorError, match="^connector discover exited without a CATALOG message\nlast log lines:\n"):
        Launcher(program("garbage"), env={"GARBAGE_NO_ANSWER": "1"}).discover({})


def test_a_missing_program_says_so() -> None:
    with pytest.raises(ConnectorError) as info:
        Launcher(["/nonexistent/source-nothing"]).spec()
    assert info.value.message == "cannot start connector `/nonexistent/source-nothing`: No such file or directory"


@pytest.mark.parametrize("ignore_term", [False, True])
def test_a_hung_connector_is_killed_with_its_children(program: Program, tmp_path: Path, ignore_term: bool) -> None:
    pid_file = tmp_path / "child.pid"
    env = {"HANG_PID_FILE": str(pid_file)} | ({"HANG_IGNORE_TERM": "1"} if ignore_term else {})
    launcher = Launcher(program("hang"), env=env, timeout=1, kill_grace=0.3)
    started = time.monotonic()
    with pytest.raises(ConnectorTimeout) as info:
        launcher.check({})
    assert time.monotonic() - started < 5
    assert info.value.message == "connector check timed out after 1 s"
    assert "INFO hanging" in info.value.last_lines
    assert not alive(int(pid_file.read_text()))


def test_kill_stops_a_running_read(program: Program, tmp_path: Path) -> None:
    launcher = Launcher(program("hang"), env={"HANG_PID_FILE": str(tmp_path / "pid")}, kill_grace=1)
    with launcher.read({}, {"streams": []}) as process:
        assert decode_message(process.stdout.readline()).type is MessageType.LOG
        process.kill()
        assert process.wait(1) == -15  # SIGTERM
        assert process.stdout.read() == b""  # the child holding stdout is gone too
    assert not alive(int((tmp_path / "pid").read_text()))


# INPUTS AND ENVIRONMENT


def test_inputs_are_in_memory_files_the_connector_inherits(program: Program, logs: Any, tmp_path: Path) -> None:
    status = Launcher(program("garbage"), on_log=logs, run_root=tmp_path / "run").check({"host": "h"})
    assert status.message == "bad host h"  # it read the config
    [reported] = [m for m in logs.at("INFO") if m.startswith("config=")]
    path = re.fullmatch(r"config=(\S+) mode=\S+ dir_mode=\S+", reported).group(1)  # type: ignore[union-attr]
    assert re.fullmatch(r"/dev/fd/\d+", path)
    assert list((tmp_path / "run").iterdir()) == []  # nothing written to disk, nothing left


def test_without_memfd_inputs_are_private_files_removed_afterwards(
    program: Program, logs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(inputs, "IN_MEMORY", False)
    Launcher(program("garbage"), on_log=logs, run_root=tmp_path / "run").check({"host": "h"})
    [reported] = [m for m in logs.at("INFO") if m.startswith("config=")]
    path, mode, dir_mode = re.fullmatch(r"config=(\S+) mode=(\S+) dir_mode=(\S+)", reported).groups()  # type: ignore[union-attr]
    assert (mode, dir_mode) == ("0o600", "0o700")
    assert Path(path).parent.parent == tmp_path / "run"
    assert not Path(path).parent.exists()


def test_read_passes_state_and_removes_its_files_on_close(program: Program, logs: Any) -> None:
    launcher = Launcher(program("garbage"), on_log=logs)
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "things"}, "stream_state": {"n": 2}}}]
    catalog = {
        "streams": [{"stream": {"name": "things", "json_schema": {}}, "sync_mode": "full_refresh", "destination_sync_mode": "append"}]
    }
    with launcher.read({}, catalog, state) as process:
        messages = [m for m in map(process.handle_line, process) if m is not None]
        assert process.wait(10) == 0
        files = process._run_dir.path
        assert files.exists()
    assert not files.exists()
    assert [m.type.value for m in messages] == ["LOG", "LOG", "LOG", "RECORD", "STATE"]
    assert "state=" + json.dumps(state) in logs.at("INFO")


def test_connectors_inherit_only_a_few_variables(program: Program, logs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRPIPE_DATABASE_URL", "postgresql://secret@db/airpipe")
    monkeypatch.setenv("GARBAGE_FROM_PARENT", "1")
    Launcher(program("garbage"), env={"AIRPIPE_LOCAL_ROOT": "/x"}, on_log=logs).check({})
    assert "env=AIRPIPE_LOCAL_ROOT" in logs.at("INFO")


# REGISTRY


def test_builtins_resolve_to_this_interpreter() -> None:
    # literals on purpose: the repositories and ids are what clients send, fixed across installations
    assert registry.resolve("airpipe/source-faker", "0.1.0") == [sys.executable, "-m", "airpipe.sources.faker"]
    assert registry.resolve("airpipe/destination-local-json", "dev") == [sys.executable, "-m", "airpipe.destinations.local_json"]
    assert [(d.actor_type, d.docker_repository) for d in registry.BUILTIN_DEFINITIONS] == [
        ("source", "airpipe/source-faker"),
        ("source", "airpipe/source-file"),
        ("source", "airpipe/source-postgres"),
        ("destination", "airpipe/destination-local-json"),
        ("destination", "airpipe/destination-postgres"),
        ("destination", "airpipe/destination-sqlite"),
        ("destination", "airpipe/destination-data-sink"),
    ]
    for definition in registry.BUILTIN_DEFINITIONS:  # each names a module of this package
        assert registry.resolve(definition.docker_repository) == [sys.executable, "-m", definition.module]
    assert str(registry.FAKER.id) == "a3395a42-d499-4316-9233-0451ac0673d1"


def test_other_repositories_are_programs_on_the_search_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "connectors" / "source-foo" / "bin"
    bin_dir.mkdir(parents=True)
    executable = bin_dir / "source-foo"
    executable.write_text('#!/bin/sh\necho \'{"type":"SPEC","spec":{"connectionSpecification":{}}}\'\n')
    executable.chmod(0o755)
    monkeypatch.setenv("PATH", "/nonexistent")
    command = registry.resolve("airbyte/source-foo", "1.0.0", search_dirs=[bin_dir])
    assert command == [str(executable)]
    assert Launcher(command).spec().connection_specification == {}


def test_a_missing_connector_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(ConnectorNotFound) as info:
        registry.resolve("airbyte/source-foo", "1.0.0")
    assert info.value.message == (
        "connector airbyte/source-foo is not installed: "
        "run `pip install airbyte-source-foo` or `airpipe connectors install airbyte-source-foo`"
    )
    with pytest.raises(ConnectorNotFound, match="not a valid repository name"):
        registry.resolve("evil/..")
