from __future__ import annotations

import re
import uuid

from airpipe.errors import Conflict, NotFound
from airpipe.models import Workspace, by_id, transaction
from airpipe.schemas.lists import ListRequestBody
from airpipe.schemas.workspaces import (
    SlugRequestBody,
    WorkspaceCreate,
    WorkspaceIdRequestBody,
    WorkspaceRead,
    WorkspaceReadList,
    WorkspaceUpdate,
)
from airpipe.services import authorship
from airpipe.services.converters import workspace_read
from airpipe.services.paging import paged

DEFAULT_WORKSPACE_ID = uuid.UUID("5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6")


def ensure_default_workspace() -> None:
    """Airbyte's own default workspace exists from the first start."""
    with transaction():
        if Workspace.get_or_none(Workspace.id == DEFAULT_WORKSPACE_ID) is None:
            Workspace.create(id=DEFAULT_WORKSPACE_ID, name="default", slug="default")


def get_workspace_model(workspace_id: uuid.UUID) -> Workspace:
    workspace = by_id(Workspace, workspace_id)
    if workspace is None or workspace.tombstone:
        raise NotFound("workspace", workspace_id)
    return workspace


def create_workspace(request: WorkspaceCreate) -> WorkspaceRead:
    with transaction():
        slug = _unique_slug(request.name)
        workspace = Workspace.create(
            name=request.name,
            slug=slug,
            email=request.email,
            anonymous_data_collection=bool(request.anonymous_data_collection),
            news=bool(request.news),
            security_updates=bool(request.security_updates),
            tags=request.tags,
            created_by=authorship.by(),
            updated_by=authorship.by(),
        )
    return workspace_read(workspace)


def list_workspaces(request: ListRequestBody | None = None) -> WorkspaceReadList:
    query = Workspace.select().where(Workspace.tombstone == False)  # noqa: E712
    order = (Workspace.created_at, Workspace.name)
    query = paged(query, request, name=Workspace.name, created_at=Workspace.created_at, default_order=order, tags=Workspace.tags)
    return WorkspaceReadList(workspaces=[workspace_read(w) for w in query])


def get_workspace(request: WorkspaceIdRequestBody) -> WorkspaceRead:
    return workspace_read(get_workspace_model(request.workspace_id))


def get_workspace_by_slug(request: SlugRequestBody) -> WorkspaceRead:
    workspace = Workspace.get_or_none(Workspace.slug == request.slug, Workspace.tombstone == False)  # noqa: E712
    if workspace is None:
        raise NotFound("workspace", request.slug)
    return workspace_read(workspace)


def update_workspace(request: WorkspaceUpdate) -> WorkspaceRead:
    with transaction():
        workspace = get_workspace_model(request.workspace_id)
        if request.email is not None:
            workspace.email = request.email
        workspace.initial_setup_complete = request.initial_setup_complete
        workspace.onboarding_complete = request.onboarding_complete
        workspace.anonymous_data_collection = request.anonymous_data_collection
        workspace.news = request.news
        if request.security_updates is not None:
            workspace.security_updates = request.security_updates
        if request.name is not None:
            workspace.name = request.name
        if request.tags is not None:
            workspace.tags = request.tags
        authorship.touch(workspace)
        workspace.save()
    return workspace_read(workspace)


def delete_workspace(request: WorkspaceIdRequestBody) -> None:
    if request.workspace_id == DEFAULT_WORKSPACE_ID:
        raise Conflict("the default workspace cannot be deleted")
    with transaction():
        workspace = get_workspace_model(request.workspace_id)
        workspace.tombstone = True
        workspace.slug = f"{workspace.slug}-deleted-{workspace.id}"  # frees the slug for reuse
        authorship.touch(workspace)
        workspace.save()


def _unique_slug(name: str) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "workspace"
    slug, n = base, 1
    while Workspace.select().where(Workspace.slug == slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug
