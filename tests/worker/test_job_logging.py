"""Server and worker log lines: the level and format from the environment, and the job, attempt
and connection on every line written while a job runs (airpipe/logs.py)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from suitekit import users_catalog

from airpipe import logs
from airpipe.errors import SettingsError


@pytest.fixture
def captured() -> Iterator[io.StringIO]:
    """What airpipe's configured handler writes, for the test's duration (the root logger restored after)."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level, logging.getLogRecordFactory()
    stream = io.StringIO()
    yield stream
    root.handlers[:], root.level = saved[0], saved[1]
    logging.setLogRecordFactory(saved[2])


def configure(stream: io.StringIO, **env: str) -> None:
    logs.configure({f"AIRPIPE_{k.upper()}": v for k, v in env.items()})
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(stream)


def test_text_lines_name_the_job_they_are_about(captured: io.StringIO) -> None:
    configure(captured)
    log = logging.getLogger("airpipe.test")
    log.info("before")
    with logs.job_context(12, 2, "c-1"):
        log.warning("inside %s", "the job")
    log.debug("hidden at INFO")
    first, second = captured.getvalue().splitlines()
    assert first.endswith("INFO airpipe.test: before")
    assert second.endswith("WARNING airpipe.test: inside the job [job=12 attempt=2 connection=c-1]")


def test_json_lines_carry_the_job_fields_and_the_traceback(captured: io.StringIO) -> None:
    configure(captured, log_format="json", log_level="debug")
    log = logging.getLogger("airpipe.test")
    with logs.job_context(7):
        log.debug("a detail")
        try:
            raise ValueError("boom")
        except ValueError:
            log.exception("it failed")
    detail, failure = (json.loads(line) for line in captured.getvalue().splitlines())
    assert {k: detail[k] for k in ("level", "logger", "message", "job_id")} == {
        "level": "DEBUG",
        "logger": "airpipe.test",
        "message": "a detail",
        "job_id": 7,
    }
    assert "attempt" not in detail and detail["time"].endswith("+00:00")
    assert failure["message"] == "it failed" and "ValueError: boom" in failure["exception"]


@pytest.mark.parametrize(("variable", "value"), [("log_level", "LOUD"), ("log_format", "xml")])
def test_a_bad_setting_names_its_variable(captured: io.StringIO, variable: str, value: str) -> None:
    with pytest.raises(SettingsError) as raised:
        configure(captured, **{variable: value})
    assert raised.value.variable == f"AIRPIPE_{variable.upper()}" and value in str(raised.value)


def test_the_runner_names_the_job_on_its_lines(captured: io.StringIO, api: Any) -> None:
    configure(captured)
    connection = api.connection(api.faker(3), api.local_json(), users_catalog())
    job = api.sync(connection)["job"]
    lines = [line for line in captured.getvalue().splitlines() if " airpipe.worker: " in line]
    tag = f"[job={job['id']} attempt=1 connection={connection['connectionId']}]"
    assert any(line.endswith(f"running sync job {job['id']}, attempt 1 {tag}") for line in lines), lines
