"""web_backend/connections/*: a connection with its source, destination and sync status."""

from __future__ import annotations

from typing import Any

from airpipe import models

WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def test_get_embeds_source_and_destination(call: Any, connection: Any) -> None:
    wb = call("web_backend/connections/get", {"connectionId": connection["connectionId"]})
    source = call("sources/get", {"sourceId": connection["sourceId"]})
    destination = call("destinations/get", {"destinationId": connection["destinationId"]})
    assert wb == {**connection, "source": source, "destination": destination, "isSyncing": False}


def test_last_sync_after_a_sync(call: Any, connection: Any, sync: Any) -> None:
    info = sync(connection)
    wb = call("web_backend/connections/get", {"connectionId": connection["connectionId"]})
    assert wb["lastSync"] == info["job"]["updatedAt"]
    assert wb["isSyncing"] is False


def test_a_failed_sync_is_not_a_last_sync(call: Any, connection: Any, insert_job: Any) -> None:
    insert_job(connection["connectionId"], "sync", "failed", "failed")
    assert "lastSync" not in call("web_backend/connections/get", {"connectionId": connection["connectionId"]})


def test_is_syncing_while_a_sync_or_reset_is_active(call: Any, connection: Any, insert_job: Any) -> None:
    job_id = insert_job(connection["connectionId"], "reset_connection", "pending")
    assert call("web_backend/connections/get", {"connectionId": connection["connectionId"]})["isSyncing"] is True
    [listed] = call("web_backend/connections/list", {"workspaceId": WORKSPACE_ID})["connections"]
    assert listed["isSyncing"] is True
    call("jobs/cancel", {"id": job_id})
    assert call("web_backend/connections/get", {"connectionId": connection["connectionId"]})["isSyncing"] is False


def test_get_and_list_show_a_connection_alike_whatever_its_jobs(call: Any, connection: Any, insert_job: Any) -> None:
    # a get reads one connection by keys (web_backend._one_view), a list in batch queries (_wb_reads)
    scope = connection["connectionId"]

    def agree(*changing: str) -> Any:
        got = call("web_backend/connections/get", {"connectionId": scope})
        [listed] = call("web_backend/connections/list", {"workspaceId": WORKSPACE_ID})["connections"]
        assert {k: v for k, v in got.items() if k not in changing} == {k: v for k, v in listed.items() if k not in changing}
        return got

    assert "lastSync" not in agree() and "latestSyncJobStatus" not in agree()
    ended_last = insert_job(scope, "sync", "succeeded", "succeeded")
    insert_job(scope, "reset_connection", "succeeded", "succeeded")
    insert_job(scope, "sync", "failed", "failed")
    with models.db.connection_context():
        models.Job.update(updated_at=models.Job.updated_at + 100).where(models.Job.id == ended_last).execute()
        last_sync = models.Job.get_by_id(ended_last).updated_at
    view = agree()
    assert (view["lastSync"], view["latestSyncJobStatus"], view["isSyncing"]) == (last_sync, "failed", False)
    insert_job(scope, "sync", "running")
    view = agree("latestSyncJobDuration")  # counted to now(), which may tick between the two calls
    assert (view["lastSync"], view["latestSyncJobStatus"], view["isSyncing"]) == (last_sync, "running", True)


def test_list_skips_deleted_connections(call: Any, create_connection: Any) -> None:
    kept, deleted = create_connection(name="kept"), create_connection(name="deleted")
    call("connections/delete", {"connectionId": deleted["connectionId"]}, status=204)
    listed = call("web_backend/connections/list", {"workspaceId": WORKSPACE_ID})["connections"]
    assert [c["connectionId"] for c in listed] == [kept["connectionId"]]
    assert call("web_backend/connections/get", {"connectionId": deleted["connectionId"]})["status"] == "deprecated"


def test_unknown_ids_are_404(call: Any) -> None:
    assert call("web_backend/connections/get", {"connectionId": UNKNOWN_ID}, status=404) == {
        "message": f"Could not find connection with id {UNKNOWN_ID}",
        "id": UNKNOWN_ID,
    }
    assert call("web_backend/connections/list", {"workspaceId": UNKNOWN_ID}, status=404)["id"] == UNKNOWN_ID
