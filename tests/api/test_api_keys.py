"""API keys (api_keys/*) and scopes: a key is shown once and stored hashed, authenticates with
X-Api-Key or Bearer, and may only do what its scopes say: every operation of both route tables
is walked with a read-only key, and keys limited to one workspace stay in it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient
from suitekit import basic, minimal_body

from airpipe import models
from airpipe.api.operations import OPERATIONS
from airpipe.api.public_operations import PREFIX, PUBLIC_OPERATIONS

WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
ADMIN = basic("ada:open sesame")


def post(client: TestClient, path: str, body: Any, headers: dict[str, str], expect: int = 200) -> Any:
    response = client.post(f"/api/v1/{path}", json=body, headers=headers)
    assert response.status_code == expect, response.text
    return response.json() if response.content else None


def new_key(client: TestClient, *scopes: str, **fields: Any) -> str:
    created = post(client, "api_keys/create", {"name": fields.pop("name", "robot"), "scopes": list(scopes), **fields}, ADMIN)
    key: str = created["key"]
    return key


def as_key(key: str) -> dict[str, str]:
    return {"X-Api-Key": key}


def test_a_key_is_shown_once_listed_masked_and_revoked_by_delete(auth_client: TestClient) -> None:
    created = post(auth_client, "api_keys/create", {"name": "etl", "scopes": ["read", "write"], "expiresIn": "24h"}, ADMIN)
    key = created["key"]
    assert key.startswith("ap_") and len(key) > 40 and created["maskedKey"] == key[:8] + "****"
    assert created["createdBy"] == "ada" and created["expiresAt"] - created["createdAt"] in (86400, 86399)
    with models.db.connection_context():
        assert key not in str(list(models.ApiKey.select().dicts()))  # only its hash is stored
    [listed] = post(auth_client, "api_keys/list", {}, ADMIN)["apiKeys"]
    assert "key" not in listed and listed["maskedKey"] == created["maskedKey"] and listed["scopes"] == ["read", "write"]

    assert auth_client.post("/api/v1/workspaces/list", headers=as_key(key)).status_code == 200
    assert auth_client.post("/api/v1/workspaces/list", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert abs(post(auth_client, "api_keys/list", {}, ADMIN)["apiKeys"][0]["lastUsedAt"] - models.now()) < 60  # its use is noted
    post(auth_client, "api_keys/delete", {"apiKeyId": created["apiKeyId"]}, ADMIN, expect=204)
    assert auth_client.post("/api/v1/workspaces/list", headers=as_key(key)).status_code == 401
    post(auth_client, "api_keys/delete", {"apiKeyId": created["apiKeyId"]}, ADMIN, expect=404)


def test_expired_unknown_and_malformed_keys_are_401(auth_client: TestClient) -> None:
    key = new_key(auth_client, "read")
    with models.db.connection_context():
        models.ApiKey.update(expires_at=models.now() - 1).execute()
    for headers in (as_key(key), as_key("ap_guess"), {"Authorization": "Bearer ap_guess"}, {"Authorization": "Token x"}):
        assert auth_client.post("/api/v1/workspaces/list", headers=headers).status_code == 401


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"scopes": ["root"]}, "$.scopes[0]"),
        ({"scopes": []}, "$.scopes"),
        ({"scopes": ["read"], "expiresAt": 1}, "$.expiresAt"),
        ({"scopes": ["read"], "expiresAt": 4102444800, "expiresIn": "1h"}, "$.expiresIn"),
        ({"scopes": ["read"], "expiresIn": "soon"}, "$.expiresIn"),
    ],
)
def test_a_bad_key_request_is_422_naming_the_field(auth_client: TestClient, body: dict[str, Any], path: str) -> None:
    answer = post(auth_client, "api_keys/create", {"name": "x", **body}, ADMIN, expect=422)
    assert answer["validationErrors"][0]["propertyPath"] == path


def test_a_read_only_key_is_refused_exactly_the_operations_that_write(auth_client: TestClient) -> None:
    """Every operation of both tables, with a read-only key: 403 when it needs write or admin,
    anything else (200, 404, 422, 409...) when it only reads."""
    key = as_key(new_key(auth_client, "read"))
    wrong = []
    for operation in OPERATIONS:
        response = auth_client.post("/api" + operation.path, json=minimal_body(operation.request) if operation.request else {}, headers=key)
        if (response.status_code == 403) != (operation.scope != "read"):
            wrong.append((operation.name, operation.scope, response.status_code))
        if response.status_code == 403:
            assert response.json()["message"] == f"robot may not do this: it needs the {operation.scope} scope"
    for public in PUBLIC_OPERATIONS:
        if not public.secured:
            continue
        path = PREFIX + re.sub(r"\{(\w+)\}", lambda m: "1" if m[1] == "jobId" else "00000000-0000-4000-8000-000000000000", public.path)
        body = minimal_body(public.body) if public.body else None
        response = auth_client.request(public.method, path, json=body, headers=key)
        if (response.status_code == 403) != (public.scope != "read"):
            wrong.append((public.operation_id, public.scope, response.status_code))
    assert wrong == []


def test_a_write_key_may_sync_but_not_manage_keys_or_definitions(auth_client: TestClient) -> None:
    key = as_key(new_key(auth_client, "write"))
    assert post(auth_client, "workspaces/list", {}, key)["workspaces"]
    post(auth_client, "api_keys/list", {}, key, expect=403)
    post(auth_client, "workspaces/create", {"name": "mine"}, key, expect=403)
    body = {"name": "x", "dockerRepository": "x/source-x", "dockerImageTag": "1", "documentationUrl": "https://x"}
    post(auth_client, "source_definitions/create", body, key, expect=403)


def test_a_key_limited_to_a_workspace_stays_in_it(auth_client: TestClient) -> None:
    other = post(auth_client, "workspaces/create", {"name": "other"}, ADMIN)["workspaceId"]
    key = as_key(new_key(auth_client, f"write:{WORKSPACE_ID}", name="team"))
    faker = {"sourceDefinitionId": "a3395a42-d499-4316-9233-0451ac0673d1", "name": "f", "connectionConfiguration": {"count": 2}}
    mine = post(auth_client, "sources/create", {**faker, "workspaceId": WORKSPACE_ID}, key)
    refused = post(auth_client, "sources/create", {**faker, "workspaceId": other}, key, expect=403)
    assert refused["message"] == f"team may not write in workspace {other}"
    theirs = post(auth_client, "sources/create", {**faker, "workspaceId": other}, ADMIN)
    assert post(auth_client, "sources/get", {"sourceId": mine["sourceId"]}, key)["name"] == "f"
    post(auth_client, "sources/get", {"sourceId": theirs["sourceId"]}, key, expect=403)
    post(auth_client, "sources/list", {"workspaceId": other}, key, expect=403)
    post(auth_client, "workspaces/list", {}, key, expect=403)  # about every workspace
    assert post(auth_client, "source_definitions/list", {}, key)["sourceDefinitions"]  # shared by all


def test_a_key_limited_to_a_workspace_lists_only_its_own_in_the_public_api(auth_client: TestClient) -> None:
    other = post(auth_client, "workspaces/create", {"name": "other"}, ADMIN)["workspaceId"]
    faker = {"sourceDefinitionId": "a3395a42-d499-4316-9233-0451ac0673d1", "connectionConfiguration": {"count": 2}}
    mine = post(auth_client, "sources/create", {**faker, "name": "mine", "workspaceId": WORKSPACE_ID}, ADMIN)
    post(auth_client, "sources/create", {**faker, "name": "theirs", "workspaceId": other}, ADMIN)
    key = as_key(new_key(auth_client, f"read:{WORKSPACE_ID}", name="team"))

    def listed(path: str, expect: int = 200, **params: Any) -> Any:
        response = auth_client.get(f"{PREFIX}{path}", params=params, headers=key)
        assert response.status_code == expect, response.text
        return response.json()

    assert [s["sourceId"] for s in listed("/sources")["data"]] == [mine["sourceId"]]
    assert [s["name"] for s in listed("/sources", workspaceIds=WORKSPACE_ID)["data"]] == ["mine"]
    assert [w["workspaceId"] for w in listed("/workspaces")["data"]] == [WORKSPACE_ID]
    assert listed("/destinations")["data"] == [] and listed("/connections")["data"] == [] and listed("/jobs")["data"] == []
    for path in ("/sources", "/destinations", "/connections", "/jobs", "/workspaces"):
        refused = listed(path, 403, workspaceIds=f"{WORKSPACE_ID},{other}")
        assert refused["message"] == f"team may not read in workspace {other}", path
    unknown = "00000000-0000-4000-8000-000000000000"  # a limited key is refused, not told what exists
    assert listed("/jobs", 403, connectionId=unknown)["message"] == f"team may not read in the workspace of connection {unknown}"
    all_of_them = auth_client.get(f"{PREFIX}/sources", headers=ADMIN).json()["data"]
    assert {s["name"] for s in all_of_them} == {"mine", "theirs"}  # an unlimited login still sees all


def test_a_key_counts_on_a_server_without_a_password(client: TestClient, call: Any) -> None:
    """No password (a loopback server): no credentials may do everything, as before; a key's scopes still hold."""
    created = call("api_keys/create", {"name": "viewer", "scopes": ["read"]})
    assert created["createdBy"] == "anonymous"
    key = as_key(created["key"])
    assert client.post("/api/v1/workspaces/list", headers=key).status_code == 200
    assert client.post("/api/v1/workspaces/create", json={"name": "x"}, headers=key).status_code == 403
    assert client.post("/api/v1/workspaces/list", headers=as_key("ap_wrong")).status_code == 401
