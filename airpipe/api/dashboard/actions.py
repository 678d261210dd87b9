"""The dashboard's form actions (POST): each builds the request Struct an API operation would
decode, calls the same service function, and redirects to the page that shows the outcome
(Post/Redirect/Get), so that every button works with JavaScript off. A refused form is shown
again with its errors (422)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from airpipe.api.dashboard import forms
from airpipe.api.dashboard.pages import LIVE, actor_form, connection_form, kind_of
from airpipe.api.dashboard.web import build, call, form, page, path_int, path_uuid, redirect, text, workspace_of
from airpipe.errors import FieldError, InvalidInput
from airpipe.schemas.base import JobConfigType
from airpipe.schemas.connections import ConnectionCreate, ConnectionIdRequestBody, ConnectionUpdate
from airpipe.schemas.jobs import JobIdRequestBody, JobListRequestBody
from airpipe.schemas.lists import Pagination
from airpipe.services import connections, jobs


@page
async def sync_action(request: Request) -> Response:
    connection_id = path_uuid(request, "connection_id", "connection")
    started = await call(connections.sync_connection, ConnectionIdRequestBody(connection_id=connection_id))
    return redirect(f"/ui/jobs/{started.job.id}", f"Sync job {started.job.id} started")


@page
async def status_action(request: Request) -> Response:
    """Enable (active) or disable (inactive) a connection: its schedule starts syncs only when active."""
    connection_id = path_uuid(request, "connection_id", "connection")
    values = await form(request)
    update = build(ConnectionUpdate, {"connectionId": str(connection_id), "status": values.get("status", "")})
    updated = await call(connections.update_connection, update)
    word = "enabled" if text(updated.status) == "active" else "disabled"
    return redirect(_back(values, f"/ui/connections/{connection_id}"), f"Connection {updated.name!r} {word}")


@page
async def cancel_sync_action(request: Request) -> Response:
    """Cancel a connection's running sync or reset (the connections list knows no job ids)."""
    connection_id = path_uuid(request, "connection_id", "connection")
    values = await form(request)
    history = JobListRequestBody(
        config_types=[JobConfigType.sync, JobConfigType.reset_connection], config_id=str(connection_id), pagination=Pagination(page_size=5)
    )
    await call(connections.get_connection, ConnectionIdRequestBody(connection_id=connection_id))  # 404 for an unknown id
    found = await call(jobs.list_jobs, history)
    running = [item.job for item in found.jobs if item.job is not None and text(item.job.status) in LIVE]
    if not running:
        return redirect(_back(values, f"/ui/connections/{connection_id}"), "No job of this connection is running", error=True)
    for job in running:
        await call(jobs.cancel_job, JobIdRequestBody(id=job.id))
    return redirect(_back(values, f"/ui/connections/{connection_id}"), f"Job {running[0].id} cancelled")


@page
async def cancel_action(request: Request) -> Response:
    job_id = path_int(request, "job_id", "job")
    info = await call(jobs.cancel_job, JobIdRequestBody(id=job_id))
    return redirect(f"/ui/jobs/{job_id}", f"Job {job_id} is {text(info.job.status)}")


@page
async def check_action(request: Request) -> Response:
    kind = kind_of(request)
    actor_id = path_uuid(request, "actor_id", kind.singular)
    values = await form(request)
    checked = await call(kind.check, kind.id_request(actor_id))
    failed = text(checked.status) != "succeeded"
    message = f"Check {text(checked.status)}" + (f": {checked.message}" if checked.message else "")
    return redirect(f"/ui/{kind.plural}", message, error=failed, workspace=values.get("workspace", ""))


@page
async def create_actor_action(request: Request) -> Response:
    kind = kind_of(request)
    values = await form(request)
    workspace, every = await _workspace(request, values)
    definition_id = values.get("definition", "")
    try:
        definitions = getattr(await call(kind.definitions, None), f"{kind.singular}_definitions")
        chosen = next(item for item in definitions if str(getattr(item, f"{kind.singular}_definition_id")) == definition_id)
    except StopIteration:
        raise InvalidInput.field(f"$.{kind.singular}DefinitionId", "choose a connector", definition_id) from None
    spec_read = await call(kind.specification, kind.spec_request(getattr(chosen, f"{kind.singular}_definition_id")))
    config = forms.config(forms.fields(spec_read.connection_specification), values)
    raw = {
        "workspaceId": str(workspace.workspace_id),
        f"{kind.singular}DefinitionId": definition_id,
        "connectionConfiguration": config,
        "name": values.get("name", ""),
    }
    try:
        created = await call(kind.create, build(kind.create_request, raw))
    except InvalidInput as exc:
        return await actor_form(request, kind, workspace, every, definition_id, values, exc.errors or [_whole(exc)], 422)
    name = created.name
    return redirect(f"/ui/{kind.plural}", f"Created {kind.singular} {name!r}", workspace=str(workspace.workspace_id))


@page
async def create_connection_action(request: Request) -> Response:
    values = await form(request)
    workspace, every = await _workspace(request, values)
    raw: dict[str, Any] = {
        "sourceId": values.get("source", ""),
        "destinationId": values.get("destination", ""),
        "status": "active" if values.get("enabled") == "true" else "inactive",
    }
    if values.get("name"):
        raw["name"] = values["name"]
    if values.get("schedule") == "basic":
        raw["scheduleType"] = "basic"
        raw["scheduleData"] = {"basicSchedule": {"units": _number(values.get("units", "")), "timeUnit": values.get("time_unit", "")}}
    elif values.get("schedule") == "cron":
        cron = {"cronExpression": values.get("cron", ""), "cronTimeZone": values.get("time_zone") or "UTC"}
        raw["scheduleType"] = "cron"
        raw["scheduleData"] = {"cron": cron}
    else:
        raw["scheduleType"] = "manual"
    try:
        created = await call(connections.create_connection, build(ConnectionCreate, raw))
    except InvalidInput as exc:
        return await connection_form(request, workspace, every, values, exc.errors or [_whole(exc)], 422)
    return redirect(f"/ui/connections/{created.connection_id}", f"Created connection {created.name!r}")


async def _workspace(request: Request, values: dict[str, str]) -> tuple[Any, list[Any]]:
    """The workspace a form was for (its hidden ``workspace`` input)."""
    return await workspace_of(request, values.get("workspace") or None)


def _back(values: dict[str, str], default: str) -> str:
    """Where a button asks to go back to (a page of this site only), else ``default``."""
    wanted = values.get("next", "")
    return wanted if wanted.startswith("/") and not wanted.startswith("//") and "\\" not in wanted else default


def _number(raw: str) -> Any:
    return int(raw) if raw.isdigit() else raw


def _whole(exc: InvalidInput) -> FieldError:
    return FieldError("$", exc.message)
