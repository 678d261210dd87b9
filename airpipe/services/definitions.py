"""Source and destination definitions (connector images), their specs, and the built-in seed."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from airpipe.connectors.registry import BUILTIN_DEFINITIONS
from airpipe.errors import NotFound
from airpipe.models import DESTINATION, SOURCE, Actor, ActorDefinition, by_id, transaction
from airpipe.schemas.definitions import (
    DestinationDefinitionCreate,
    DestinationDefinitionIdRequestBody,
    DestinationDefinitionRead,
    DestinationDefinitionReadList,
    DestinationDefinitionSpecificationRead,
    DestinationDefinitionUpdate,
    SourceDefinitionCreate,
    SourceDefinitionIdRequestBody,
    SourceDefinitionRead,
    SourceDefinitionReadList,
    SourceDefinitionSpecificationRead,
    SourceDefinitionUpdate,
)
from airpipe.schemas.lists import ListRequestBody
from airpipe.services import scheduler
from airpipe.services.converters import destination_definition_read, source_definition_read
from airpipe.services.paging import paged
from airpipe.worker.job_configs import ConnectorJob


def ensure_builtin_definitions() -> None:
    """The built-in connectors are there from the first start, and follow airpipe's upgrades."""
    with transaction():
        for builtin in BUILTIN_DEFINITIONS:
            definition = ActorDefinition.get_or_none(ActorDefinition.id == builtin.id)
            if definition is None:
                ActorDefinition.create(
                    id=builtin.id,
                    actor_type=builtin.actor_type,
                    name=builtin.name,
                    docker_repository=builtin.docker_repository,
                    docker_image_tag=builtin.docker_image_tag,
                    documentation_url=builtin.documentation_url,
                )
            elif definition.docker_image_tag != builtin.docker_image_tag:
                definition.docker_image_tag = builtin.docker_image_tag
                definition.save()


def register_connector(
    actor_type: str, name: str, docker_repository: str, docker_image_tag: str, documentation_url: str | None = None
) -> ActorDefinition:
    """The definition of an installed connector (`airpipe connectors install`): created on the
    first install, and on a later one every definition of the repository follows the new tag
    (so ``specification`` reads the spec again). A definition's name is left as it is."""
    with transaction():
        existing: list[ActorDefinition] = list(
            ActorDefinition.live(actor_type)
            .where(ActorDefinition.docker_repository == docker_repository)
            .order_by(ActorDefinition.created_at, ActorDefinition.id)
        )
        if not existing:
            return ActorDefinition.create(
                actor_type=actor_type,
                name=name,
                docker_repository=docker_repository,
                docker_image_tag=docker_image_tag,
                documentation_url=documentation_url,
            )
        for definition in existing:
            definition.docker_image_tag = docker_image_tag
            definition.documentation_url = definition.documentation_url or documentation_url
            definition.save()
    return existing[0]


def get_definition(actor_type: str, definition_id: uuid.UUID) -> ActorDefinition:
    definition = by_id(ActorDefinition, definition_id)
    if definition is None or definition.actor_type != actor_type or definition.tombstone:
        raise NotFound(f"{actor_type}_definition", definition_id)
    return definition


def specification(definition: ActorDefinition) -> dict[str, Any]:
    """The connector's `spec` output, cached on the definition until its tag changes."""
    if definition.spec is not None and definition.spec_tag == definition.docker_image_tag:
        cached: dict[str, Any] = definition.spec
        return cached
    job = scheduler.run_synchronous_job("get_spec", str(definition.id), ConnectorJob(image=scheduler.image(definition)))
    spec = scheduler.require_success(job, f"Reading the spec of {definition.docker_repository}:{definition.docker_image_tag}")
    with transaction():
        ActorDefinition.update(spec=spec, spec_tag=definition.docker_image_tag).where(ActorDefinition.id == definition.id).execute()
    definition.spec, definition.spec_tag = spec, definition.docker_image_tag
    return spec


