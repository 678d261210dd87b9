"""Sources and destinations: one set of rules for both (validate against the spec, mask secrets,
keep masked values on update, soft delete), and thin typed functions per verb."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from airpipe.errors import FieldError, InvalidInput, NotFound
from airpipe.models import DESTINATION, SOURCE, Actor, ActorDefinition, Connection, DiscoveredCatalog, by_id, now, transaction
from airpipe.schemas.actors import (
    CheckConnectionRead,
    DestinationCoreConfig,
    DestinationCreate,
    DestinationIdRequestBody,
    DestinationRead,
    DestinationReadList,
    DestinationRecreate,
    DestinationUpdate,
    SourceCoreConfig,
    SourceCreate,
    SourceDiscoverSchemaRead,
    SourceIdRequestBody,
    SourceRead,
    SourceReadList,
    SourceRecreate,
    SourceUpdate,
)
from airpipe.schemas.base import CheckConnectionStatus
from airpipe.schemas.catalog import AirbyteCatalog
from airpipe.schemas.history import ChangeAction
from airpipe.schemas.lists import WorkspaceListRequestBody
from airpipe.services import authorship, catalogs, definitions, history, scheduler
from airpipe.services.converters import destination_read, source_read
from airpipe.services.paging import paged
from airpipe.services.secrets import keep_masked, secret_values
from airpipe.services.validation import validate_config
from airpipe.services.workspaces import get_workspace_model
from airpipe.worker.job_configs import ConnectorJob

_CHECK_JOB = {SOURCE: "check_connection_source", DESTINATION: "check_connection_destination"}


def get_actor(actor_type: str, actor_id: uuid.UUID) -> Actor:
    actor = by_id(Actor, actor_id)
    if actor is None or actor.actor_type != actor_type or actor.tombstone:
        raise NotFound(actor_type, actor_id)
    return actor


def create_actor(
    actor_type: str,
    workspace_id: uuid.UUID,
    definition_id: uuid.UUID,
    config: dict[str, Any],
    name: str,
    tags: list[str] | None = None,
    action: ChangeAction = ChangeAction.created,
) -> tuple[Actor, dict[str, Any]]:
    get_workspace_model(workspace_id)
    definition = definitions.get_definition(actor_type, definition_id)
    spec = definitions.specification(definition)
    validate_config(config, spec)
    who = authorship.by()
    with transaction():
        actor = Actor.create(
            actor_type=actor_type,
            workspace=workspace_id,
            definition=definition,
            name=name,
            configuration=config,
            tags=tags,
            created_by=who,
            updated_by=who,
        )
        history.record_actor(actor, action)
    return actor, spec


def _merged_update(actor_type: str, actor_id: uuid.UUID, config: dict[str, Any]) -> tuple[Actor, dict[str, Any], dict[str, Any]]:
    """The actor, its spec and the config an update would store (masked secrets kept), validated."""
    actor = get_actor(actor_type, actor_id)
    spec = definitions.specification(actor.definition)
    merged = keep_masked(config, actor.configuration, spec)
    validate_config(merged, spec)
    return actor, spec, merged


def update_actor(
    actor_type: str,
    actor_id: uuid.UUID,
    config: dict[str, Any],
    name: str,
    tags: list[str] | None = None,
    action: ChangeAction = ChangeAction.updated,
) -> tuple[Actor, dict[str, Any]]:
    """``tags`` None: they stay as they are."""
    actor, spec, merged = _merged_update(actor_type, actor_id, config)
    with transaction():
        actor.configuration = merged
        actor.name = name
        if tags is not None:
            actor.tags = tags
        authorship.touch(actor)
        actor.save()
        history.record_actor(actor, action)
        # another config may reach other streams: the next connection discovers afresh
        DiscoveredCatalog.delete().where(DiscoveredCatalog.source == actor.id).execute()
    return actor, spec


def _delete(actor_type: str, actor_id: uuid.UUID) -> None:
    """Deprecate the actor's connections, then tombstone it (CONTRACT.md)."""
    with transaction():
        actor = get_actor(actor_type, actor_id)
        side = Connection.source if actor_type == SOURCE else Connection.destination
        Connection.update(status="deprecated").where(side == actor.id).execute()
        actor.tombstone = True
        authorship.touch(actor)
        actor.save()
        history.record_actor(actor, ChangeAction.deleted)


