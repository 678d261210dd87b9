"""Airbyte's own public API client, the airbyte-api SDK (1.x, what apache-airflow-providers-airbyte
>= 4 drives), against a real `airpipe serve` with HTTP Basic on: an application's client
credentials buy the token, then sync, follow the job to its end, list it, and cancel a long one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from suitekit import AirpipeServer

from airpipe.connectors import registry
from airpipe.services.workspaces import DEFAULT_WORKSPACE_ID

airbyte_api = pytest.importorskip("airbyte_api")
from airbyte_api import api, models  # noqa: E402

pytestmark = pytest.mark.e2e
PASSWORD = "open sesame"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AirpipeServer]:
    directory = tmp_path_factory.mktemp("public")
    with AirpipeServer(directory, {"AIRPIPE_BASIC_AUTH_PASSWORD": PASSWORD}, auth=f"airbyte:{PASSWORD}") as running:
        yield running


@pytest.fixture(scope="module")
def sdk(server: AirpipeServer) -> Any:
    application = server.post("/api/public/v1/applications", {"name": "airflow"})
    credentials = models.SchemeClientCredentials(
        client_id=application["clientId"], client_secret=application["clientSecret"], token_url="applications/token"
    )
    return airbyte_api.AirbyteAPI(server_url=f"{server.url}/api/public/v1", security=models.Security(client_credentials=credentials))


def connection_of(server: AirpipeServer, count: int, name: str) -> str:
    workspace = str(DEFAULT_WORKSPACE_ID)
    source = server.post(
        "/api/v1/sources/create",
        {"workspaceId": workspace, "sourceDefinitionId": str(registry.FAKER.id), "name": name, "connectionConfiguration": {"count": count}},
    )
    destination = server.post(
        "/api/v1/destinations/create",
        {
            "workspaceId": workspace,
            "destinationDefinitionId": str(registry.LOCAL_JSON.id),
            "name": f"{name} files",
            "connectionConfiguration": {"destination_path": f"/local/{name}"},
        },
    )
    body = {"sourceId": source["sourceId"], "destinationId": destination["destinationId"], "name": name, "status": "active"}
    return str(server.post("/api/v1/connections/create", body)["connectionId"])


def wait_for(sdk: Any, job_id: int, statuses: set[Any], seconds: float = 60) -> Any:
    deadline = time.monotonic() + seconds
    while True:
        job = sdk.jobs.get_job(request=api.GetJobRequest(job_id=job_id)).job_response
        if job.status in statuses or time.monotonic() > deadline:
            return job
        time.sleep(0.2)


def test_the_sdk_syncs_and_follows_the_job_to_its_end(server: AirpipeServer, sdk: Any) -> None:
    connection_id = connection_of(server, 200, "shop")
    listed = sdk.connections.list_connections(request=api.ListConnectionsRequest(workspace_ids=[str(DEFAULT_WORKSPACE_ID)]))
    assert connection_id in [c.connection_id for c in listed.connections_response.data]

    created = sdk.jobs.create_job(request=models.JobCreateRequest(connection_id=connection_id, job_type=models.JobTypeEnum.SYNC))
    job = created.job_response
    assert job.job_type == models.JobTypeEnum.SYNC and job.connection_id == connection_id
    finished = wait_for(sdk, job.job_id, {models.JobStatusEnum.SUCCEEDED, models.JobStatusEnum.FAILED})
    assert finished.status == models.JobStatusEnum.SUCCEEDED
    info = server.post("/api/v1/jobs/get", {"id": job.job_id})  # the same job through the Configuration API
    assert finished.rows_synced == sum(a["attempt"]["recordsSynced"] for a in info["attempts"]) >= 200
    assert finished.bytes_synced == sum(a["attempt"]["bytesSynced"] for a in info["attempts"]) > 0
    assert finished.duration.startswith("PT")

    page = sdk.jobs.list_jobs(request=api.ListJobsRequest(connection_id=connection_id, limit=10)).jobs_response
    assert [j.job_id for j in page.data] == [job.job_id] and page.next is None
    streams = sdk.streams.get_stream_properties(
        request=api.GetStreamPropertiesRequest(source_id=listed.connections_response.data[0].source_id)
    )
    assert "users" in [s.stream_name for s in streams.stream_properties_response]


def test_the_sdk_cancels_a_running_sync(server: AirpipeServer, sdk: Any) -> None:
    connection_id = connection_of(server, 50_000_000, "firehose")
    job = sdk.jobs.create_job(request=models.JobCreateRequest(connection_id=connection_id, job_type=models.JobTypeEnum.SYNC)).job_response
    assert wait_for(sdk, job.job_id, {models.JobStatusEnum.RUNNING}).status == models.JobStatusEnum.RUNNING
    cancelled = sdk.jobs.cancel_job(request=api.CancelJobRequest(job_id=job.job_id)).job_response
    assert cancelled.status == models.JobStatusEnum.CANCELLED
    later = wait_for(sdk, job.job_id, set(), seconds=2)  # stays cancelled while the worker stops the connectors
    assert later.status == models.JobStatusEnum.CANCELLED and later.rows_synced < 50_000_000 * 3


def test_the_sdk_sees_404s_as_errors(sdk: Any) -> None:
    from airbyte_api import errors

    with pytest.raises(errors.SDKError) as raised:
        sdk.jobs.get_job(request=api.GetJobRequest(job_id=987654))
    assert raised.value.status_code == 404
