"""THE table of the API: every operation is ``POST /v1/<resource>/<verb>`` (also under ``/api``),
decoded into its request Struct and handed to one service function."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from airpipe.schemas import actors as a
from airpipe.schemas import alerts as al
from airpipe.schemas import api_keys as ak
from airpipe.schemas import connections as c
from airpipe.schemas import data_sinks as ds
from airpipe.schemas import definitions as d
from airpipe.schemas import history as hs
from airpipe.schemas import jobs as j
from airpipe.schemas import lists as li
from airpipe.schemas import misc as m
from airpipe.schemas import notifications as nt
from airpipe.schemas import state as st
from airpipe.schemas import stats as sx
from airpipe.schemas import streams as sm
from airpipe.schemas import workspaces as w
from airpipe.services import (
    actors,
    alerts,
    api_keys,
    connections,
    data_sinks,
    definitions,
    health,
    jobs,
    lifecycle,
    notifications,
    samples,
    schema_refresh,
    state,
    stats,
    streams,
    topology,
    web_backend,
    workspaces,
)


@dataclass(frozen=True)
class Operation:
    resource: str
    verb: str
    request: type | None  # None: the verb takes no input
    service: Callable[..., Any]
    response: type | None  # None: 204 No Content
    summary: str

    @property
    def path(self) -> str:
        return f"/v1/{self.resource}/{self.verb}"

    @property
    def name(self) -> str:
        return f"{self.resource}.{self.verb}"

    @property
    def scope(self) -> str:
        """What an API key needs to call it: read, write or admin (see ``SCOPES``)."""
        return SCOPES.get(self.name) or ("read" if self.verb in READ_VERBS else "write")


op = Operation

# One row per line, unformatted: the table reads as the API's table of contents.
# fmt: off
OPERATIONS: list[Operation] = [
    # WORKSPACE
    op("workspaces", "create", w.WorkspaceCreate, workspaces.create_workspace, w.WorkspaceRead, "Create a workspace"),
    op("workspaces", "delete", w.WorkspaceIdRequestBody, workspaces.delete_workspace, None, "Delete a workspace"),
    op("workspaces", "list", li.ListRequestBody, workspaces.list_workspaces, w.WorkspaceReadList, "List all workspaces"),
    op("workspaces", "get", w.WorkspaceIdRequestBody, workspaces.get_workspace, w.WorkspaceRead, "Find workspace by ID"),
    op("workspaces", "get_by_slug", w.SlugRequestBody, workspaces.get_workspace_by_slug, w.WorkspaceRead, "Find workspace by slug"),
    op("workspaces", "update", w.WorkspaceUpdate, workspaces.update_workspace, w.WorkspaceRead, "Update workspace state"),
    op("workspaces", "topology", w.WorkspaceIdRequestBody, topology.workspace_topology, w.WorkspaceTopologyRead, "What feeds what: sources, connections, destinations"),
    # SOURCE DEFINITION
    op("source_definitions", "create", d.SourceDefinitionCreate, definitions.create_source_definition, d.SourceDefinitionRead, "Creates a sourceDefinition"),
    op("source_definitions", "update", d.SourceDefinitionUpdate, definitions.update_source_definition, d.SourceDefinitionRead, "Update a sourceDefinition"),
    op("source_definitions", "list", li.ListRequestBody, definitions.list_source_definitions, d.SourceDefinitionReadList, "List all the sourceDefinitions"),
    op("source_definitions", "get", d.SourceDefinitionIdRequestBody, definitions.get_source_definition, d.SourceDefinitionRead, "Get a sourceDefinition"),
    op("source_definition_specifications", "get", d.SourceDefinitionIdRequestBody, definitions.get_source_definition_specification, d.SourceDefinitionSpecificationRead, "Get specification for a sourceDefinition"),
    # SOURCE
    op("sources", "create", a.SourceCreate, actors.create_source, a.SourceRead, "Create a source"),
    op("sources", "update", a.SourceUpdate, actors.update_source, a.SourceRead, "Update a source"),
    op("sources", "list", li.WorkspaceListRequestBody, actors.list_sources, a.SourceReadList, "List sources for workspace"),
    op("sources", "get", a.SourceIdRequestBody, actors.get_source, a.SourceRead, "Get source"),
    op("sources", "delete", a.SourceIdRequestBody, actors.delete_source, None, "Delete a source"),
    op("sources", "check_connection", a.SourceIdRequestBody, actors.check_source, a.CheckConnectionRead, "Check connection to the source"),
    op("sources", "check_connection_for_update", a.SourceUpdate, actors.check_source_for_update, a.CheckConnectionRead, "Check connection for a proposed update to a source"),
    op("sources", "discover_schema", a.SourceIdRequestBody, actors.discover_source_schema, a.SourceDiscoverSchemaRead, "Discover the schema of the source"),
    op("sources", "read_sample", a.SourceSampleRequest, samples.read_source_sample, a.SourceSampleRead, "A few records of one stream, read now and never kept"),
    # DESTINATION DEFINITION
    op("destination_definitions", "create", d.DestinationDefinitionCreate, definitions.create_destination_definition, d.DestinationDefinitionRead, "Creates a destinationsDefinition"),
    op("destination_definitions", "update", d.DestinationDefinitionUpdate, definitions.update_destination_definition, d.DestinationDefinitionRead, "Update destinationDefinition"),
    op("destination_definitions", "list", li.ListRequestBody, definitions.list_destination_definitions, d.DestinationDefinitionReadList, "List all the destinationDefinitions"),
    op("destination_definitions", "get", d.DestinationDefinitionIdRequestBody, definitions.get_destination_definition, d.DestinationDefinitionRead, "Get destinationDefinition"),
    op("destination_definition_specifications", "get", d.DestinationDefinitionIdRequestBody, definitions.get_destination_definition_specification, d.DestinationDefinitionSpecificationRead, "Get specification for a destinationDefinition"),
    # DESTINATION
    op("destinations", "create", a.DestinationCreate, actors.create_destination, a.DestinationRead, "Create a destination"),
    op("destinations", "update", a.DestinationUpdate, actors.update_destination, a.DestinationRead, "Update a destination"),
    op("destinations", "list", li.WorkspaceListRequestBody, actors.list_destinations, a.DestinationReadList, "List configured destinations for a workspace"),
    op("destinations", "get", a.DestinationIdRequestBody, actors.get_destination, a.DestinationRead, "Get configured destination"),
    op("destinations", "delete", a.DestinationIdRequestBody, actors.delete_destination, None, "Delete the destination"),
    op("destinations", "check_connection", a.DestinationIdRequestBody, actors.check_destination, a.CheckConnectionRead, "Check connection to the destination"),
    op("destinations", "check_connection_for_update", a.DestinationUpdate, actors.check_destination_for_update, a.CheckConnectionRead, "Check connection for a proposed update to a destination"),
    # CONNECTION
    op("connections", "create", c.ConnectionCreate, connections.create_connection, c.ConnectionRead, "Create a connection between a source and a destination"),
    op("connections", "update", c.ConnectionUpdate, connections.update_connection, c.ConnectionRead, "Update a connection"),
    op("connections", "list", li.WorkspaceListRequestBody, connections.list_connections, c.ConnectionReadList, "Returns all connections for a workspace"),
    op("connections", "get", c.ConnectionIdRequestBody, connections.get_connection, c.ConnectionRead, "Get a connection"),
    op("connections", "delete", c.ConnectionIdRequestBody, connections.delete_connection, None, "Delete a connection"),
    op("connections", "sync", c.ConnectionIdRequestBody, connections.sync_connection, j.JobInfoRead, "Trigger a manual sync of the connection"),
    op("connections", "reset", c.ConnectionIdRequestBody, connections.reset_connection, j.JobInfoRead, "Reset the data for the connection"),
    # STREAMS: one at a time, over the connection's catalog
    op("connections/streams", "list", c.ConnectionIdRequestBody, streams.list_streams, sm.StreamReadList, "A connection's streams: settings, last job, records, state"),
    op("connections/streams", "update", sm.StreamsUpdate, streams.update_streams, sm.StreamReadList, "Change the settings of one or many streams"),
    op("connections/streams", "incremental_fields", sm.IncrementalFieldsRequestBody, streams.incremental_fields, sm.IncrementalFieldsRead, "Fields a stream's cursor can be"),
    op("connections/streams", "sync", sm.StreamsRequestBody, streams.sync_streams, j.JobInfoRead, "Sync some streams; the others are left alone"),
    op("connections/streams", "resync", sm.StreamsRequestBody, streams.resync_streams, j.JobInfoRead, "Read some streams from the start and overwrite them"),
    op("connections/streams", "reset", sm.StreamsRequestBody, streams.reset_streams, j.JobInfoRead, "Empty some streams and forget their state"),
    op("connections", "refresh_schema", c.ConnectionIdRequestBody, schema_refresh.refresh_schema, sm.RefreshSchemaRead, "Discover the source again and merge its streams into the catalog"),
    # STATE AND OPERATIONS
    op("state", "get", c.ConnectionIdRequestBody, state.get_state, st.ConnectionState, "Fetch the current state for a connection"),
    op("operations", "list", c.ConnectionIdRequestBody, health.list_operations, m.OperationReadList, "List operations for connection"),
    # SCHEDULER (unsaved configs)
    op("scheduler/sources", "check_connection", a.SourceCoreConfig, actors.check_source_config, a.CheckConnectionRead, "Run check connection for a given source configuration"),
    op("scheduler/sources", "discover_schema", a.SourceCoreConfig, actors.discover_source_config_schema, a.SourceDiscoverSchemaRead, "Run discover schema for a given source configuration"),
    op("scheduler/sources", "read_sample", a.SourceCoreSampleRequest, samples.read_config_sample, a.SourceSampleRead, "A few records of one stream of an unsaved source configuration"),
    op("scheduler/destinations", "check_connection", a.DestinationCoreConfig, actors.check_destination_config, a.CheckConnectionRead, "Run check connection for a given destination configuration"),
    # JOBS
    op("jobs", "list", j.JobListRequestBody, jobs.list_jobs, j.JobReadList, "Returns recent jobs for a connection, newest first"),
    op("jobs", "get", j.JobIdRequestBody, jobs.get_job, j.JobInfoRead, "Get information about a job"),
    op("jobs", "cancel", j.JobIdRequestBody, jobs.cancel_job, j.JobInfoRead, "Cancels a job"),
    op("connections", "stats", sx.ConnectionStatsRequestBody, stats.connection_stats, sx.SyncStatsRead, "How a connection's syncs went over a window"),
    op("sources", "stats", sx.SourceStatsRequestBody, stats.source_stats, sx.SyncStatsRead, "How the syncs of a source's connections went over a window"),
    op("destinations", "stats", sx.DestinationStatsRequestBody, stats.destination_stats, sx.SyncStatsRead, "How the syncs into a destination went over a window"),
    op("notifications", "create", nt.NotificationCreate, notifications.create_notification, nt.NotificationRead, "Create a notification channel (a webhook's secret is shown once)"),
    op("notifications", "list", w.WorkspaceIdRequestBody, notifications.list_notifications, nt.NotificationReadList, "List a workspace's notification channels"),
    op("notifications", "get", nt.NotificationIdRequestBody, notifications.get_notification, nt.NotificationRead, "Get a notification channel"),
    op("notifications", "delete", nt.NotificationIdRequestBody, notifications.delete_notification, None, "Delete a notification channel"),
    op("notifications", "rotate_secret", nt.NotificationRotateSecret, notifications.rotate_secret, nt.NotificationRead, "A new webhook secret; the old one signs too for a grace period"),
    op("notifications/deliveries", "list", nt.DeliveryListRequestBody, notifications.list_deliveries, nt.DeliveryReadList, "What was delivered to a channel, and what failed"),
    op("alerts/rules", "create", al.AlertRuleCreate, alerts.create_rule, al.AlertRuleRead, "Create an alert rule"),
    op("alerts/rules", "list", w.WorkspaceIdRequestBody, alerts.list_rules, al.AlertRuleReadList, "List a workspace's alert rules"),
    op("alerts/rules", "delete", al.AlertRuleIdRequestBody, alerts.delete_rule, None, "Delete an alert rule (and its alerts)"),
    op("alerts", "list", al.AlertListRequestBody, alerts.list_alerts, al.AlertReadList, "A workspace's alerts, newest first"),
    op("alerts", "resolve", al.AlertIdRequestBody, alerts.resolve_alert, al.AlertRead, "Resolve a firing alert by hand"),
    op("alerts/events", "list", al.AlertEventListRequestBody, alerts.list_events, al.AlertEventReadList, "The timeline of alerts fired and resolved"),
    op("jobs", "history", j.JobIdRequestBody, jobs.job_history, j.JobHistoryRead, "Every status change of a job and its attempts"),
    op("jobs", "list_for_workspace", j.WorkspaceJobListRequestBody, jobs.list_workspace_jobs, j.JobReadList, "A workspace's jobs, filtered, newest first"),
    op("jobs/logs", "list", j.JobLogsRequestBody, jobs.list_job_logs, j.JobLogsRead, "A page of a job's log lines; follow a running job with afterId"),
    # DATA SINKS: key/value stores of a workspace
    op("data_sinks", "create", ds.DataSinkCreate, data_sinks.create_data_sink, ds.DataSinkRead, "Create a data sink (and optionally its first entries)"),
    op("data_sinks", "get", ds.DataSinkGetRequestBody, data_sinks.get_data_sink, ds.DataSinkRead, "Get a data sink, with its entries if asked"),
    op("data_sinks", "update", ds.DataSinkUpdate, data_sinks.update_data_sink, ds.DataSinkRead, "Change a data sink's label, description, tags or icon"),
    op("data_sinks", "delete", ds.DataSinkIdRequestBody, data_sinks.delete_data_sink, None, "Delete a data sink and its entries"),
    op("data_sinks", "list", ds.DataSinkListRequestBody, data_sinks.list_data_sinks, ds.DataSinkReadList, "List a workspace's data sinks, by tags, with their entries if asked"),
    op("data_sinks/entries", "create", ds.DataSinkEntryCreate, data_sinks.create_entry, ds.DataSinkEntryRead, "Create an entry under a new key"),
    op("data_sinks/entries", "get", ds.DataSinkEntryKeyRequestBody, data_sinks.get_entry, ds.DataSinkEntryRead, "Get an entry by key"),
    op("data_sinks/entries", "update", ds.DataSinkEntryUpdate, data_sinks.update_entry, ds.DataSinkEntryRead, "Change the value (and type) of an entry"),
    op("data_sinks/entries", "delete", ds.DataSinkEntryKeyRequestBody, data_sinks.delete_entry, None, "Delete an entry by key"),
    op("data_sinks/entries", "upsert", ds.DataSinkEntryUpsert, data_sinks.upsert_entries, ds.DataSinkEntryReadList, "Create or replace one entry or many, in one transaction"),
    # HISTORY, TRASH, CLONES, BULK CHANGES
    op("sources/history", "list", hs.SourceHistoryRequestBody, lifecycle.source_history, hs.HistoryReadList, "A source's changes, newest first"),
    op("sources/history", "get", hs.HistoryIdRequestBody, lifecycle.source_history_entry, hs.HistoryEntryRead, "One change of a source, with its snapshot (secrets masked)"),
    op("sources/history", "revert", hs.HistoryIdRequestBody, lifecycle.revert_source, a.SourceRead, "Put a source back as a change left it"),
    op("destinations/history", "list", hs.DestinationHistoryRequestBody, lifecycle.destination_history, hs.HistoryReadList, "A destination's changes, newest first"),
    op("destinations/history", "get", hs.HistoryIdRequestBody, lifecycle.destination_history_entry, hs.HistoryEntryRead, "One change of a destination, with its snapshot (secrets masked)"),
    op("destinations/history", "revert", hs.HistoryIdRequestBody, lifecycle.revert_destination, a.DestinationRead, "Put a destination back as a change left it"),
    op("connections/history", "list", hs.ConnectionHistoryRequestBody, lifecycle.connection_history, hs.HistoryReadList, "A connection's changes, newest first"),
    op("connections/history", "get", hs.HistoryIdRequestBody, lifecycle.connection_history_entry, hs.HistoryEntryRead, "One change of a connection, with its snapshot"),
    op("connections/history", "revert", hs.HistoryIdRequestBody, lifecycle.revert_connection, c.ConnectionRead, "Put a connection back as a change left it"),
    op("sources/trash", "list", hs.TrashRequestBody, lifecycle.source_trash, a.SourceReadList, "A workspace's deleted sources"),
    op("destinations/trash", "list", hs.TrashRequestBody, lifecycle.destination_trash, a.DestinationReadList, "A workspace's deleted destinations"),
    op("connections/trash", "list", hs.TrashRequestBody, lifecycle.connection_trash, c.ConnectionReadList, "A workspace's deleted connections"),
    op("sources", "restore", a.SourceIdRequestBody, lifecycle.restore_source, a.SourceRead, "Bring a deleted source back"),
    op("destinations", "restore", a.DestinationIdRequestBody, lifecycle.restore_destination, a.DestinationRead, "Bring a deleted destination back"),
    op("connections", "restore", c.ConnectionIdRequestBody, lifecycle.restore_connection, c.ConnectionRead, "Bring a deleted connection back, inactive"),
    op("sources", "clone", hs.SourceCloneRequestBody, lifecycle.clone_source, a.SourceRead, "Copy a source (its secrets stay on the server)"),
    op("destinations", "clone", hs.DestinationCloneRequestBody, lifecycle.clone_destination, a.DestinationRead, "Copy a destination (its secrets stay on the server)"),
    op("connections", "clone", hs.ConnectionCloneRequestBody, lifecycle.clone_connection, c.ConnectionRead, "Copy a connection, inactive and with no state"),
    op("connections", "bulk_update", hs.ConnectionBulkUpdate, lifecycle.bulk_update_connections, c.ConnectionReadList, "The same change to many connections, all or none"),
    # API KEYS
    op("api_keys", "create", ak.ApiKeyCreate, api_keys.create_api_key, ak.ApiKeyCreated, "Create an API key (the key is shown once)"),
    op("api_keys", "list", li.ListRequestBody, api_keys.list_api_keys, ak.ApiKeyReadList, "List API keys, masked"),
    op("api_keys", "delete", ak.ApiKeyIdRequestBody, api_keys.delete_api_key, None, "Revoke an API key"),
    # WEB BACKEND
    op("web_backend/connections", "list", li.WorkspaceListRequestBody, web_backend.list_connections, c.WbConnectionReadList, "Returns all connections for a workspace"),
    op("web_backend/connections", "get", c.WbConnectionRequestBody, web_backend.get_connection, c.WbConnectionRead, "Get a connection"),
    op("web_backend/sources", "create", a.SourceCreate, actors.create_source, a.SourceRead, "Create a source"),
    op("web_backend/sources", "recreate", a.SourceRecreate, actors.recreate_source, a.SourceRead, "Recreate a source"),
    op("web_backend/destinations", "create", a.DestinationCreate, actors.create_destination, a.DestinationRead, "Create a destination"),
    op("web_backend/destinations", "recreate", a.DestinationRecreate, actors.recreate_destination, a.DestinationRead, "Recreate a destination"),
]
# fmt: on

# SCOPES: what a key needs. Verbs that only look are read; the rest write; and these, which reach
# beyond one workspace's sources, destinations and connections, admin.
READ_VERBS = frozenset({"list", "get", "get_by_slug", "topology", "history", "list_for_workspace", "stats", "incremental_fields"})
SCOPES = {
    **{f"{resource}.{verb}": "admin" for resource in ("source_definitions", "destination_definitions") for verb in ("create", "update")},
    "workspaces.create": "admin",
    "workspaces.delete": "admin",
    "api_keys.create": "admin",
    "api_keys.list": "admin",
    "api_keys.delete": "admin",
}

#: Reads answered on the event loop instead of a worker thread, each by the function given here:
#: a few lookups by primary key (~0.05 ms) that never start or wait for a job. Skipping the hop
#: to a thread and back (and the GIL hand-offs it costs) answers them 1.6x (connections/get) to
#: 2.5x (jobs/get) as fast. A function may answer None when the answer is long to build (a job
#: with a long log): the operation's service then runs on a worker thread as usual. Nothing
#: that can be slow may run here: it would hold up every other request.
INLINE: dict[str, Callable[[Any], Any]] = {
    "connections.get": connections.get_connection_json,
    "workspaces.get": workspaces.get_workspace,
    "source_definitions.get": definitions.get_source_definition,
    "destination_definitions.get": definitions.get_destination_definition,
    "jobs.get": jobs.get_job_if_short,
}

#: GET endpoints: path, service, response
GETS: list[tuple[str, Callable[..., Any], type]] = [
    ("/v1/health", health.health, m.HealthCheckRead),
    ("/v1/debug", health.debug_info, m.DebugRead),
]
