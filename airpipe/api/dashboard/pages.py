"""The dashboard's pages (GET): each reads through the same service functions the API's operations
call, with their request Structs, and renders a template. They work with JavaScript off."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from airpipe.api.dashboard import forms
from airpipe.api.dashboard.web import call, error_page, page, path_int, path_uuid, render, text, workspace_of
from airpipe.errors import NotFound
from airpipe.schemas import actors as a
from airpipe.schemas import definitions as d
from airpipe.schemas.base import JobConfigType
from airpipe.schemas.connections import ConnectionIdRequestBody, WbConnectionRequestBody
from airpipe.schemas.jobs import JobIdRequestBody, JobListRequestBody, JobLogsRequestBody
from airpipe.schemas.lists import Pagination, WorkspaceListRequestBody
from airpipe.schemas.workspaces import WorkspaceIdRequestBody
from airpipe.services import actors, connections, definitions, jobs, web_backend, workspaces

#: a job in one of these may still change: its page follows it, and it can be cancelled
LIVE = frozenset({"pending", "running", "incomplete"})
#: the job history a connection's page shows
HISTORY = 50
#: the log lines a job's page shows at first (JavaScript fetches the rest as they come)
LOG_PAGE = 5000


@dataclass(frozen=True)
class Kind:
    """Sources and destinations: one set of pages for both, with the services of each."""

    plural: str  # sources, destinations
    singular: str
    id_field: str  # the read's id attribute
    list: Any
    definitions: Any
    specification: Any
    spec_request: type
    create: Any
    create_request: type
    check: Any
    id_request: type


SOURCES = Kind(
    "sources", "source", "source_id",
    actors.list_sources, definitions.list_source_definitions, definitions.get_source_definition_specification,
    d.SourceDefinitionIdRequestBody, actors.create_source, a.SourceCreate, actors.check_source, a.SourceIdRequestBody,
)  # fmt: skip
DESTINATIONS = Kind(
    "destinations", "destination", "destination_id",
    actors.list_destinations, definitions.list_destination_definitions, definitions.get_destination_definition_specification,
    d.DestinationDefinitionIdRequestBody, actors.create_destination, a.DestinationCreate, actors.check_destination,
    a.DestinationIdRequestBody,
)  # fmt: skip
KINDS = {kind.plural: kind for kind in (SOURCES, DESTINATIONS)}


def kind_of(request: Request) -> Kind:
    kind = KINDS.get(request.path_params["kind"])
    if kind is None:
        raise NotFound("page", request.url.path)
    return kind


@page
async def connections_page(request: Request) -> Response:
    workspace, every = await workspace_of(request)
    views = await call(web_backend.list_connections, WorkspaceListRequestBody(workspace_id=workspace.workspace_id))
    return render(request, "connections.html", workspace=workspace, workspaces=every, connections=views.connections, live=LIVE)


@page
async def workspaces_page(request: Request) -> Response:
    every = (await call(workspaces.list_workspaces, None)).workspaces
    return render(request, "workspaces.html", workspace=None, workspaces=every)


@page
async def connection_page(request: Request) -> Response:
    connection_id = path_uuid(request, "connection_id", "connection")
    view = await call(web_backend.get_connection, WbConnectionRequestBody(connection_id=connection_id))
    history = JobListRequestBody(
        config_types=[JobConfigType.sync, JobConfigType.reset_connection],
        config_id=str(connection_id),
        pagination=Pagination(page_size=HISTORY),
    )
    found = await call(jobs.list_jobs, history)
    job_list = [item for item in found.jobs if item.job is not None]
    running = next((item.job for item in job_list if text(item.job.status) in LIVE), None)
    workspace = await call(workspaces.get_workspace, _workspace_request(view.source.workspace_id))
    return render(
        request,
        "connection.html",
        workspace=workspace,
        workspaces=[],
        connection=view,
        jobs=job_list,
        total_jobs=found.total_job_count,
        running=running,
    )


@page
async def job_page(request: Request) -> Response:
    job_id = path_int(request, "job_id", "job")
    info = await call(jobs.get_job, JobIdRequestBody(id=job_id))
    logs = await call(jobs.list_job_logs, JobLogsRequestBody(job_id=job_id, page_size=LOG_PAGE))
    job = info.job
    connection = None
    if text(job.config_type) in ("sync", "reset_connection"):
        connection = await call(connections.get_connection, ConnectionIdRequestBody(connection_id=uuid.UUID(job.config_id)))
    return render(
        request,
        "job.html",
        workspace=None,
        workspaces=[],
        job=job,
        attempts=[item.attempt for item in info.attempts],
        logs=logs.logs,
        next_after_id=logs.next_after_id,
        live=text(job.status) in LIVE,
        connection=connection,
    )


@page
async def actors_page(request: Request) -> Response:
    kind = kind_of(request)
    workspace, every = await workspace_of(request)
    found = await call(kind.list, WorkspaceListRequestBody(workspace_id=workspace.workspace_id))
    items = getattr(found, kind.plural)
    return render(request, "actors.html", workspace=workspace, workspaces=every, kind=kind, items=items)


@page
async def actor_form_page(request: Request) -> Response:
    kind = kind_of(request)
    workspace, every = await workspace_of(request)
    return await actor_form(request, kind, workspace, every, request.query_params.get("definition"))


async def actor_form(
    request: Request,
    kind: Kind,
    workspace: Any,
    every: list[Any],
    definition_id: str | None,
    values: dict[str, str] | None = None,
    errors: list[Any] | None = None,
    status_code: int = 200,
) -> Response:
    """The form to create a source or destination: first its connector, then its spec's fields.
    Shown again, filled in, with each field's error, when what was sent is refused."""
    found = getattr(await call(kind.definitions, None), f"{kind.singular}_definitions")
    chosen = next((item for item in found if str(getattr(item, f"{kind.singular}_definition_id")) == definition_id), None)
    form_fields: list[forms.Field] = []
    documentation = None
    if chosen is not None:
        spec_read = await call(kind.specification, kind.spec_request(getattr(chosen, f"{kind.singular}_definition_id")))
        form_fields = forms.fields(spec_read.connection_specification, values)
        documentation = spec_read.documentation_url
        errors = forms.attach_errors(form_fields, errors or [])
    return render(
        request,
        "actor_new.html",
        status_code,
        workspace=workspace,
        workspaces=every,
        kind=kind,
        definitions=found,
        chosen=chosen,
        fields=form_fields,
        documentation=documentation,
        name=(values or {}).get("name", ""),
        errors=errors or [],
    )


@page
async def connection_form_page(request: Request) -> Response:
    workspace, every = await workspace_of(request)
    return await connection_form(request, workspace, every)


async def connection_form(
    request: Request,
    workspace: Any,
    every: list[Any],
    values: dict[str, str] | None = None,
    errors: list[Any] | None = None,
    status_code: int = 200,
) -> Response:
    listed = WorkspaceListRequestBody(workspace_id=workspace.workspace_id)
    sources = (await call(actors.list_sources, listed)).sources
    destinations = (await call(actors.list_destinations, listed)).destinations
    return render(
        request,
        "connection_new.html",
        status_code,
        workspace=workspace,
        workspaces=every,
        sources=sources,
        destinations=destinations,
        values=values or {},
        errors=errors or [],
    )


async def not_found_page(request: Request) -> Response:
    return error_page(request, 404, f"No page at {request.url.path}")


def _workspace_request(workspace_id: Any) -> WorkspaceIdRequestBody:
    return WorkspaceIdRequestBody(workspace_id=workspace_id)
