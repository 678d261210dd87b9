"""A job's config is typed (worker/job_configs): what rows written by earlier versions hold still
decodes and runs, and a row that does not fit fails its job, saying why, not the worker."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, get_type_hints

import pytest

from airpipe import models
from airpipe.models import Attempt, Job, LogLine
from airpipe.worker import job_configs, runner
from airpipe.worker.job_configs import BadJobConfig, ConnectorJob, SyncJob

#: a sync job's config as the version before job_configs stored it (services/scheduler.sync_config)
OLD_SYNC = {
    "connection_id": "7c1e4d6a-0000-4000-8000-000000000001",
    "secrets": ["hunter2"],
    "source": {"image": {"repository": "airpipe/source-faker", "tag": "0.1.0"}, "config": {"count": 10}},
    "destination": {"image": {"repository": "airpipe/destination-local-json", "tag": "0.1.0"}, "config": {"destination_path": "/local/x"}},
    "streams": [
        {
            "stream": {"name": "users", "json_schema": {}, "supported_sync_modes": ["full_refresh"], "namespace": "shop"},
            "sync_mode": "full_refresh",
            "cursor_field": [],
            "destination_sync_mode": "overwrite",
            "primary_key": [["id"]],
            "destination_name": "p_users",
            "destination_namespace": None,
        }
    ],
}


def test_an_old_sync_config_decodes_and_is_stored_with_the_same_keys() -> None:
    config = job_configs.decode("sync", OLD_SYNC)
    assert isinstance(config, SyncJob)
    assert config.source.image.repository == "airpipe/source-faker" and config.destination.config == {"destination_path": "/local/x"}
    [stream] = config.streams
    assert (stream.key, stream.destination_key) == (("users", "shop"), ("p_users", None))
    # what the connectors are given is what the old dicts gave them
    old = {k: v for k, v in OLD_SYNC["streams"][0].items() if k not in ("destination_name", "destination_namespace")}
    assert stream.for_source() == old
    assert stream.for_destination() == {**old, "stream": {**old["stream"], "name": "p_users", "namespace": None}}
    assert job_configs.stored(config) == OLD_SYNC


def test_an_old_spec_or_check_config_decodes() -> None:
    spec = job_configs.decode("get_spec", {"image": {"repository": "r/x", "tag": "1"}})
    assert spec == ConnectorJob(image=job_configs.Image(repository="r/x", tag="1"))
    stored = {"image": {"repository": "r/x", "tag": "1"}, "config": {"a": 1}, "secrets": ["s"]}
    check = job_configs.decode("check_connection_source", stored)
    assert (check.config, check.secrets) == ({"a": 1}, ["s"])


@pytest.mark.parametrize("config_type", sorted(job_configs.CONFIGS))
def test_each_job_type_is_run_by_a_handler_typed_with_its_config(config_type: str) -> None:
    # the runner decodes with CONFIGS and dispatches with HANDLERS: the two tables must agree
    assert get_type_hints(runner.HANDLERS[config_type])["config"] is job_configs.CONFIGS[config_type]


@pytest.mark.parametrize(
    ("config_type", "stored", "named"),
    [
        ("sync", {**OLD_SYNC, "streams": [{"stream": {}}]}, "$.streams[0]"),
        ("discover_schema", {"image": {"repository": 5, "tag": "1"}}, "$.image.repository"),
        ("get_spec", {}, "image"),
        ("teleport", {}, "unknown job config type 'teleport'"),
    ],
)
def test_a_config_that_does_not_fit_is_refused_naming_the_field(config_type: str, stored: Any, named: str) -> None:
    with pytest.raises(BadJobConfig, match=named.replace("$", r"\$").replace("[", r"\[").replace("]", r"\]")):
        job_configs.decode(config_type, stored)


@pytest.fixture
def database(settings: Any, client: Any) -> Iterator[None]:
    """The suite's database, bound and migrated (through the in-process app)."""
    with models.db.connection_context():
        yield


def test_a_job_whose_stored_config_does_not_fit_fails_saying_why(database: None) -> None:
    job = Job.create(config_type="sync", scope="c1", config={**OLD_SYNC, "source": {"image": {"repository": "r/x"}}})
    Attempt.create(job=job, number=1)
    assert runner.run_job(job.id) is None  # not retried: the same row would fail the same way
    assert Job.get_by_id(job.id).status == "failed"
    attempt = Attempt.get(Attempt.job == job.id)
    assert attempt.status == "failed"
    message = attempt.failure_summary["failures"][0]["externalMessage"]
    assert "stored config does not fit" in message and "$.source.image" in message
    assert any("$.source.image" in line.message for line in LogLine.select().where(LogLine.attempt == attempt.id))
