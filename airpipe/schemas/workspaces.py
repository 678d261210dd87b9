from __future__ import annotations

import uuid

from airpipe.schemas.base import Base, Name


class WorkspaceCreate(Base):
    name: Name
    email: Name | None = None
    anonymous_data_collection: bool | None = None
    news: bool | None = None
    security_updates: bool | None = None


class WorkspaceIdRequestBody(Base):
    workspace_id: uuid.UUID


class SlugRequestBody(Base):
    slug: str


class WorkspaceUpdate(Base, kw_only=True):
    workspace_id: uuid.UUID
    email: Name | None = None
    initial_setup_complete: bool
    onboarding_complete: bool
    anonymous_data_collection: bool
    news: bool
    security_updates: bool | None = None


class WorkspaceRead(Base, kw_only=True):
    workspace_id: uuid.UUID
    customer_id: uuid.UUID
    name: str
    slug: str
    initial_setup_complete: bool
    onboarding_complete: bool
    email: str | None = None
    anonymous_data_collection: bool | None = None
    news: bool | None = None
    security_updates: bool | None = None


class WorkspaceReadList(Base):
    workspaces: list[WorkspaceRead]
