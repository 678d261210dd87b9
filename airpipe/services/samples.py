"""A look at a source's records before anything syncs them: up to N records of one stream,
read now by a worker (a read_sample job), answered, and kept nowhere (see worker/sampling.py)."""

from __future__ import annotations

import uuid
from typing import Any

from airpipe.errors import InvalidInput
from airpipe.models import SOURCE
from airpipe.schemas.actors import SourceCoreSampleRequest, SourceSampleRead, SourceSampleRequest
from airpipe.schemas.base import DestinationSyncMode, SyncMode
from airpipe.schemas.catalog import AirbyteCatalog, AirbyteStreamAndConfiguration, AirbyteStreamConfiguration
from airpipe.services import catalogs, definitions, scheduler
from airpipe.services.actors import discover, get_actor, source_catalog
from airpipe.services.secrets import secret_values
from airpipe.services.validation import validate_config
from airpipe.worker.job_configs import SampleJob


def read_source_sample(request: SourceSampleRequest) -> SourceSampleRead:
    """Up to ``limit`` records of one stream of a saved source, from its catalog discovered last."""
    source = get_actor(SOURCE, request.source_id)
    catalog = source_catalog(source)
    return _sample(source.definition, source.configuration, source.id, catalog, request)


def read_config_sample(request: SourceCoreSampleRequest) -> SourceSampleRead:
    """The same for an unsaved source config: validated, discovered, then sampled."""
    definition = definitions.get_definition(SOURCE, request.source_definition_id)
    validate_config(request.connection_configuration, definitions.specification(definition))
    discovered = discover(definition, request.connection_configuration, definition.id).catalog
    assert discovered is not None  # a discover always answers with one
    return _sample(definition, request.connection_configuration, definition.id, discovered, request)


SampleRequest = SourceSampleRequest | SourceCoreSampleRequest


def _sample(definition: Any, config: dict[str, Any], scope: uuid.UUID, catalog: AirbyteCatalog, request: SampleRequest) -> SourceSampleRead:
    wanted = (request.stream_name, request.stream_namespace)
    found = next((item.stream for item in catalog.streams if (item.stream.name, item.stream.namespace) == wanted), None)
    if found is None:
        raise InvalidInput.field("$.streamName", "the source has no such stream (sources/discover_schema lists them)", request.stream_name)
    stream = catalogs.configured_streams(AirbyteCatalog(streams=[_selected(found)]))[0].stream
    job = SampleJob(
        image=scheduler.image(definition),
        config=config,
        stream=stream,
        limit=request.limit,
        seconds=request.timeout_seconds,
        secrets=secret_values(config, definitions.specification(definition)),
    )
    records = scheduler.run_sample_job(str(scope), job)
    return SourceSampleRead(stream_name=found.name, stream_namespace=found.namespace, records=records)


def _selected(stream: Any) -> Any:

    config = AirbyteStreamConfiguration(sync_mode=SyncMode.full_refresh, destination_sync_mode=DestinationSyncMode.append)
    return AirbyteStreamAndConfiguration(stream=stream, config=config)
