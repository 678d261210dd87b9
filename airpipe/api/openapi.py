"""The OpenAPI document, generated from the operation table and the Structs so it cannot drift.

Every row of ``OPERATIONS`` becomes ``POST /v1/<resource>/<verb>``, every ``GETS`` row a GET, and
every request, response and error Struct a component schema (``msgspec.json.schema_components``:
JSON Schema 2020-12, which OpenAPI 3.1 takes as is). The layout follows Airbyte's own spec
(``airbyte-api/src/main/openapi/config.yaml``): one server ending in ``/api``, Airbyte's
operationIds, tags by resource, HTTP Basic security. ``specs/openapi.json`` is ``spec_bytes()``
committed; ``tests/api/test_openapi.py`` fails when the two differ.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import msgspec

from airpipe import __version__
from airpipe.api.operations import GETS, OPERATIONS, Operation
from airpipe.schemas.base import InternalErrorInfo, InvalidInputExceptionInfo, KnownExceptionInfo

REF = "#/components/schemas/{name}"

#: how both APIs' callers authenticate (api/auth.py)
SECURITY_SCHEMES = {
    "basicAuth": {"type": "http", "scheme": "basic"},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "an API key, or an application's token"},
}
JSON = "application/json"

# OPERATION IDS

#: Airbyte's operationIds where they differ from the rule below, so that a client generated from
#: either spec has the same method names
AIRBYTE_OPERATION_IDS = {
    "sources.check_connection": "checkConnectionToSource",
    "sources.check_connection_for_update": "checkConnectionToSourceForUpdate",
    "sources.discover_schema": "discoverSchemaForSource",
    "destinations.check_connection": "checkConnectionToDestination",
    "destinations.check_connection_for_update": "checkConnectionToDestinationForUpdate",
    "jobs.list": "listJobsFor",
    "jobs.get": "getJobInfo",
    # airpipe's own verbs whose names the rule would garble
    "jobs.history": "getJobHistory",
    "jobs.list_for_workspace": "listJobsForWorkspace",
    "jobs/logs.list": "listJobLogs",
    "workspaces.topology": "getWorkspaceTopology",
    "notifications.rotate_secret": "rotateNotificationSecret",
    "notifications/deliveries.list": "listNotificationDeliveries",
    "alerts/rules.create": "createAlertRule",
    "alerts/rules.list": "listAlertRules",
    "alerts/rules.delete": "deleteAlertRule",
    "alerts.list": "listAlerts",
    "alerts/events.list": "listAlertEvents",
    "sources.read_sample": "readSourceSample",
    "connections.bulk_update": "bulkUpdateConnections",
    **{
        f"{kind}s/history.{verb}": f"{name}{kind.capitalize()}{suffix}"
        for kind in ("source", "destination", "connection")
        for verb, name, suffix in (("list", "list", "History"), ("get", "get", "HistoryEntry"), ("revert", "revert", ""))
    },
    **{f"{kind}s/trash.list": f"list{kind.capitalize()}Trash" for kind in ("source", "destination", "connection")},
    "scheduler/sources.read_sample": "executeSourceReadSample",
    "connections/streams.list": "listConnectionStreams",
    "connections/streams.update": "updateConnectionStreams",
    "connections/streams.incremental_fields": "listStreamIncrementalFields",
    "connections/streams.sync": "syncConnectionStreams",
    "connections/streams.resync": "resyncConnectionStreams",
    "connections/streams.reset": "resetConnectionStreams",
    "data_sinks.list": "listDataSinksForWorkspace",
    "data_sinks/entries.create": "createDataSinkEntry",
    "data_sinks/entries.get": "getDataSinkEntry",
    "data_sinks/entries.update": "updateDataSinkEntry",
    "data_sinks/entries.delete": "deleteDataSinkEntry",
    "data_sinks/entries.upsert": "upsertDataSinkEntries",
}

#: what a list verb is scoped to, named after its request body
_LIST_SCOPES = {
    "WorkspaceIdRequestBody": "ForWorkspace",
    "WorkspaceListRequestBody": "ForWorkspace",
    "ConnectionIdRequestBody": "ForConnection",
}

#: GET endpoints: operationId, tag, summary, whether they need credentials
_GET_OPERATIONS = {
    "/v1/health": ("getHealthCheck", "health", "Health check", False),
    "/v1/debug": ("getDebuggingInfo", "debugging", "Get miscellaneous information for debugging", True),
    "/v1/openapi": ("getOpenApiSpec", "openapi", "Returns the OpenAPI specification", True),
}


def _pascal(snake: str) -> str:
    return "".join(word[:1].upper() + word[1:] for word in snake.split("_"))


def _camel(snake: str) -> str:
    pascal = _pascal(snake)
    return pascal[:1].lower() + pascal[1:]


def operation_id(operation: Operation) -> str:
    """Airbyte's camelCase names: verb, then the resource, then the rest of the verb.

    ``sources.create`` -> createSource, ``workspaces.get_by_slug`` -> getWorkspaceBySlug,
    ``sources.list`` -> listSourcesForWorkspace (lists keep the plural and name their scope),
    ``web_backend/sources.create`` -> webBackendCreateSource, and the scheduler's verbs run an
    unsaved config: ``scheduler/sources.check_connection`` -> executeSourceCheckConnection.
    """
    if operation.name in AIRBYTE_OPERATION_IDS:
        return AIRBYTE_OPERATION_IDS[operation.name]
    prefix, _, resource = operation.resource.rpartition("/")
    first, *rest = operation.verb.split("_")
    noun = _pascal(resource)
    if first != "list" and noun.endswith("s"):
        noun = noun[:-1]
    if prefix == "scheduler":
        return "execute" + noun + _pascal(operation.verb)
    name = first + noun + _pascal("_".join(rest))
    if first == "list" and operation.request is not None:
        name += _LIST_SCOPES.get(operation.request.__name__, "")
    return _camel(prefix) + _pascal(name) if prefix else name


def tag(operation: Operation) -> str:
    """Tags by resource; the prefixed families (``scheduler``, ``web_backend``) share one."""
    return operation.resource.split("/")[0]


# EXAMPLES

#: the uuid openapi-generator puts in examples (and so Airbyte's own docs)
EXAMPLE_UUID = "046b6c7f-0b8a-43b9-b35d-6489e6daee91"
_MAX_DEPTH = 16  # containers deep; a $ref cycle ends the walk before that
_OMIT = object()


def example(
    schema: dict[str, Any], components: dict[str, Any], name: str | None = None, depth: int = 0, refs: frozenset[str] = frozenset()
) -> Any:
    """A value for ``schema``, synthesised as openapi-generator does: strings are their field's
    name, uuids one fixed uuid, numbers 0, booleans true, enums their first value, arrays one
    element; ``$ref`` is followed (a cycle or ``_MAX_DEPTH`` ends the walk) and a nullable
    ``anyOf`` takes its non-null branch."""
    if depth > _MAX_DEPTH:
        return _OMIT
    if "$ref" in schema:
        target = schema["$ref"].rsplit("/", 1)[-1]
        if target in refs:
            return _OMIT
        return example(components[target], components, name, depth, refs | {target})
    if "example" in schema:
        return schema["example"]
    if schema.get("examples"):
        return schema["examples"][0]
    if schema.get("default") is not None:
        return schema["default"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        branches = [branch for branch in schema.get(key, ()) if branch.get("type") != "null"]
        if branches:
            return example(branches[0], components, name, depth, refs)
    kind = schema.get("type")
    if kind == "string":
        return EXAMPLE_UUID if schema.get("format") == "uuid" else (name or "string")
    if kind in ("integer", "number"):
        if "minimum" in schema:
            return schema["minimum"]
        return schema["exclusiveMinimum"] + 1 if "exclusiveMinimum" in schema else 0
    if kind == "boolean":
        return True
    if kind == "array":
        item = example(schema.get("items", {}), components, name, depth + 1, refs)
        return [] if item is _OMIT else [item]
    values = {}  # an object, or any value at all (msgspec's schema for ``Any`` is ``{}``)
    for field, subschema in schema.get("properties", {}).items():
        value = example(subschema, components, field, depth + 1, refs)
        if value is not _OMIT:
            values[field] = value
    return values


# THE DOCUMENT


def schema_components(types: list[type]) -> tuple[dict[type, dict[str, Any]], dict[str, Any]]:
    refs, schemas = msgspec.json.schema_components(types, ref_template=REF)
    for schema in schemas.values():
        if not schema.get("required", True):
            del schema["required"]  # an empty list says nothing, and OpenAPI 3.0 tools reject it
        if "enum" in schema and "type" not in schema and all(isinstance(value, str) for value in schema["enum"]):
            schema["type"] = "string"  # generators build a str enum only when told the type
    return dict(zip(types, refs, strict=True)), dict(sorted(schemas.items()))


def json_content(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    return {JSON: {"schema": schema, "example": example(schema, components)}}


def _error(description: str, info: type, components: dict[str, Any], headers: dict[str, Any] | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": json_content({"$ref": REF.format(name=info.__name__)}, components)}
    if headers:
        response["headers"] = headers
    return response


def error_responses(components: dict[str, Any]) -> dict[str, Any]:
    www_authenticate = {"WWW-Authenticate": {"description": "Basic", "schema": {"type": "string"}}}
    retry_after = {"Retry-After": {"description": "seconds to wait before retrying", "schema": {"type": "integer"}}}
    return {
        "Unauthorized": _error("Missing or wrong credentials.", KnownExceptionInfo, components, www_authenticate),
        "Forbidden": _error("The API key's scopes do not cover this operation (x-airpipe-scope).", KnownExceptionInfo, components),
        "NotFound": _error("Object with given id was not found.", KnownExceptionInfo, components),
        "Conflict": _error("The object's state does not allow this operation.", KnownExceptionInfo, components),
        "InvalidInput": _error("Input failed validation.", InvalidInputExceptionInfo, components),
        "InternalError": _error("Unexpected error; the server log has the details.", InternalErrorInfo, components),
        "JobTimeout": _error("The job did not finish in time; follow it with jobs/get.", KnownExceptionInfo, components),
        "PayloadTooLarge": _error("The body is over AIRPIPE_MAX_BODY_BYTES; the connection closes.", KnownExceptionInfo, components),
        "Unavailable": _error("The database or the queue is unreachable; retry later.", KnownExceptionInfo, components, retry_after),
    }


def _waits_for_job(operation: Operation) -> bool:
    """Check, discover and spec jobs run on a worker while the API waits, bounded (504 after)."""
    resource = operation.resource.rsplit("/", 1)[-1]
    return (
        operation.resource.startswith("scheduler/")
        or operation.verb.startswith(("check_connection", "discover_schema", "read_sample"))
        or resource.endswith("_specifications")
        or (resource in ("sources", "destinations") and operation.verb in ("create", "update", "recreate"))
    )


def _post(operation: Operation, refs: dict[type, dict[str, Any]], components: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"tags": [tag(operation)], "summary": operation.summary, "operationId": operation_id(operation)}
    spec["x-airpipe-scope"] = operation.scope
    if operation.request is not None:
        # a body whose every field is optional may be left out (`workspaces/list` is sent bare)
        required = any(f.required for f in msgspec.structs.fields(operation.request))
        spec["requestBody"] = {"required": required, "content": json_content(refs[operation.request], components)}
    if operation.response is None:
        responses: dict[str, Any] = {"204": {"description": "The resource was deleted successfully."}}
    else:
        responses = {"200": {"description": "Successful operation", "content": json_content(refs[operation.response], components)}}
    errors = [("401", "Unauthorized"), ("403", "Forbidden"), ("404", "NotFound"), ("409", "Conflict"), ("422", "InvalidInput")]
    errors.append(("500", "InternalError"))
    if operation.request is not None:
        errors.append(("413", "PayloadTooLarge"))
    errors.append(("503", "Unavailable"))
    if _waits_for_job(operation):
        errors.append(("504", "JobTimeout"))
    responses.update({status: {"$ref": f"#/components/responses/{name}"} for status, name in errors})
    spec["responses"] = responses
    return spec


def _get(path: str, response: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    last = path.rsplit("/", 1)[-1]
    operation_id_, tag_, summary, secured = _GET_OPERATIONS.get(path, ("get" + _pascal(last), last, "", True))
    spec: dict[str, Any] = {"tags": [tag_], "summary": summary, "operationId": operation_id_}
    if not secured:
        spec["security"] = []
    spec["responses"] = {"200": {"description": "Successful operation", "content": json_content(response, components)}}
    if path == "/v1/health":
        down = "Something the service depends on is down; `message` says what."
        spec["responses"]["503"] = {"description": down, "content": json_content(response, components)}
    if secured:
        spec["responses"]["401"] = {"$ref": "#/components/responses/Unauthorized"}
        spec["responses"]["403"] = {"$ref": "#/components/responses/Forbidden"}
    spec["responses"]["500"] = {"$ref": "#/components/responses/InternalError"}
    return spec


def _metrics_operation() -> dict[str, Any]:
    example = (
        "# HELP airpipe_jobs Jobs kept, by type and status\n"
        "# TYPE airpipe_jobs gauge\n"
        'airpipe_jobs{type="sync",status="succeeded"} 42.0\n'
    )
    text = {"text/plain": {"schema": {"type": "string", "description": "Prometheus text exposition format 0.0.4"}, "example": example}}
    return {
        "tags": ["metrics"],
        "summary": "Jobs, records, sync durations, queue depth, workers and request latency, for Prometheus (also at /metrics)",
        "operationId": "getMetrics",
        "responses": {
            "200": {"description": "Successful operation", "content": text},
            "401": {"$ref": "#/components/responses/Unauthorized"},
            "403": {"$ref": "#/components/responses/Forbidden"},
            "500": {"$ref": "#/components/responses/InternalError"},
        },
    }


def build_spec() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every operation in ``OPERATIONS`` and ``GETS``."""
    errors = [KnownExceptionInfo, InvalidInputExceptionInfo, InternalErrorInfo]
    used = [t for o in OPERATIONS for t in (o.request, o.response) if t is not None] + [t for _, _, t in GETS] + errors
    refs, schemas = schema_components(list(dict.fromkeys(used)))
    paths: dict[str, Any] = {}
    for operation in OPERATIONS:
        paths[operation.path] = {"post": _post(operation, refs, schemas)}
    for path, _, response in GETS:
        paths[path] = {"get": _get(path, refs[response], schemas)}
    paths["/v1/openapi"] = {"get": _get("/v1/openapi", {"type": "object", "description": "this document"}, schemas)}
    paths["/v1/metrics"] = {"get": _metrics_operation()}
    tags = dict.fromkeys(tag(o) for o in OPERATIONS) | dict.fromkeys(t for _, t, _, _ in _GET_OPERATIONS.values()) | {"metrics": None}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "airpipe Configuration API",
            "version": __version__,
            "description": (
                "airpipe serves Airbyte's Configuration API: every operation is an RPC-style "
                "`POST /api/v1/<resource>/<verb>` with a JSON body, answered with JSON.\n\n"
                "Errors have one shape: 404, 409, 413, 503 and 504 answer KnownExceptionInfo, 422 answers "
                "InvalidInputExceptionInfo naming each failing property, 500 answers InternalErrorInfo."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": "http://localhost:8000/api"}],
        "security": [{"basicAuth": []}, {"apiKey": []}, {"bearerAuth": []}],
        "tags": [{"name": name} for name in tags],
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": schemas,
            "responses": error_responses(schemas),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


@functools.cache
def spec_bytes() -> bytes:
    """The document as served by ``GET /api/v1/openapi`` and committed as ``specs/openapi.json``."""
    return (json.dumps(build_spec(), indent=2, ensure_ascii=False) + "\n").encode()
