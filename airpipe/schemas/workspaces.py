from __future__ import annotations

import enum
import uuid

from airpipe.schemas.base import Base, Name, Tags


class WorkspaceCreate(Base):
    name: Name
    tags: Tags | None = None
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
    name: Name | None = None  # left out: the name stays
    tags: Tags | None = None  # left out: the tags stay


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
    #: when it was created and last changed, by whom (a user, a key, an application), and its tags
    created_at: int | None = None
    updated_at: int | None = None
    created_by: str | None = None
    updated_by: str | None = None
    tags: list[str] | None = None


class WorkspaceReadList(Base):
    workspaces: list[WorkspaceRead]


class TopologyNodeKind(enum.Enum):
    source = "source"
    destination = "destination"
    connection = "connection"


class TopologyNode(Base, kw_only=True):
    id: uuid.UUID
    kind: TopologyNodeKind
    name: str
    #: a connection's status (active, inactive); None for sources and destinations
    status: str | None = None


class TopologyEdge(Base):
    """Data flows from ``fromId`` to ``toId``: a source to a connection, a connection to a destination."""

    from_id: uuid.UUID
    to_id: uuid.UUID


class WorkspaceTopologyRead(Base):
    nodes: list[TopologyNode]
    edges: list[TopologyEdge]
