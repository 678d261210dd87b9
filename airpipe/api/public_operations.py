"""THE table of Airbyte's public API (``/api/public/v1``, REST), beside the Configuration API's:
each row is a method and a path, what it decodes (path parameters, a query string, a JSON body)
and the one service function in ``airpipe.services.public`` it calls."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airpipe.schemas import public as p
from airpipe.schemas.base import Int64
from airpipe.schemas.misc import HealthCheckRead
from airpipe.services import applications, health
from airpipe.services.public import actors, connections, jobs, workspaces

PREFIX = "/api/public/v1"

#: each path parameter's type (a malformed one is a 422 naming it)
PATH_PARAMETERS: dict[str, Any] = {
    "jobId": Int64,
    "workspaceId": uuid.UUID,
    "sourceId": uuid.UUID,
    "destinationId": uuid.UUID,
    "connectionId": uuid.UUID,
    "applicationId": uuid.UUID,
}


@dataclass(frozen=True)
class PublicOperation:
    method: str
    path: str  # under PREFIX, with {pathParameters}
    service: Callable[..., Any]  # called with the path parameters in order, then the query or the body
    response: Any  # a Struct type, list[...] of one, or None: 204 No Content
    operation_id: str  # the airbyte-api SDK's / Airbyte's public spec's name
    summary: str
    body: type | None = None
    query: type | None = None
    secured: bool = True  # False: answered without credentials (health, the token exchange)
    form: bool = False  # True: the body may also come as a form (application/x-www-form-urlencoded)
    database: bool = True  # False: the service opens its own connection (health reports a database that is down)

    @property
    def path_parameters(self) -> list[str]:
        return [part[1:-1] for part in self.path.split("/") if part.startswith("{")]

    @property
    def tag(self) -> str:
        return self.path.split("/")[1]

    @property
    def scope(self) -> str:
        """What an API key needs to call it: applications are admin; reads read; the rest write."""
        if self.tag == "applications":
            return "admin"
        return "read" if self.method == "GET" else "write"


op = PublicOperation

# fmt: off
PUBLIC_OPERATIONS: list[PublicOperation] = [
    op("GET", "/health", health.health, HealthCheckRead, "getHealthCheck", "Health check", secured=False, database=False),
    # APPLICATIONS: a client id and secret a program trades for bearer tokens
    op("POST", "/applications/token", applications.issue_token, p.AccessTokenResponse, "createAccessToken", "Get an access token (OAuth 2 client credentials, as JSON or a form)", body=p.AccessTokenRequest, secured=False, form=True),
    op("POST", "/applications", applications.create_application, p.ApplicationRead, "createApplication", "Create an application (its secret is shown once)", body=p.ApplicationCreate),
    op("GET", "/applications", applications.list_applications, p.ApplicationReadList, "listApplications", "List applications"),
    op("GET", "/applications/{applicationId}", applications.get_application, p.ApplicationRead, "getApplication", "Get an application"),
    op("DELETE", "/applications/{applicationId}", applications.delete_application, None, "deleteApplication", "Delete an application and revoke its tokens"),
    # JOBS
    op("POST", "/jobs", jobs.create_job, p.JobResponse, "createJob", "Trigger a sync or reset job of a connection", body=p.JobCreateRequest),
    op("GET", "/jobs", jobs.list_jobs, p.JobsResponse, "listJobs", "List jobs", query=p.JobListQuery),
    op("GET", "/jobs/{jobId}", jobs.get_job, p.JobResponse, "getJob", "Get job status and details"),
    op("DELETE", "/jobs/{jobId}", jobs.cancel_job, p.JobResponse, "cancelJob", "Cancel a running job"),
    # WORKSPACES
    op("GET", "/workspaces", workspaces.list_workspaces, p.WorkspacesResponse, "listWorkspaces", "List workspaces", query=p.ListQuery),
    op("POST", "/workspaces", workspaces.create_workspace, p.WorkspaceResponse, "createWorkspace", "Create a workspace", body=p.WorkspaceCreateRequest),
    op("GET", "/workspaces/{workspaceId}", workspaces.get_workspace, p.WorkspaceResponse, "getWorkspace", "Get workspace details"),
    op("PATCH", "/workspaces/{workspaceId}", workspaces.update_workspace, p.WorkspaceResponse, "updateWorkspace", "Update a workspace", body=p.WorkspaceUpdateRequest),
    op("DELETE", "/workspaces/{workspaceId}", workspaces.delete_workspace, None, "deleteWorkspace", "Delete a workspace"),
    # SOURCES
    op("GET", "/sources", actors.list_sources, p.SourcesResponse, "listSources", "List sources", query=p.ListQuery),
    op("POST", "/sources", actors.create_source, p.SourceResponse, "createSource", "Create a source", body=p.SourceCreateRequest),
    op("GET", "/sources/{sourceId}", actors.get_source, p.SourceResponse, "getSource", "Get source details"),
    op("PATCH", "/sources/{sourceId}", actors.patch_source, p.SourceResponse, "patchSource", "Update a source (the configuration keys sent are merged)", body=p.SourcePatchRequest),
    op("PUT", "/sources/{sourceId}", actors.patch_source, p.SourceResponse, "putSource", "Replace a source's name and configuration", body=p.SourcePutRequest),
    op("DELETE", "/sources/{sourceId}", actors.delete_source, None, "deleteSource", "Delete a source"),
    # DESTINATIONS
    op("GET", "/destinations", actors.list_destinations, p.DestinationsResponse, "listDestinations", "List destinations", query=p.ListQuery),
    op("POST", "/destinations", actors.create_destination, p.DestinationResponse, "createDestination", "Create a destination", body=p.DestinationCreateRequest),
    op("GET", "/destinations/{destinationId}", actors.get_destination, p.DestinationResponse, "getDestination", "Get destination details"),
    op("PATCH", "/destinations/{destinationId}", actors.patch_destination, p.DestinationResponse, "patchDestination", "Update a destination (the configuration keys sent are merged)", body=p.DestinationPatchRequest),
    op("PUT", "/destinations/{destinationId}", actors.patch_destination, p.DestinationResponse, "putDestination", "Replace a destination's name and configuration", body=p.DestinationPutRequest),
    op("DELETE", "/destinations/{destinationId}", actors.delete_destination, None, "deleteDestination", "Delete a destination"),
    # CONNECTIONS AND STREAMS
    op("GET", "/connections", connections.list_connections, p.ConnectionsResponse, "listConnections", "List connections", query=p.ConnectionListQuery),
    op("POST", "/connections", connections.create_connection, p.ConnectionResponse, "createConnection", "Create a connection", body=p.ConnectionCreateRequest),
    op("GET", "/connections/{connectionId}", connections.get_connection, p.ConnectionResponse, "getConnection", "Get connection details"),
    op("PATCH", "/connections/{connectionId}", connections.patch_connection, p.ConnectionResponse, "patchConnection", "Update a connection", body=p.ConnectionPatchRequest),
    op("DELETE", "/connections/{connectionId}", connections.delete_connection, None, "deleteConnection", "Delete a connection"),
    op("GET", "/streams", connections.stream_properties, list[p.StreamProperties], "getStreamProperties", "A source's streams and the sync modes each can take", query=p.StreamPropertiesQuery),
]
# fmt: on

#: Reads answered on the event loop, as the Configuration API's (api/operations.INLINE): a job's
#: status and attempts, by key, which the SDK and Airflow poll while a sync runs
INLINE = frozenset({"getJob"})

#: the token exchange is also answered where clients' default token URLs land once joined to a
#: server URL of ``http://host/api/public/v1`` (``urljoin``): the airbyte-api SDK's default
#: ``/applications/token`` lands at the root, a relative ``applications/token`` beside ``v1``, and
#: apache-airflow-providers-airbyte's ``v1/applications/token`` one ``/v1`` deeper when the server
#: URL ends in a slash
TOKEN_ALIASES = ["/applications/token", "/api/public/applications/token", f"{PREFIX}/v1/applications/token"]
