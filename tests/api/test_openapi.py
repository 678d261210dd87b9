"""The OpenAPI document: committed, equal to the route table, valid, served, and good enough that a
client generated from it talks to a real server."""

from __future__ import annotations

import importlib
import importlib.util
import json
import keyword
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import msgspec
import pytest

from airpipe.api.openapi import build_spec, example, spec_bytes
from airpipe.api.operations import GETS, OPERATIONS
from airpipe.connectors import registry
from airpipe.schemas.base import InternalErrorInfo, InvalidInputExceptionInfo, KnownExceptionInfo
from airpipe.settings import Settings

SPEC_FILE = Path(__file__).parents[2] / "specs" / "openapi.json"
DEFAULT_WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
REF = "#/components/schemas/{}"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return build_spec()


def _media(operation: dict[str, Any], status: str | None = None) -> dict[str, Any]:
    holder = operation["requestBody"] if status is None else operation["responses"][status]
    return holder["content"]["application/json"]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


# THE DOCUMENT


def test_committed_spec_is_current() -> None:
    assert SPEC_FILE.read_bytes() == spec_bytes(), "specs/openapi.json is out of date: run `make spec`"


def test_spec_bytes_are_stable() -> None:
    assert spec_bytes().endswith(b"}\n")
    assert json.dumps(build_spec(), indent=2, ensure_ascii=False).encode() + b"\n" == spec_bytes()


def test_spec_is_valid_openapi(spec: dict[str, Any]) -> None:
    from openapi_spec_validator import validate  # a test dependency (setup.cfg)

    validate(spec)
    assert spec["openapi"].startswith("3.1")


def test_every_operation_has_a_path_and_nothing_else(spec: dict[str, Any]) -> None:
    expected = {(o.path, "post") for o in OPERATIONS} | {(path, "get") for path, _, _ in GETS}
    expected |= {("/v1/openapi", "get"), ("/v1/metrics", "get")}
    actual = {(path, method) for path, item in spec["paths"].items() for method in item}
    assert actual == expected


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda o: o.name)
def test_operation_request_and_response(spec: dict[str, Any], operation: Any) -> None:
    post = spec["paths"][operation.path]["post"]
    assert post["summary"] == operation.summary
    assert post["tags"] == [operation.resource.split("/")[0]]
    if operation.request is None:
        assert "requestBody" not in post
    else:
        # a body of optional fields only (a list's paging) may be left out, as v0.8 clients do
        optional = all(not f.required for f in msgspec.structs.fields(operation.request))
        assert post["requestBody"]["required"] is not optional
        assert _media(post)["schema"] == {"$ref": REF.format(operation.request.__name__)}
    if operation.response is None:
        assert "200" not in post["responses"]
        assert post["responses"]["204"] == {"description": "The resource was deleted successfully."}
    else:
        assert "204" not in post["responses"]
        assert _media(post, "200")["schema"] == {"$ref": REF.format(operation.response.__name__)}
    for status, name in [("404", "NotFound"), ("409", "Conflict"), ("422", "InvalidInput"), ("500", "InternalError")]:
        assert post["responses"][status] == {"$ref": f"#/components/responses/{name}"}


def test_gets(spec: dict[str, Any]) -> None:
    for path, _, response in GETS:
        assert _media(spec["paths"][path]["get"], "200")["schema"] == {"$ref": REF.format(response.__name__)}
    assert spec["paths"]["/v1/openapi"]["get"]["operationId"] == "getOpenApiSpec"


def test_every_schema_of_the_table_is_a_component(spec: dict[str, Any]) -> None:
    used = {t for o in OPERATIONS for t in (o.request, o.response) if t is not None} | {t for _, _, t in GETS}
    used |= {KnownExceptionInfo, InvalidInputExceptionInfo, InternalErrorInfo}
    schemas = spec["components"]["schemas"]
    assert {t.__name__ for t in used} <= set(schemas)
    assert schemas["SourceRead"]["properties"]["sourceId"] == {"type": "string", "format": "uuid"}
    assert schemas["ConnectionStatus"] == {"title": "ConnectionStatus", "type": "string", "enum": ["active", "deprecated", "inactive"]}


def test_every_ref_resolves(spec: dict[str, Any]) -> None:
    for ref in set(_refs(spec)):
        _, section, kind, name = ref.split("/")
        assert name in spec[section][kind], ref


def test_error_responses(spec: dict[str, Any]) -> None:
    responses = spec["components"]["responses"]
    assert responses["NotFound"]["content"]["application/json"]["schema"] == {"$ref": REF.format("KnownExceptionInfo")}
    assert responses["InvalidInput"]["content"]["application/json"]["schema"] == {"$ref": REF.format("InvalidInputExceptionInfo")}
    assert responses["InternalError"]["content"]["application/json"]["schema"] == {"$ref": REF.format("InternalErrorInfo")}
    assert "WWW-Authenticate" in responses["Unauthorized"]["headers"]