def _list(actor_type: str, request: WorkspaceListRequestBody) -> list[tuple[Actor, dict[str, Any]]]:
    get_workspace_model(request.workspace_id)
    # one query: each actor comes with its definition (and so its cached spec)
    query = Actor.live(actor_type).select(Actor, ActorDefinition).join(ActorDefinition).where(Actor.workspace == request.workspace_id)
    order = (Actor.created_at, Actor.name)
    actors = list(paged(query, request, name=Actor.name, created_at=Actor.created_at, default_order=order, tags=Actor.tags))
    specs = definitions.specifications(actors)
    return [(actor, specs[actor.definition_id]) for actor in actors]


def _job_config(definition: Any, config: dict[str, Any]) -> ConnectorJob:
    """What a check or discover job runs, with the config's secret values for the log scrubber."""
    spec = definitions.specification(definition)
    return ConnectorJob(image=scheduler.image(definition), config=config, secrets=secret_values(config, spec))


def _check(actor_type: str, scope: uuid.UUID, definition: Any, config: dict[str, Any]) -> CheckConnectionRead:
    job = scheduler.run_synchronous_job(_CHECK_JOB[actor_type], str(scope), _job_config(definition, config))
    if job.status == "succeeded" and job.output:
        return CheckConnectionRead(status=CheckConnectionStatus(job.output["status"]), message=job.output.get("message"))
    return CheckConnectionRead(status=CheckConnectionStatus.failed, message=scheduler.failure_message(job))


def discover(definition: Any, config: dict[str, Any], scope: uuid.UUID) -> SourceDiscoverSchemaRead:
    job = scheduler.run_synchronous_job("discover_schema", str(scope), _job_config(definition, config))
    catalog = catalogs.from_discovered(scheduler.require_success(job, "Discovering the schema"))
    return SourceDiscoverSchemaRead(schema=catalogs.to_source_schema(catalog), catalog=catalog)


#: a discovered catalog younger than this stands in for a new discover (connections/create)
CATALOG_MAX_AGE = 3600


def source_catalog(source: Actor) -> AirbyteCatalog:
    """The source's catalog: the one discovered last if it is recent and its definition's tag
    has not changed since, else a new discover (stored for the next time)."""
    stored = by_id(DiscoveredCatalog, source.id)
    current = stored is not None and stored.docker_image_tag == source.definition.docker_image_tag
    if stored is not None and current and stored.discovered_at > now() - CATALOG_MAX_AGE:
        return msgspec.convert(stored.catalog, AirbyteCatalog)
    catalog = _discover_and_store(source).catalog
    assert catalog is not None  # a discover job always answers with one
    return catalog


def refuse_unknown_streams(source: Actor, catalog: AirbyteCatalog, field: str) -> None:
    """422 naming each stream of ``catalog`` the source does not have, as its last discover found
    them. With no discover stored yet nothing is checked: no connector runs for it here."""
    stored = by_id(DiscoveredCatalog, source.id)
    if stored is None:
        return
    known = {(s["stream"]["name"], s["stream"].get("namespace")) for s in stored.catalog.get("streams") or []}
    errors = [
        FieldError(
            f"$.{field}.streams[{i}].stream.name", "the source has no such stream (sources/discover_schema lists them)", item.stream.name
        )
        for i, item in enumerate(catalog.streams)
        if (item.stream.name, item.stream.namespace) not in known
    ]
    if errors:
        raise InvalidInput("; ".join(f"{e.path}: {e.message}" for e in errors), errors)


def _discover_and_store(source: Actor) -> SourceDiscoverSchemaRead:
    discovered = discover(source.definition, source.configuration, source.id)
    tag = source.definition.docker_image_tag
    row = {"catalog": msgspec.to_builtins(discovered.catalog), "docker_image_tag": tag, "discovered_at": now()}
    with transaction():
        DiscoveredCatalog.insert(source=source.id, **row).on_conflict(conflict_target=[DiscoveredCatalog.source], update=row).execute()
    return discovered


# SOURCES


def create_source(request: SourceCreate) -> SourceRead:
    return source_read(
        *create_actor(
            SOURCE, request.workspace_id, request.source_definition_id, request.connection_configuration, request.name, request.tags
        )
    )


