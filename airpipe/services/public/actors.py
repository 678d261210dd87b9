"""The public API's sources and destinations: one set of translations for both, as in
services/actors.py. A connector is named by ``definitionId``, or by ``sourceType`` /
``destinationType`` inside the configuration (Airbyte's way: ``{"sourceType": "faker", ...}``)."""

from __future__ import annotations

import uuid
from typing import Any

from airpipe.errors import InvalidInput
from airpipe.models import DESTINATION, SOURCE, Actor, ActorDefinition
from airpipe.schemas.actors import (
    DestinationCreate,
    DestinationIdRequestBody,
    DestinationUpdate,
    SourceCreate,
    SourceIdRequestBody,
    SourceUpdate,
)
from airpipe.schemas.public import (
    DestinationCreateRequest,
    DestinationPatchRequest,
    DestinationPutRequest,
    DestinationResponse,
    DestinationsResponse,
    ListQuery,
    SourceCreateRequest,
    SourcePatchRequest,
    SourcePutRequest,
    SourceResponse,
    SourcesResponse,
)
from airpipe.services import actors, definitions
from airpipe.services.converters import destination_read, source_read
from airpipe.services.public.pages import page_of

#: the configuration key that names the connector, per side
_TYPE_KEY = {SOURCE: "sourceType", DESTINATION: "destinationType"}


def connector_type(definition: ActorDefinition) -> str:
    """Airbyte's short name of a connector: ``airbyte/source-postgres`` is ``postgres``."""
    name = definition.docker_repository.rsplit("/", 1)[-1]
    return name.removeprefix(f"{definition.actor_type}-")


def _definition_and_config(
    actor_type: str, definition_id: uuid.UUID | None, configuration: dict[str, Any]
) -> tuple[uuid.UUID, dict[str, Any]]:
    key = _TYPE_KEY[actor_type]
    config = {k: v for k, v in configuration.items() if k != key}
    if definition_id is not None:
        return definition_id, config
    wanted = configuration.get(key)
    if not isinstance(wanted, str):
        raise InvalidInput.field("$.definitionId", f"is required unless configuration.{key} names the connector")
    for definition in ActorDefinition.live(actor_type):
        if connector_type(definition) == wanted:
            return definition.id, config
    raise InvalidInput.field(f"$.configuration.{key}", f"no {actor_type} connector is called {wanted!r}", wanted)


def _patched(
    actor_type: str, actor_id: uuid.UUID, name: str | None, configuration: dict[str, Any] | None, *, replace: bool
) -> tuple[str, dict[str, Any]]:
    """The name and configuration an update stores: a PATCH merges the keys it sends into the
    stored configuration (masked secrets sent back keep their value), a PUT replaces it."""
    actor = actors.get_actor(actor_type, actor_id)
    key = _TYPE_KEY[actor_type]
    sent = {k: v for k, v in (configuration or {}).items() if k != key}
    config = sent if replace else {**actor.configuration, **sent}
    return name or actor.name, config


def _page(actor_type: str, query: ListQuery) -> tuple[list[tuple[Actor, dict[str, Any]]], str | None, str | None]:
    select = Actor.select(Actor, ActorDefinition).join(ActorDefinition).where(Actor.actor_type == actor_type)
    if not query.include_deleted:
        select = select.where(Actor.tombstone == False)  # noqa: E712
    if query.workspace_ids:
        select = select.where(Actor.workspace.in_(query.workspace_ids))
    page, after, before = page_of(select, query, Actor.created_at, Actor.name, Actor.id)
    specs = definitions.specifications(page)
    return [(actor, specs[actor.definition_id]) for actor in page], after, before


# SOURCES


def _source(actor: Actor, spec: dict[str, Any]) -> SourceResponse:
    read = source_read(actor, spec)
    kind = connector_type(actor.definition)
    return SourceResponse(
        source_id=read.source_id,
        name=read.name,
        source_type=kind,
        definition_id=read.source_definition_id,
        workspace_id=read.workspace_id,
        configuration={**read.connection_configuration, "sourceType": kind},
        created_at=actor.created_at,
    )


def get_source(source_id: uuid.UUID) -> SourceResponse:
    source = actors.get_actor(SOURCE, source_id)
    return _source(source, definitions.specification(source.definition))


def list_sources(query: ListQuery) -> SourcesResponse:
    pairs, after, before = _page(SOURCE, query)
    return SourcesResponse(data=[_source(*pair) for pair in pairs], next=after, previous=before)


def create_source(request: SourceCreateRequest) -> SourceResponse:
    definition_id, config = _definition_and_config(SOURCE, request.definition_id, request.configuration)
    created = actors.create_source(
        SourceCreate(
            workspace_id=request.workspace_id, source_definition_id=definition_id, connection_configuration=config, name=request.name
        )
    )
    return get_source(created.source_id)


def patch_source(source_id: uuid.UUID, request: SourcePatchRequest | SourcePutRequest) -> SourceResponse:
    name, config = _patched(SOURCE, source_id, request.name, request.configuration, replace=isinstance(request, SourcePutRequest))
    actors.update_source(SourceUpdate(source_id=source_id, connection_configuration=config, name=name))
    return get_source(source_id)


def delete_source(source_id: uuid.UUID) -> None:
    actors.delete_source(SourceIdRequestBody(source_id=source_id))


# DESTINATIONS


def _destination(actor: Actor, spec: dict[str, Any]) -> DestinationResponse:
    read = destination_read(actor, spec)
    kind = connector_type(actor.definition)
    return DestinationResponse(
        destination_id=read.destination_id,
        name=read.name,
        destination_type=kind,
        definition_id=read.destination_definition_id,
        workspace_id=read.workspace_id,
        configuration={**read.connection_configuration, "destinationType": kind},
        created_at=actor.created_at,
    )


def get_destination(destination_id: uuid.UUID) -> DestinationResponse:
    destination = actors.get_actor(DESTINATION, destination_id)
    return _destination(destination, definitions.specification(destination.definition))


def list_destinations(query: ListQuery) -> DestinationsResponse:
    pairs, after, before = _page(DESTINATION, query)
    return DestinationsResponse(data=[_destination(*pair) for pair in pairs], next=after, previous=before)


def create_destination(request: DestinationCreateRequest) -> DestinationResponse:
    definition_id, config = _definition_and_config(DESTINATION, request.definition_id, request.configuration)
    created = actors.create_destination(
        DestinationCreate(
            workspace_id=request.workspace_id, destination_definition_id=definition_id, connection_configuration=config, name=request.name
        )
    )
    return get_destination(created.destination_id)


def patch_destination(destination_id: uuid.UUID, request: DestinationPatchRequest | DestinationPutRequest) -> DestinationResponse:
    replace = isinstance(request, DestinationPutRequest)
    name, config = _patched(DESTINATION, destination_id, request.name, request.configuration, replace=replace)
    actors.update_destination(DestinationUpdate(destination_id=destination_id, connection_configuration=config, name=name))
    return get_destination(destination_id)


def delete_destination(destination_id: uuid.UUID) -> None:
    actors.delete_destination(DestinationIdRequestBody(destination_id=destination_id))
