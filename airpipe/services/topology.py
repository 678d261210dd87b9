"""What feeds what in a workspace: its sources, connections and destinations as a graph."""

from __future__ import annotations

from airpipe.models import Actor, Connection
from airpipe.schemas.workspaces import TopologyEdge, TopologyNode, TopologyNodeKind, WorkspaceIdRequestBody, WorkspaceTopologyRead
from airpipe.services.workspaces import get_workspace_model


def workspace_topology(request: WorkspaceIdRequestBody) -> WorkspaceTopologyRead:
    """Nodes for the live sources, destinations and connections; an edge from each connection's
    source to it, and from it to its destination. Two queries, whatever the workspace's size."""
    get_workspace_model(request.workspace_id)
    live = (Actor.workspace == request.workspace_id) & (Actor.tombstone == False)  # noqa: E712
    actors = Actor.select(Actor.id, Actor.name, Actor.actor_type).where(live)
    connections = (
        Connection.select(Connection.id, Connection.name, Connection.status, Connection.source, Connection.destination)
        .join(Actor, on=Connection.source)
        .where(Actor.workspace == request.workspace_id, Connection.status != "deprecated")
    )
    nodes = [TopologyNode(id=a.id, kind=TopologyNodeKind(a.actor_type), name=a.name) for a in actors]
    edges = []
    for connection in connections:
        nodes.append(TopologyNode(id=connection.id, kind=TopologyNodeKind.connection, name=connection.name, status=connection.status))
        edges += [TopologyEdge(connection.source_id, connection.id), TopologyEdge(connection.id, connection.destination_id)]
    return WorkspaceTopologyRead(nodes=nodes, edges=edges)