def specifications(actors: Iterable[Actor]) -> dict[uuid.UUID, dict[str, Any]]:
    """The spec of each definition the actors are made from (loaded with them), each read once."""
    specs: dict[uuid.UUID, dict[str, Any]] = {}
    for actor in actors:
        if actor.definition_id not in specs:
            specs[actor.definition_id] = specification(actor.definition)
    return specs


def _create(actor_type: str, request: SourceDefinitionCreate | DestinationDefinitionCreate) -> ActorDefinition:
    with transaction():
        return ActorDefinition.create(
            actor_type=actor_type,
            name=request.name,
            docker_repository=request.docker_repository,
            docker_image_tag=request.docker_image_tag,
            documentation_url=request.documentation_url,
        )


def _update_tag(actor_type: str, definition_id: uuid.UUID, tag: str) -> ActorDefinition:
    with transaction():
        definition = get_definition(actor_type, definition_id)
        definition.docker_image_tag = tag
        definition.save()
    return definition


def _list(actor_type: str, request: ListRequestBody | None) -> list[ActorDefinition]:
    query = ActorDefinition.live(actor_type)
    order = (ActorDefinition.name,)
    return list(paged(query, request, name=ActorDefinition.name, created_at=ActorDefinition.created_at, default_order=order))


# SOURCE DEFINITIONS


def create_source_definition(request: SourceDefinitionCreate) -> SourceDefinitionRead:
    return source_definition_read(_create(SOURCE, request))


def update_source_definition(request: SourceDefinitionUpdate) -> SourceDefinitionRead:
    return source_definition_read(_update_tag(SOURCE, request.source_definition_id, request.docker_image_tag))


def get_source_definition(request: SourceDefinitionIdRequestBody) -> SourceDefinitionRead:
    return source_definition_read(get_definition(SOURCE, request.source_definition_id))


def list_source_definitions(request: ListRequestBody | None = None) -> SourceDefinitionReadList:
    return SourceDefinitionReadList(source_definitions=[source_definition_read(d) for d in _list(SOURCE, request)])


def get_source_definition_specification(request: SourceDefinitionIdRequestBody) -> SourceDefinitionSpecificationRead:
    definition = get_definition(SOURCE, request.source_definition_id)
    spec = specification(definition)
    return SourceDefinitionSpecificationRead(
        source_definition_id=definition.id,
        documentation_url=spec.get("documentationUrl"),
        connection_specification=spec.get("connectionSpecification") or {},
    )


# DESTINATION DEFINITIONS


def create_destination_definition(request: DestinationDefinitionCreate) -> DestinationDefinitionRead:
    return destination_definition_read(_create(DESTINATION, request))


def update_destination_definition(request: DestinationDefinitionUpdate) -> DestinationDefinitionRead:
    return destination_definition_read(_update_tag(DESTINATION, request.destination_definition_id, request.docker_image_tag))


def get_destination_definition(request: DestinationDefinitionIdRequestBody) -> DestinationDefinitionRead:
    return destination_definition_read(get_definition(DESTINATION, request.destination_definition_id))


def list_destination_definitions(request: ListRequestBody | None = None) -> DestinationDefinitionReadList:
    return DestinationDefinitionReadList(destination_definitions=[destination_definition_read(d) for d in _list(DESTINATION, request)])


def get_destination_definition_specification(
    request: DestinationDefinitionIdRequestBody,
) -> DestinationDefinitionSpecificationRead:
    definition = get_definition(DESTINATION, request.destination_definition_id)
    spec = specification(definition)
    return DestinationDefinitionSpecificationRead(
        destination_definition_id=definition.id,
        documentation_url=spec.get("documentationUrl"),
        connection_specification=spec.get("connectionSpecification") or {},
        supports_incremental=spec.get("supportsIncremental"),
        supported_destination_sync_modes=spec.get("supported_destination_sync_modes"),
    )
