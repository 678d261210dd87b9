"""The public API's jobs (syncs and resets, listed with filters and pages, cancelled with DELETE)
and its applications: client credentials traded for bearer tokens that both APIs accept."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient
from suitekit import basic

from airpipe.api.public_operations import PREFIX

WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def post(client: TestClient, path: str, body: Any, expect: int = 200, **headers: str) -> Any:
    response = client.post(PREFIX + path, json=body, headers=headers)
    assert response.status_code == expect, response.text
    return response.json() if response.content else None


def get(client: TestClient, path: str, expect: int = 200, **params: Any) -> Any:
    """A GET; ``params`` are its query string (``status`` among them: the job status filter)."""
    response = client.get(PREFIX + path, params=params)
    assert response.status_code == expect, response.text
    return response.json()


# JOBS (jobs run inline in these tests: a job is finished when POST /jobs answers)


def test_a_sync_job_is_created_read_and_listed(client: TestClient, connection: Any, read_jsonl: Any, seen_local_root: Any) -> None:
    connection_id = connection["connectionId"]
    created = post(client, "/jobs", {"connectionId": connection_id, "jobType": "sync"})
    assert created["jobType"] == "sync" and created["connectionId"] == connection_id
    job = get(client, f"/jobs/{created['jobId']}")
    assert job["status"] == "succeeded" and job["rowsSynced"] == 5 and job["bytesSynced"] > 0
    assert ISO_TIME.match(job["startTime"]) and ISO_TIME.match(job["lastUpdatedAt"]) and re.match(r"^PT(\d+M)?\d+S$", job["duration"])
    reset = post(client, "/jobs", {"connectionId": connection_id, "jobType": "clear"})  # Airbyte's later name for reset
    assert reset["jobType"] == "reset" and get(client, f"/jobs/{reset['jobId']}")["status"] == "succeeded"

    listed = get(client, "/jobs", connectionId=connection_id)["data"]
    assert [j["jobId"] for j in listed] == [reset["jobId"], created["jobId"]]  # newest first
    oldest_first = get(client, "/jobs", connectionId=connection_id, orderBy="createdAt|ASC")["data"]
    assert [j["jobId"] for j in oldest_first] == [created["jobId"], reset["jobId"]]
    assert [j["jobId"] for j in get(client, "/jobs", jobType="sync", workspaceIds=WORKSPACE_ID)["data"]] == [created["jobId"]]
    assert get(client, "/jobs", status="failed")["data"] == []
    assert len(get(client, "/jobs", createdAtStart="2000-01-01T00:00:00Z")["data"]) == 2
    assert get(client, "/jobs", createdAtEnd="2000-01-01T00:00:00Z")["data"] == []
    page = get(client, "/jobs", limit=1)
    assert [j["jobId"] for j in page["data"]] == [reset["jobId"]] and "offset=1" in page["next"]
    assert [j["jobId"] for j in client.get(page["next"]).json()["data"]] == [created["jobId"]]


def test_checks_and_discovers_are_not_public_jobs(client: TestClient, call: Any, create_source: Any, insert_job: Any) -> None:
    source = create_source()
    check = insert_job(source["sourceId"], config_type="check_connection_source", status="succeeded", attempt_status="succeeded")
    assert get(client, f"/jobs/{check}", expect=404)["message"] == f"Could not find job with id {check}"
    assert get(client, "/jobs")["data"] == []


def test_refresh_and_unknown_connections_are_refused(client: TestClient, connection: Any) -> None:
    refused = post(client, "/jobs", {"connectionId": connection["connectionId"], "jobType": "refresh"}, expect=422)
    assert refused["validationErrors"][0]["propertyPath"] == "$.jobType"
    post(client, "/jobs", {"connectionId": "00000000-0000-4000-8000-000000000000", "jobType": "sync"}, expect=404)
    get(client, "/jobs", expect=404, connectionId="00000000-0000-4000-8000-000000000000")
    missing = post(client, "/jobs", {}, expect=422)
    assert {e["propertyPath"] for e in missing["validationErrors"]} == {"$.connectionId", "$.jobType"}


def test_delete_cancels_a_running_job_and_leaves_a_finished_one(client: TestClient, connection: Any, insert_job: Any) -> None:
    running = insert_job(connection["connectionId"], status="running")
    cancelled = client.delete(f"{PREFIX}/jobs/{running}").json()
    assert cancelled["status"] == "cancelled" and get(client, f"/jobs/{running}")["status"] == "cancelled"
    done = insert_job(connection["connectionId"], status="succeeded", attempt_status="succeeded")
    assert client.delete(f"{PREFIX}/jobs/{done}").json()["status"] == "succeeded"


# APPLICATIONS AND TOKENS


@pytest.fixture
def application(auth_client: TestClient) -> Any:
    return post(auth_client, "/applications", {"name": "airflow"}, **basic("ada:open sesame"))


def test_an_application_shows_its_secret_once(auth_client: TestClient, application: Any) -> None:
    assert application["name"] == "airflow" and len(application["clientSecret"]) >= 40
    listed = auth_client.get(f"{PREFIX}/applications", headers=basic("ada:open sesame")).json()["applications"]
    assert listed == [{k: v for k, v in application.items() if k != "clientSecret"}]


@pytest.mark.parametrize("as_form", [True, False], ids=["form", "json"])
def test_client_credentials_buy_a_bearer_token_both_apis_accept(auth_client: TestClient, application: Any, as_form: bool) -> None:
    credentials = {"client_id": application["clientId"], "client_secret": application["clientSecret"], "grant_type": "client_credentials"}
    path = f"{PREFIX}/applications/token"
    response = auth_client.post(path, data=credentials) if as_form else auth_client.post(path, json=credentials)
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"] == "Bearer" and token["expires_in"] == 180
    bearer = {"Authorization": f"Bearer {token['access_token']}"}
    assert auth_client.get(f"{PREFIX}/workspaces", headers=bearer).json()["data"][0]["workspaceId"] == WORKSPACE_ID
    assert auth_client.post("/api/v1/workspaces/list", headers=bearer).status_code == 200
    assert auth_client.get(f"{PREFIX}/workspaces", headers={"Authorization": "Bearer forged"}).status_code == 401


def test_the_token_is_also_served_where_clients_default_token_urls_land(auth_client: TestClient, application: Any) -> None:
    credentials = {"client_id": application["clientId"], "client_secret": application["clientSecret"]}
    for path in ["/applications/token", "/api/public/applications/token", f"{PREFIX}/v1/applications/token"]:
        assert auth_client.post(path, data=credentials).status_code == 200, path


def test_wrong_credentials_get_no_token(auth_client: TestClient, application: Any) -> None:
    for credentials in [
        {"client_id": application["clientId"], "client_secret": "guess"},
        {"client_id": "nobody", "client_secret": application["clientSecret"]},
        {"client_id": application["clientId"], "client_secret": application["clientSecret"], "grant_type": "password"},
    ]:
        assert auth_client.post(f"{PREFIX}/applications/token", data=credentials).status_code == 401
    missing = auth_client.post(f"{PREFIX}/applications/token", data={"client_id": "x"})
    assert missing.status_code == 422 and missing.json()["validationErrors"][0]["propertyPath"] == "$.client_secret"


def test_deleting_an_application_revokes_its_tokens(auth_client: TestClient, application: Any) -> None:
    credentials = {"client_id": application["clientId"], "client_secret": application["clientSecret"]}
    token = auth_client.post(f"{PREFIX}/applications/token", data=credentials).json()["access_token"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert auth_client.get(f"{PREFIX}/applications/{application['id']}", headers=bearer).status_code == 200
    assert auth_client.delete(f"{PREFIX}/applications/{application['id']}", headers=bearer).status_code == 204
    assert auth_client.get(f"{PREFIX}/workspaces", headers=bearer).status_code == 401
    assert auth_client.post(f"{PREFIX}/applications/token", data=credentials).status_code == 401


def test_health_and_the_token_exchange_are_open(auth_client: TestClient) -> None:
    assert auth_client.get(f"{PREFIX}/health").json()["available"] is True
    assert auth_client.get(f"{PREFIX}/workspaces").status_code == 401
    assert auth_client.get(f"{PREFIX}/openapi").status_code == 401
    assert auth_client.get(f"{PREFIX}/openapi", headers=basic("ada:open sesame")).json()["info"]["title"].startswith("airpipe public API")
