"""Issue 10: connections/create without a syncCatalog reuses the source's last discovered catalog
instead of starting a connector every time; a changed config or connector version discovers anew."""

from __future__ import annotations

from typing import Any

from airpipe import models
from airpipe.connectors.registry import FAKER

Call = Any


def discovers(source: dict[str, Any]) -> int:
    """discover_schema jobs run for ``source`` so far."""
    with models.db.connection_context():
        return models.Job.select().where(models.Job.config_type == "discover_schema", models.Job.scope == source["sourceId"]).count()


def create(call: Call, source: dict[str, Any], destination: dict[str, Any]) -> dict[str, Any]:
    return call("connections/create", {"sourceId": source["sourceId"], "destinationId": destination["destinationId"], "status": "active"})


def test_connections_of_one_source_share_its_discovered_catalog(call: Call, create_source: Call, create_destination: Call) -> None:
    source, destination = create_source(), create_destination()
    first, second = create(call, source, destination), create(call, source, destination)
    assert discovers(source) == 1
    assert first["syncCatalog"] == second["syncCatalog"]
    assert {s["stream"]["name"] for s in first["syncCatalog"]["streams"]} == {"users", "products", "purchases"}


def test_an_explicit_discover_always_runs_and_refreshes_the_stored_catalog(
    call: Call, create_source: Call, create_destination: Call
) -> None:
    source, destination = create_source(), create_destination()
    call("sources/discover_schema", {"sourceId": source["sourceId"]})
    call("sources/discover_schema", {"sourceId": source["sourceId"]})
    assert discovers(source) == 2
    create(call, source, destination)
    assert discovers(source) == 2  # the stored one served


def test_a_changed_config_or_connector_version_discovers_anew(call: Call, create_source: Call, create_destination: Call) -> None:
    source, destination = create_source(), create_destination()
    create(call, source, destination)
    body = {"sourceId": source["sourceId"], "name": "faker", "connectionConfiguration": {"count": 7, "seed": 1}}
    call("sources/update", body)
    create(call, source, destination)
    assert discovers(source) == 2
    with models.db.connection_context():  # a new connector version (the spec stays cached with it)
        models.ActorDefinition.update(docker_image_tag="9.9.9", spec_tag="9.9.9").where(models.ActorDefinition.id == FAKER.id).execute()
    create(call, source, destination)
    assert discovers(source) == 3


def test_an_old_catalog_is_not_used(call: Call, create_source: Call, create_destination: Call) -> None:
    from airpipe.services.actors import CATALOG_MAX_AGE

    source, destination = create_source(), create_destination()
    create(call, source, destination)
    with models.db.connection_context():
        models.DiscoveredCatalog.update(discovered_at=models.now() - CATALOG_MAX_AGE - 1).execute()
    create(call, source, destination)
    assert discovers(source) == 2
