"""The public API's workspaces."""

from __future__ import annotations

import uuid

from airpipe.models import Workspace
from airpipe.schemas.public import (
    ListQuery,
    NotificationsConfig,
    WorkspaceCreateRequest,
    WorkspaceResponse,
    WorkspacesResponse,
    WorkspaceUpdateRequest,
)
from airpipe.schemas.workspaces import WorkspaceCreate, WorkspaceIdRequestBody, WorkspaceRead, WorkspaceUpdate
from airpipe.services import workspaces
from airpipe.services.converters import workspace_read
from airpipe.services.public.pages import page_of


def _response(read: WorkspaceRead) -> WorkspaceResponse:
    return WorkspaceResponse(workspace_id=read.workspace_id, name=read.name, data_residency="auto", notifications=NotificationsConfig())


def list_workspaces(query: ListQuery) -> WorkspacesResponse:
    select = Workspace.select()
    if not query.include_deleted:
        select = select.where(Workspace.tombstone == False)  # noqa: E712
    if query.workspace_ids:
        select = select.where(Workspace.id.in_(query.workspace_ids))
    page, after, before = page_of(select, query, Workspace.created_at, Workspace.name, Workspace.id)
    return WorkspacesResponse(data=[_response(workspace_read(w)) for w in page], next=after, previous=before)


def get_workspace(workspace_id: uuid.UUID) -> WorkspaceResponse:
    return _response(workspaces.get_workspace(WorkspaceIdRequestBody(workspace_id=workspace_id)))


def create_workspace(request: WorkspaceCreateRequest) -> WorkspaceResponse:
    return _response(workspaces.create_workspace(WorkspaceCreate(name=request.name)))


def update_workspace(workspace_id: uuid.UUID, request: WorkspaceUpdateRequest) -> WorkspaceResponse:
    current = workspaces.get_workspace(WorkspaceIdRequestBody(workspace_id=workspace_id))
    update = WorkspaceUpdate(
        workspace_id=workspace_id,
        initial_setup_complete=current.initial_setup_complete,
        onboarding_complete=current.onboarding_complete,
        anonymous_data_collection=bool(current.anonymous_data_collection),
        news=bool(current.news),
        name=request.name,
    )
    return _response(workspaces.update_workspace(update))


def delete_workspace(workspace_id: uuid.UUID) -> None:
    workspaces.delete_workspace(WorkspaceIdRequestBody(workspace_id=workspace_id))
