"""Fixtures of the dashboard's plain HTTP tests: the in-process app (the suite's ``client``, jobs
run inline) with the built-in connectors' specs cached, so that creating a source runs no process."""

from __future__ import annotations

import dataclasses

import msgspec
import pytest
from starlette.testclient import TestClient

from airpipe import models
from airpipe.connectors import registry
from airpipe.settings import Settings


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "public_url(url): the test's AIRPIPE_PUBLIC_URL")


@pytest.fixture
def settings(settings: Settings, request: pytest.FixtureRequest) -> Settings:
    """The suite's, with AIRPIPE_PUBLIC_URL as ``@pytest.mark.public_url(...)`` says."""
    marker = request.node.get_closest_marker("public_url")
    if marker is None:
        return settings
    public = Settings.from_env({"AIRPIPE_DATA_DIR": str(settings.data_dir), "AIRPIPE_PUBLIC_URL": marker.args[0]})
    return dataclasses.replace(settings, public_origin=public.public_origin)


@pytest.fixture
def cached_specs(client: TestClient) -> None:
    from airpipe.destinations.local_json import SPEC as LOCAL_JSON_SPEC
    from airpipe.sources.faker import SPEC as FAKER_SPEC
    from airpipe.sources.postgres import SPEC as POSTGRES_SPEC

    definition = models.ActorDefinition
    specs = ((registry.FAKER.id, FAKER_SPEC), (registry.LOCAL_JSON.id, LOCAL_JSON_SPEC), (registry.POSTGRES_SOURCE.id, POSTGRES_SPEC))
    with models.db.connection_context():
        for definition_id, spec in specs:
            query = definition.update(spec=msgspec.to_builtins(spec), spec_tag=definition.docker_image_tag)
            query.where(definition.id == str(definition_id)).execute()


@pytest.fixture
def ui(client: TestClient, cached_specs: None) -> TestClient:
    """The app as a browser with JavaScript off sees it: redirects followed by hand."""
    return client
