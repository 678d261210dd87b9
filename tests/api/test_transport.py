"""Transport (CONTRACT.md): prefixes, trailing slashes, bodies whatever their Content-Type, one
JSON error shape for every bad request, and HTTP Basic auth."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from suitekit import basic, minimal_body

from airpipe import models
from airpipe.api import auth
from airpipe.api.operations import OPERATIONS
from airpipe.api.public_operations import PREFIX, PUBLIC_OPERATIONS
from airpipe.settings import Settings

WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
INT64_MAX = 2**63 - 1


# PREFIXES AND SLASHES


def test_every_operation_is_served_under_both_prefixes_with_or_without_a_slash(client: TestClient) -> None:
    for path in ["/api/v1/workspaces/list", "/v1/workspaces/list", "/api/v1/workspaces/list/", "/v1/workspaces/list/"]:
        response = client.post(path, follow_redirects=False)
        assert response.status_code == 200, path
        assert [w["workspaceId"] for w in response.json()["workspaces"]] == [WORKSPACE_ID]


def test_get_endpoints_answer_with_or_without_a_slash(client: TestClient) -> None:
    for path in ["/api/v1/health/", "/v1/health", "/api/v1/debug/", "/v1/debug"]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "application/json"


# BODIES


def test_body_is_json_whatever_the_content_type(client: TestClient) -> None:
    body = json.dumps({"workspaceId": WORKSPACE_ID}).encode()
    for content_type in [None, "text/plain", "application/x-www-form-urlencoded", "application/json"]:
        headers = {"Content-Type": content_type} if content_type else {}
        response = client.post("/api/v1/workspaces/get", content=body, headers=headers)
        assert response.status_code == 200, content_type
        assert response.json()["slug"] == "default"


def test_verbs_without_input_accept_an_empty_body_or_an_object(client: TestClient) -> None:
    for body in [b"", b"   ", b"{}", b'{"pagination": {"pageSize": 10}}']:
        response = client.post("/api/v1/source_definitions/list", content=body)
        assert response.status_code == 200, body
        assert "Faker" in {d["name"] for d in response.json()["sourceDefinitions"]}


def test_unknown_request_fields_are_ignored(call: Any) -> None:
    body = {"workspaceId": WORKSPACE_ID, "includeDeleted": True, "pagination": {"pageSize": 1}}
    assert call("workspaces/get", body)["workspaceId"] == WORKSPACE_ID


# ERRORS: 422


def test_malformed_json_is_422_at_the_root(client: TestClient) -> None:
    response = client.post("/api/v1/workspaces/get", content=b'{"workspaceId": ')
    assert response.status_code == 422
    assert response.json() == {
        "message": "$: Malformed JSON: Input data was truncated",
        "validationErrors": [{"propertyPath": "$", "message": "Malformed JSON: Input data was truncated"}],
    }


def test_malformed_json_is_422_even_for_verbs_without_input(client: TestClient) -> None:
    response = client.post("/api/v1/workspaces/list", content=b"{nope")
    assert response.status_code == 422
    assert response.json()["validationErrors"][0]["propertyPath"] == "$"


def test_a_body_that_is_not_an_object_is_422(client: TestClient) -> None:
    for body, kind in [(b"[]", "list"), (b'"text"', "str"), (b"3", "int"), (b"null", "NoneType")]:
        response = client.post("/api/v1/workspaces/get", content=body)
        assert response.status_code == 422, body
        assert response.json()["message"] == f"$: Expected a JSON object, got {kind}"
        assert response.json()["validationErrors"][0]["propertyPath"] == "$"


def test_wrong_type_is_422_naming_the_field_and_its_value(client: TestClient) -> None:
    response = client.post("/api/v1/workspaces/get", json={"workspaceId": 5})
    assert response.status_code == 422
    assert response.json() == {
        "message": "$.workspaceId: Expected `uuid`, got `int`",
        "validationErrors": [{"propertyPath": "$.workspaceId", "invalidValue": 5, "message": "Expected `uuid`, got `int`"}],
    }


def test_an_invalid_uuid_is_422(client: TestClient) -> None:
    response = client.post("/api/v1/sources/get", json={"sourceId": "nope"})
    assert response.status_code == 422
    assert response.json()["validationErrors"] == [{"propertyPath": "$.sourceId", "invalidValue": "nope", "message": "Invalid UUID"}]


def test_wrong_type_deep_in_the_body_names_its_path(client: TestClient) -> None:
    body = {"connectionId": UNKNOWN_ID, "status": "active", "schedule": {"units": "two", "timeUnit": "hours"}}
    response = client.post("/api/v1/connections/update", json=body)
    assert response.status_code == 422
    assert response.json()["validationErrors"] == [
        {"propertyPath": "$.schedule.units", "invalidValue": "two", "message": "Expected `int`, got `str`"}
    ]


def test_missing_required_field_is_422_naming_it(client: TestClient) -> None:
    response = client.post("/api/v1/workspaces/get", json={})
    assert response.status_code == 422
    assert response.json() == {
        "message": "$.workspaceId: is required",
        "validationErrors": [{"propertyPath": "$.workspaceId", "message": "is required"}],
    }


def test_unknown_enum_value_is_422(client: TestClient) -> None:
    response = client.post("/api/v1/jobs/list", json={"configId": "x", "configType": "bogus"})
    assert response.status_code == 422
    assert response.json()["validationErrors"] == [
        {"propertyPath": "$.configType", "invalidValue": "bogus", "message": "Invalid enum value 'bogus'"}
    ]


# ERRORS: 404, 405


def test_unknown_path_is_404_json(client: TestClient) -> None:
    response = client.post("/api/v1/nothing/here")
    assert response.status_code == 404
    assert response.json() == {"message": "No operation at POST /api/v1/nothing/here"}


def test_get_on_a_post_route_is_405_json(client: TestClient) -> None:
    response = client.get("/api/v1/sources/get")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json() == {"message": "Method Not Allowed"}


# ERRORS: 500


def test_an_unexpected_error_is_500_without_details(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from airpipe.services import health

    def broken(connection_id: Any) -> None:
        raise RuntimeError("the secret detail")

    monkeypatch.setattr(health, "get_connection_model", broken)
    response = client.post("/api/v1/operations/list", json={"connectionId": UNKNOWN_ID})
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"message", "requestId"}
    assert body["message"] == "internal error"
    assert len(body["requestId"]) == 32
    assert "secret detail" not in response.text
    [record] = [r for r in caplog.records if r.name == "airpipe.api"]
    assert record.getMessage() == f"request {body['requestId']} to /api/v1/operations/list failed"
    assert "the secret detail" in str(record.exc_info[1])


# NO 5xx FOR ANY MALFORMED INPUT, ON ANY OPERATION

GARBAGE = [b"{", b"\xff\xfe", b"[1, 2]", b"null", b'"x"', b'{"bogus": 1}', b"{}"]


def test_no_operation_answers_5xx_to_bad_input(client: TestClient) -> None:
    """Every operation of the table gets every bad body; the failures are collected so one run names them all."""
    failures = []
    for operation in OPERATIONS:
        shaped = json.dumps(minimal_body(operation.request) if operation.request else {}).encode()
        for content in [*GARBAGE, shaped]:
            response = client.post("/api" + operation.path, content=content)
            if response.status_code >= 500 or (response.content and not isinstance(response.json(), dict)):
                failures.append((operation.name, content, response.status_code, response.text))
    assert failures == []


def test_the_shaped_bodies_are_well_formed(client: TestClient) -> None:
    """The bodies above get past decoding: only jobs.list (which needs one of two optional fields)
    and api_keys.create (whose scopes match a pattern "x" does not) are refused."""
    refused = []
    for operation in OPERATIONS:
        if operation.request is None:
            continue
        response = client.post("/api" + operation.path, json=minimal_body(operation.request))
        if response.status_code == 422 and response.json()["message"].startswith("$"):
            refused.append(operation.name)
    assert refused == ["jobs.list", "api_keys.create"]


def test_integers_beyond_what_the_database_holds_are_422(client: TestClient, connection: Any) -> None:
    cases = [
        ("jobs/get", {"id": INT64_MAX + 1}, "$.id", "Expected `int` <= 9223372036854775807"),
        ("jobs/list", {"configId": "x", "configType": "sync", "pagination": {"pageSize": 2**70}}, "$.pagination.pageSize", None),
        ("jobs/list", {"configId": "x", "configType": "sync", "pagination": {"rowOffset": 2**63}}, "$.pagination.rowOffset", None),
        (
            "connections/update",
            {"connectionId": connection["connectionId"], "status": "active", "schedule": {"units": 2**63, "timeUnit": "hours"}},
            "$.schedule.units",
            None,
        ),
    ]
    for path, body, property_path, message in cases:
        response = client.post(f"/api/v1/{path}", json=body)
        assert response.status_code == 422, (path, response.text)
        [error] = response.json()["validationErrors"]
        assert error["propertyPath"] == property_path
        if message:
            assert error["message"] == message


def test_a_nul_character_is_422(client: TestClient) -> None:
    bodies = [
        ("workspaces/create", {"name": "a\x00b"}, "$.name"),
        ("workspaces/get_by_slug", {"slug": "a\x00b"}, "$.slug"),
        ("jobs/list", {"configId": "a\x00b", "configType": "sync"}, "$.configId"),
        ("sources/create", {"connectionConfiguration": {"nested": ["ok", "a\x00b"]}}, "$.connectionConfiguration.nested[1]"),
    ]
    for path, body, property_path in bodies:
        response = client.post(f"/api/v1/{path}", json=body)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["validationErrors"] == [
            {"propertyPath": property_path, "invalidValue": "a\\u0000b", "message": "must not contain NUL (\\u0000) characters"}
        ]


def test_names_up_to_the_limit_are_stored_whole(call: Any) -> None:
    workspace = call("workspaces/create", {"name": "n" * 256})
    assert call("workspaces/get", {"workspaceId": workspace["workspaceId"]})["name"] == "n" * 256
    definition = call("source_definitions/create", {"name": "d" * 256, "dockerRepository": "example/source-x", "dockerImageTag": "t" * 256})
    assert definition["dockerImageTag"] == "t" * 256


@pytest.mark.parametrize(
    ("operation", "body", "path"),
    [
        ("workspaces/create", {"name": "n" * 257}, "$.name"),
        ("source_definitions/create", {"name": "d", "dockerRepository": "r" * 257, "dockerImageTag": "1"}, "$.dockerRepository"),
        (
            "source_definitions/create",
            {"name": "d", "dockerRepository": "r", "dockerImageTag": "1", "documentationUrl": "https://x/" + "u" * 2040},
            "$.documentationUrl",
        ),
    ],
)
def test_overlong_free_text_is_refused_naming_the_field(client: TestClient, operation: str, body: dict[str, Any], path: str) -> None:
    response = client.post(f"/api/v1/{operation}", json=body)
    assert response.status_code == 422
    [error] = response.json()["validationErrors"]
    assert error["propertyPath"] == path
    assert "length <=" in error["message"]


def test_overlong_names_of_sources_and_connections_are_refused(call: Any, client: TestClient) -> None:
    workspace_id = call("workspaces/list", {})["workspaces"][0]["workspaceId"]
    body = {"workspaceId": workspace_id, "sourceDefinitionId": str(uuid.uuid4()), "connectionConfiguration": {}, "name": "s" * 300}
    response = client.post("/api/v1/sources/create", json=body)
    assert response.status_code == 422
    assert response.json()["validationErrors"][0]["propertyPath"] == "$.name"
    response = client.post("/api/v1/connections/update", json={"connectionId": str(uuid.uuid4()), "status": "active", "prefix": "p" * 300})
    assert response.status_code == 422
    assert response.json()["validationErrors"][0]["propertyPath"] == "$.prefix"


def test_an_unexpected_error_is_500_and_closes_the_connection(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from airpipe.api import routing

    def broken(service: Any, payload: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(routing, "_call", broken)
    response = client.post("/api/v1/workspaces/list", json={})
    assert response.status_code == 500
    assert response.headers["connection"] == "close"
    assert response.json()["message"] == "internal error" and "a bug" not in response.text


@pytest.fixture
def small_body_client(tmp_path: Path, database_url: str, queue_name: str, immediate_queue: None) -> Iterator[TestClient]:
    from airpipe.api.app import create_app

    env = {"AIRPIPE_DATA_DIR": str(tmp_path / "data"), "AIRPIPE_DATABASE_URL": database_url, "AIRPIPE_QUEUE_NAME": queue_name}
    settings = Settings.from_env({**env, "AIRPIPE_MAX_BODY_BYTES": "100"})
    with TestClient(create_app(settings, run_consumer=False), raise_server_exceptions=False) as client:
        yield client
    if not models.is_sqlite():
        models.db.obj.close_all()


def test_a_body_over_the_limit_is_413_naming_it(small_body_client: TestClient) -> None:
    assert small_body_client.post("/api/v1/workspaces/list", content=b"{" + b" " * 98 + b"}").status_code == 200
    response = small_body_client.post("/api/v1/workspaces/list", content=b"{" + b" " * 99 + b"}")
    assert response.status_code == 413
    assert response.headers["connection"] == "close"
    assert response.json() == {"message": "the request body is larger than 100 bytes (AIRPIPE_MAX_BODY_BYTES)"}


def test_a_streamed_body_over_the_limit_is_413(small_body_client: TestClient) -> None:
    response = small_body_client.post("/api/v1/workspaces/list", content=iter([b"{", b" " * 60, b" " * 60, b"}"]))
    assert response.status_code == 413


# AUTHENTICATION


REFUSED = {
    "none": {},
    "wrong password": basic("ada:wrong"),
    "wrong user": basic("bob:open sesame"),
    "no colon": basic("ada"),
    "not base64": {"Authorization": "Basic !!!"},
    "bearer": {"Authorization": "Bearer open sesame"},
}


def test_auth_refuses_missing_or_wrong_credentials(auth_client: TestClient) -> None:
    for case, headers in REFUSED.items():
        response = auth_client.post("/api/v1/workspaces/list", headers=headers)
        assert response.status_code == 401, case
        assert response.headers["www-authenticate"].startswith("Basic")
        assert response.json() == {"message": auth.REFUSED}


def test_auth_accepts_the_right_credentials(auth_client: TestClient) -> None:
    response = auth_client.post("/api/v1/workspaces/list", headers=basic("ada:open sesame"))
    assert response.status_code == 200
    assert response.json()["workspaces"][0]["workspaceId"] == WORKSPACE_ID


def test_auth_covers_every_other_path(auth_client: TestClient) -> None:
    others = [("GET", "/api/v1/debug"), ("POST", "/v1/sources/list"), ("GET", "/api/v1/openapi"), ("POST", "/api/v1/nothing")]
    others += [("GET", "/metrics"), ("GET", "/api/v1/metrics")]
    others += [("POST", f"/api{operation.path}") for operation in OPERATIONS]  # every operation, the new ones too
    others += [(o.method, PREFIX + re.sub(r"\{\w+\}", UNKNOWN_ID, o.path)) for o in PUBLIC_OPERATIONS if o.secured]
    others += [("GET", f"{PREFIX}/openapi")]
    for method, path in others:
        assert auth_client.request(method, path).status_code == 401, path


#: the dashboard's pages and form actions, one of each route and its static files
DASHBOARD = [
    ("GET", "/"),
    ("GET", "/ui/workspaces"),
    ("GET", "/ui/connections/new"),
    ("POST", "/ui/connections/new"),
    ("GET", f"/ui/connections/{UNKNOWN_ID}"),
    ("POST", f"/ui/connections/{UNKNOWN_ID}/sync"),
    ("POST", f"/ui/connections/{UNKNOWN_ID}/status"),
    ("POST", f"/ui/connections/{UNKNOWN_ID}/cancel"),
    ("GET", "/ui/jobs/1"),
    ("POST", "/ui/jobs/1/cancel"),
    ("GET", "/ui/sources"),
    ("GET", "/ui/destinations/new"),
    ("POST", "/ui/sources/new"),
    ("POST", f"/ui/destinations/{UNKNOWN_ID}/check"),
    ("GET", "/ui/static/dashboard.css"),
    ("GET", "/ui/static/job.js"),
    ("GET", "/ui/nothing"),
]


def test_auth_covers_the_dashboard(auth_client: TestClient) -> None:
    from starlette.routing import Match

    from airpipe.api.dashboard import routes

    for route in routes():  # a new page or action must join DASHBOARD
        scopes = [{"type": "http", "path": path, "method": method, "root_path": ""} for method, path in DASHBOARD]
        assert any(route.matches(scope)[0] == Match.FULL for scope in scopes), route
    for method, path in DASHBOARD:
        for case, headers in REFUSED.items():
            response = auth_client.request(method, path, headers=headers, follow_redirects=False)
            assert response.status_code == 401, (method, path, case)
            assert response.headers["www-authenticate"].startswith("Basic"), path  # the browser asks for credentials


def test_the_dashboard_answers_the_right_credentials(auth_client: TestClient) -> None:
    response = auth_client.get("/", headers=basic("ada:open sesame"))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert auth_client.get("/ui/static/dashboard.css", headers=basic("ada:open sesame")).status_code == 200


def test_health_is_open_without_credentials(auth_client: TestClient) -> None:
    for path in ["/api/v1/health", "/v1/health", "/api/v1/health/", "/v1/health/"]:
        response = auth_client.get(path)
        assert response.status_code == 200, path
        assert response.json()["available"] is True


def test_auth_is_off_without_a_password(client: TestClient) -> None:
    response = client.post("/api/v1/workspaces/list")
    assert response.status_code == 200
    assert "www-authenticate" not in response.headers



@pytest.mark.parametrize("depth", [200, 5000])
def test_json_nested_too_deep_is_422_not_500(client: TestClient, depth: int) -> None:
    # 5,000 levels overflow the decoder's recursion; 200 decode but exceed the limit
    body = b'{"workspaceId": ' + b"[" * depth + b"]" * depth + b"}"
    response = client.post("/api/v1/workspaces/get", content=body)
    assert response.status_code == 422, response.text
    assert response.json()["message"] == "$: JSON is nested deeper than 128 levels"


def test_json_nested_too_deep_is_422_for_verbs_without_input(client: TestClient) -> None:
    response = client.post("/api/v1/workspaces/list", content=b"[" * 5000 + b"]" * 5000)
    assert response.status_code == 422, response.text