def update_source(request: SourceUpdate) -> SourceRead:
    return source_read(*update_actor(SOURCE, request.source_id, request.connection_configuration, request.name, request.tags))


def get_source(request: SourceIdRequestBody) -> SourceRead:
    source = get_actor(SOURCE, request.source_id)
    return source_read(source, definitions.specification(source.definition))


def list_sources(request: WorkspaceListRequestBody) -> SourceReadList:
    return SourceReadList(sources=[source_read(*pair) for pair in _list(SOURCE, request)])


def delete_source(request: SourceIdRequestBody) -> None:
    _delete(SOURCE, request.source_id)


def recreate_source(request: SourceRecreate) -> SourceRead:
    """Replace a source by a new one (possibly of another definition), as Airbyte's web backend does."""
    get_actor(SOURCE, request.source_id)
    created = create_actor(
        SOURCE, request.workspace_id, request.source_definition_id, request.connection_configuration, request.name, request.tags
    )
    _delete(SOURCE, request.source_id)
    return source_read(*created)


def check_source(request: SourceIdRequestBody) -> CheckConnectionRead:
    source = get_actor(SOURCE, request.source_id)
    return _check(SOURCE, source.id, source.definition, source.configuration)


def check_source_for_update(request: SourceUpdate) -> CheckConnectionRead:
    source, _, merged = _merged_update(SOURCE, request.source_id, request.connection_configuration)
    return _check(SOURCE, source.id, source.definition, merged)


def check_source_config(request: SourceCoreConfig) -> CheckConnectionRead:
    definition = definitions.get_definition(SOURCE, request.source_definition_id)
    validate_config(request.connection_configuration, definitions.specification(definition))
    return _check(SOURCE, definition.id, definition, request.connection_configuration)


def discover_source_schema(request: SourceIdRequestBody) -> SourceDiscoverSchemaRead:
    return _discover_and_store(get_actor(SOURCE, request.source_id))


def discover_source_config_schema(request: SourceCoreConfig) -> SourceDiscoverSchemaRead:
    definition = definitions.get_definition(SOURCE, request.source_definition_id)
    validate_config(request.connection_configuration, definitions.specification(definition))
    return discover(definition, request.connection_configuration, definition.id)


# DESTINATIONS


def create_destination(request: DestinationCreate) -> DestinationRead:
    return destination_read(
        *create_actor(
            DESTINATION,
            request.workspace_id,
            request.destination_definition_id,
            request.connection_configuration,
            request.name,
            request.tags,
        )
    )


def update_destination(request: DestinationUpdate) -> DestinationRead:
    return destination_read(
        *update_actor(DESTINATION, request.destination_id, request.connection_configuration, request.name, request.tags)
    )


def get_destination(request: DestinationIdRequestBody) -> DestinationRead:
    destination = get_actor(DESTINATION, request.destination_id)
    return destination_read(destination, definitions.specification(destination.definition))


def list_destinations(request: WorkspaceListRequestBody) -> DestinationReadList:
    return DestinationReadList(destinations=[destination_read(*pair) for pair in _list(DESTINATION, request)])


def delete_destination(request: DestinationIdRequestBody) -> None:
    _delete(DESTINATION, request.destination_id)


def recreate_destination(request: DestinationRecreate) -> DestinationRead:
    get_actor(DESTINATION, request.destination_id)
    created = create_actor(
        DESTINATION, request.workspace_id, request.destination_definition_id, request.connection_configuration, request.name, request.tags
    )
    _delete(DESTINATION, request.destination_id)
    return destination_read(*created)


def check_destination(request: DestinationIdRequestBody) -> CheckConnectionRead:
    destination = get_actor(DESTINATION, request.destination_id)
    return _check(DESTINATION, destination.id, destination.definition, destination.configuration)


def check_destination_for_update(request: DestinationUpdate) -> CheckConnectionRead:
    destination, _, merged = _merged_update(DESTINATION, request.destination_id, request.connection_configuration)
    return _check(DESTINATION, destination.id, destination.definition, merged)


def check_destination_config(request: DestinationCoreConfig) -> CheckConnectionRead:
    definition = definitions.get_definition(DESTINATION, request.destination_definition_id)
    validate_config(request.connection_configuration, definitions.specification(definition))
    return _check(DESTINATION, definition.id, definition, request.connection_configuration)