def test_operation_ids_are_airbytes_and_unique(spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    snake = [re.sub(r"(?<!^)(?=[A-Z])", "_", i).lower() for i in ids]  # the generator's module names
    assert len(snake) == len(set(snake))
    assert all(name.isidentifier() and not keyword.iskeyword(name) for name in ids + snake)
    by_path = {path: op["operationId"] for path, item in spec["paths"].items() for op in item.values()}
    assert by_path["/v1/sources/create"] == "createSource"
    assert by_path["/v1/sources/list"] == "listSourcesForWorkspace"
    assert by_path["/v1/sources/check_connection"] == "checkConnectionToSource"
    assert by_path["/v1/workspaces/get_by_slug"] == "getWorkspaceBySlug"
    assert by_path["/v1/web_backend/connections/list"] == "webBackendListConnectionsForWorkspace"
    assert by_path["/v1/scheduler/sources/discover_schema"] == "executeSourceDiscoverSchema"
    assert by_path["/v1/jobs/list"] == "listJobsFor"
    assert by_path["/v1/health"] == "getHealthCheck"


def test_security(spec: dict[str, Any]) -> None:
    schemes = spec["components"]["securitySchemes"]
    assert schemes["basicAuth"] == {"type": "http", "scheme": "basic"}
    assert schemes["apiKey"] == {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
    assert schemes["bearerAuth"]["scheme"] == "bearer"
    assert spec["security"] == [{"basicAuth": []}, {"apiKey": []}, {"bearerAuth": []}]
    assert spec["paths"]["/v1/health"]["get"]["security"] == []
    assert all("security" not in op for path, item in spec["paths"].items() if path != "/v1/health" for op in item.values())


def test_examples_are_everywhere_and_valid(spec: dict[str, Any]) -> None:
    media = []
    for item in spec["paths"].values():
        for op in item.values():
            if "requestBody" in op:
                media.append(_media(op))
            if "200" in op["responses"] and "text/plain" not in op["responses"]["200"]["content"]:
                media.append(_media(op, "200"))
    assert len(media) == len([o for o in OPERATIONS if o.request]) + len([o for o in OPERATIONS if o.response]) + len(GETS) + 1
    metrics = spec["paths"]["/v1/metrics"]["get"]["responses"]["200"]["content"]["text/plain"]
    assert metrics["example"].startswith("# HELP airpipe_jobs")
    for m in media:
        assert "example" in m
        jsonschema.Draft202012Validator({**m["schema"], "components": spec["components"]}).validate(m["example"])


def test_example_synthesis() -> None:
    components = {
        "Node": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "child": {"anyOf": [{"$ref": "#/components/schemas/Node"}, {"type": "null"}]}},
        },
        "Kind": {"type": "string", "enum": ["b", "a"]},
    }
    schema = {
        "type": "object",
        "properties": {
            "id": {"type": "string", "format": "uuid"},
            "count": {"type": "integer"},
            "on": {"type": "boolean"},
            "kind": {"$ref": "#/components/schemas/Kind"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "zone": {"type": "string", "default": "UTC"},
            "node": {"$ref": "#/components/schemas/Node"},
            "anything": {"default": None},
        },
    }
    assert example(schema, components) == {
        "id": "046b6c7f-0b8a-43b9-b35d-6489e6daee91",
        "count": 0,
        "on": True,
        "kind": "b",
        "tags": ["tags"],
        "zone": "UTC",
        "node": {"name": "name"},  # the cycle back to Node ends the walk
        "anything": {},
    }
    assert example({"type": "string"}, {}) == "string"


# SERVED


@pytest.mark.parametrize("path", ["/api/v1/openapi", "/v1/openapi", "/api/v1/openapi/"])
def test_served(client: Any, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    assert response.content == spec_bytes()


# A GENERATED CLIENT AGAINST A REAL SERVER

CLIENT_PACKAGE = "airpipe_generated_client"


@pytest.fixture(scope="module")
def generated_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    if importlib.util.find_spec("openapi_python_client") is None:
        pytest.skip("openapi-python-client is not installed (pip install openapi-python-client)")
    root = tmp_path_factory.mktemp("client")
    config = root / "config.json"
    config.write_text(json.dumps({"post_hooks": []}))  # no ruff run over the generated code
    result = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(SPEC_FILE), "--output-path", str(root / CLIENT_PACKAGE),
         "--meta", "none", "--config", str(config), "--fail-on-warning"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, f"openapi-python-client failed:\n{result.stdout}\n{result.stderr}"
    sys.path.insert(0, str(root))
    try:
        yield importlib.import_module(CLIENT_PACKAGE)
    finally:
        sys.path.remove(str(root))
        for name in [n for n in sys.modules if n == CLIENT_PACKAGE or n.startswith(CLIENT_PACKAGE + ".")]:
            del sys.modules[name]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server_url(settings: Settings, immediate_queue: None) -> Iterator[str]:
    """uvicorn serving the app on a free port, in a thread; jobs run inline (immediate queue)."""
    import uvicorn

    from airpipe import models
    from airpipe.api.app import create_app

    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(settings, run_consumer=False), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}/api"
    finally:
        server.should_exit = True
        thread.join(10)
        if not models.is_sqlite():
            models.db.obj.close_all()


def _api(package: ModuleType, tag: str, operation: str) -> ModuleType:
    return importlib.import_module(f"{package.__name__}.api.{tag}.{operation}")


def test_generated_client_creates_and_reads_a_source(generated_client: ModuleType, server_url: str) -> None:
    models_ = importlib.import_module(f"{CLIENT_PACKAGE}.models")
    with generated_client.Client(base_url=server_url, raise_on_unexpected_status=True, timeout=60) as client:
        health = _api(generated_client, "health", "get_health_check").sync(client=client)
        assert isinstance(health, models_.HealthCheckRead) and health.available and health.db

        definitions = _api(generated_client, "source_definitions", "list_source_definitions").sync(client=client)
        assert isinstance(definitions, models_.SourceDefinitionReadList), definitions
        faker = next(d for d in definitions.source_definitions if d.docker_repository == registry.FAKER.docker_repository)

        config = models_.SourceCreateConnectionConfiguration.from_dict({"count": 10, "seed": 1})
        body = models_.SourceCreate(
            workspace_id=DEFAULT_WORKSPACE_ID,
            source_definition_id=faker.source_definition_id,
            connection_configuration=config,
            name="faker",
        )
        created = _api(generated_client, "sources", "create_source").sync(client=client, body=body)
        assert isinstance(created, models_.SourceRead), created

        got = _api(generated_client, "sources", "get_source").sync(
            client=client, body=models_.SourceIdRequestBody(source_id=created.source_id)
        )
        assert isinstance(got, models_.SourceRead), got
        assert got.source_id == created.source_id
        assert str(got.workspace_id) == DEFAULT_WORKSPACE_ID
        assert got.source_definition_id == faker.source_definition_id
        assert got.name == "faker"
        assert got.source_name == faker.name
        assert got.connection_configuration.to_dict() == {"count": 10, "seed": 1}

        missing = _api(generated_client, "sources", "get_source").sync_detailed(
            client=client, body=models_.SourceIdRequestBody(source_id=DEFAULT_WORKSPACE_ID)
        )
        assert missing.status_code == 404
        assert isinstance(missing.parsed, models_.KnownExceptionInfo) and missing.parsed.id == DEFAULT_WORKSPACE_ID


def test_generated_client_reads_omitted_and_null_optionals(generated_client: ModuleType) -> None:
    """Our responses omit unset optional fields; Airbyte sent null. The generated models read both."""
    models_ = importlib.import_module(f"{CLIENT_PACKAGE}.models")
    types_ = importlib.import_module(f"{CLIENT_PACKAGE}.types")
    omitted = models_.CheckConnectionRead.from_dict({"status": "succeeded"})
    assert isinstance(omitted.message, types_.Unset)
    assert omitted.to_dict() == {"status": "succeeded"}
    null = models_.CheckConnectionRead.from_dict({"status": "failed", "message": None})
    assert null.message is None
    definition = models_.SourceDefinitionRead.from_dict(
        {"sourceDefinitionId": DEFAULT_WORKSPACE_ID, "name": "n", "dockerRepository": "r", "dockerImageTag": "t"}
    )
    assert isinstance(definition.documentation_url, types_.Unset)


def test_every_operation_names_its_scope_and_may_answer_403(spec: dict[str, Any]) -> None:
    operations = [op for item in spec["paths"].values() for op in item.values()]
    scopes = {op["operationId"]: op["x-airpipe-scope"] for op in operations if "x-airpipe-scope" in op}
    assert len(scopes) == len(OPERATIONS)
    assert (scopes["getSource"], scopes["createSource"], scopes["createApiKey"]) == ("read", "write", "admin")
    posts = [item["post"] for item in spec["paths"].values() if "post" in item]
    assert all(op["responses"]["403"] == {"$ref": "#/components/responses/Forbidden"} for op in posts)
