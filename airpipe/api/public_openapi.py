"""The OpenAPI document of the public API, generated from ``PUBLIC_OPERATIONS`` and its Structs
like the Configuration API's (``api/openapi.py``), whose schema and error helpers it shares.
``specs/public-openapi.json`` is ``public_spec_bytes()`` committed; a test compares the two."""

from __future__ import annotations

import functools
import json
from typing import Any

import msgspec

from airpipe import __version__
from airpipe.api.openapi import SECURITY_SCHEMES, error_responses, json_content, schema_components
from airpipe.api.public_operations import PATH_PARAMETERS, PREFIX, PUBLIC_OPERATIONS, PublicOperation
from airpipe.schemas.base import InternalErrorInfo, InvalidInputExceptionInfo, KnownExceptionInfo

_ERRORS = [KnownExceptionInfo, InvalidInputExceptionInfo, InternalErrorInfo]


def _parameters(operation: PublicOperation, components: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    for name in operation.path_parameters:
        schema = msgspec.json.schema(PATH_PARAMETERS[name])
        found.append({"name": name, "in": "path", "required": True, "schema": schema})
    if operation.query is not None:
        query = components[operation.query.__name__]  # its parameters, not a body: kept as a component for its enums' sake
        required = set(query.get("required", ()))
        for name, schema in query["properties"].items():
            parameter = {"name": name, "in": "query", "required": name in required, "schema": schema}
            if schema.get("type") == "array":
                parameter.update(style="form", explode=True)
            found.append(parameter)
    return found


def _operation(operation: PublicOperation, refs: dict[Any, dict[str, Any]], components: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {"tags": [operation.tag], "summary": operation.summary, "operationId": operation.operation_id}
    if not operation.secured:
        spec["security"] = []
    else:
        spec["x-airpipe-scope"] = operation.scope
    parameters = _parameters(operation, components)
    if parameters:
        spec["parameters"] = parameters
    if operation.body is not None:
        body = json_content(refs[operation.body], components)
        if operation.form:
            body["application/x-www-form-urlencoded"] = {"schema": refs[operation.body]}
        spec["requestBody"] = {"required": True, "content": body}
    if operation.response is None:
        responses: dict[str, Any] = {"204": {"description": "The resource was deleted successfully."}}
    else:
        responses = {"200": {"description": "Successful operation", "content": json_content(refs[operation.response], components)}}
    errors = [("404", "NotFound"), ("409", "Conflict"), ("422", "InvalidInput"), ("500", "InternalError"), ("503", "Unavailable")]
    if operation.secured:
        errors[:0] = [("401", "Unauthorized"), ("403", "Forbidden")]
    elif operation.body is not None:  # the token exchange answers 401 to wrong credentials
        errors.insert(0, ("401", "Unauthorized"))
    responses.update({status: {"$ref": f"#/components/responses/{name}"} for status, name in errors})
    spec["responses"] = responses
    return spec


def build_public_spec() -> dict[str, Any]:
    used: list[Any] = [t for o in PUBLIC_OPERATIONS for t in (o.body, o.query, o.response) if t is not None] + _ERRORS
    refs, schemas = schema_components(list(dict.fromkeys(used)))
    paths: dict[str, Any] = {}
    for operation in PUBLIC_OPERATIONS:
        paths.setdefault(operation.path, {})[operation.method.lower()] = _operation(operation, refs, schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "airpipe public API (Airbyte's public API)",
            "version": __version__,
            "description": (
                "Airbyte's REST public API, served beside the Configuration API over the same services: "
                "what the airbyte-api SDK (1.x), apache-airflow-providers-airbyte >= 4 and dagster-airbyte's "
                "AirbyteWorkspace call. Authenticate with HTTP Basic, or trade an application's client id "
                "and secret for a bearer token at /applications/token."
            ),
            "license": {"name": "MIT", "identifier": "MIT"},
        },
        "servers": [{"url": f"http://localhost:8000{PREFIX}"}],
        "security": [{"bearerAuth": []}, {"apiKey": []}, {"basicAuth": []}],
        "tags": [{"name": name} for name in dict.fromkeys(o.tag for o in PUBLIC_OPERATIONS)],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "responses": error_responses(schemas),
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


@functools.cache
def public_spec_bytes() -> bytes:
    """The document served at ``GET /api/public/v1/openapi`` and committed as ``specs/public-openapi.json``."""
    return (json.dumps(build_public_spec(), indent=2, ensure_ascii=False) + "\n").encode()
