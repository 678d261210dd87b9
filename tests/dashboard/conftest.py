"""Fixtures of the dashboard's plain HTTP tests: the in-process app (the suite's ``client``, jobs
run inline) with the built-in connectors' specs cached, so that creating a source runs no process."""

from __future__ import annotations

import msgspec
import pytest
from starlette.testclient import TestClient

from airpipe import models
from airpipe.connectors import registry


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
