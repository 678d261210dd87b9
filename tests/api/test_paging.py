"""Issue 10: every list pages, orders and filters by name when asked, answers as before when not,
and costs the same number of queries for 10 items as for 1,000."""

from __future__ import annotations

import uuid
from typing import Any

import peewee
import pytest
from peewee import fn
from starlette.testclient import TestClient
from suitekit import counted

from airpipe import models
from airpipe.services.workspaces import DEFAULT_WORKSPACE_ID as DEFAULT_WORKSPACE

DEFAULT_WORKSPACE_ID = str(DEFAULT_WORKSPACE)
Call = Any


def names(listed: dict[str, Any], key: str) -> list[str]:
    return [item["name"] for item in listed[key]]


@pytest.fixture
def five(call: Call, create_source: Call, create_destination: Call, create_connection: Call) -> list[str]:
    """Five connections, created in this order, named so that name order differs from it."""
    source, destination = create_source(), create_destination()
    made = ["delta", "Alpha", "echo 100%", "charlie", "bravo_x"]
    ids = [create_connection(source, destination, name=name)["connectionId"] for name in made]
    base = models.now()
    with models.db.connection_context():  # a second apart: created_at counts seconds
        for age, connection_id in enumerate(reversed(ids)):
            models.Connection.update(created_at=base - age).where(models.Connection.id == connection_id).execute()
    return made


def test_a_list_without_paging_answers_everything_in_creation_order(call: Call, five: list[str]) -> None:
    assert names(call("connections/list", {"workspaceId": DEFAULT_WORKSPACE_ID}), "connections") == five


def test_pages_cover_the_list_without_overlap(call: Call, five: list[str]) -> None:
    pages = [
        names(
            call("connections/list", {"workspaceId": DEFAULT_WORKSPACE_ID, "pagination": {"pageSize": 2, "rowOffset": offset}}),
            "connections",
        )
        for offset in (0, 2, 4, 6)
    ]
    assert pages == [five[:2], five[2:4], five[4:], []]


@pytest.mark.parametrize(
    ("order", "expected"),
    [
        ({"orderBy": "name"}, ["Alpha", "bravo_x", "charlie", "delta", "echo 100%"]),
        ({"orderBy": "name", "orderDirection": "desc"}, ["echo 100%", "delta", "charlie", "bravo_x", "Alpha"]),
        ({"orderBy": "createdAt", "orderDirection": "desc"}, None),  # None: the creation order reversed
    ],
)
def test_lists_order_by_name_or_creation(call: Call, five: list[str], order: dict[str, str], expected: list[str] | None) -> None:
    listed = names(call("connections/list", {"workspaceId": DEFAULT_WORKSPACE_ID, **order}), "connections")
    if expected is None:
        expected = five[::-1]
    assert listed == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ALPHA", ["Alpha"]),
        ("a", ["delta", "Alpha", "charlie", "bravo_x"]),
        ("100%", ["echo 100%"]),
        ("_", ["bravo_x"]),
        ("%", ["echo 100%"]),
    ],
)
def test_name_contains_ignores_case_and_takes_wildcards_literally(call: Call, five: list[str], text: str, expected: list[str]) -> None:
    listed = call("connections/list", {"workspaceId": DEFAULT_WORKSPACE_ID, "nameContains": text})
    assert names(listed, "connections") == expected


def test_web_backend_sources_destinations_workspaces_and_definitions_page_too(call: Call, five: list[str]) -> None:
    page = {"pagination": {"pageSize": 1, "rowOffset": 1}}
    workspace = {"workspaceId": DEFAULT_WORKSPACE_ID}
    assert names(call("web_backend/connections/list", {**workspace, **page}), "connections") == five[1:2]
    assert names(call("sources/list", {**workspace, "nameContains": "nothing"}), "sources") == []
    assert len(call("destinations/list", {**workspace, **page})["destinations"]) == 0  # one destination: page 2 is empty
    assert len(call("workspaces/list", {"pagination": {"pageSize": 1}})["workspaces"]) == 1
    every = names(call("source_definitions/list"), "sourceDefinitions")
    assert names(call("source_definitions/list", {"pagination": {"pageSize": 1, "rowOffset": 1}}), "sourceDefinitions") == every[1:2]
    assert names(call("destination_definitions/list", {"nameContains": "json"}), "destinationDefinitions") == ["Local JSON"]


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({"pagination": {"pageSize": 0}}, "$.pagination.pageSize"),
        ({"pagination": {"rowOffset": -1}}, "$.pagination.rowOffset"),
        ({"orderBy": "color"}, "$.orderBy"),
        ({"orderDirection": "up"}, "$.orderDirection"),
        ({"nameContains": "x" * 300}, "$.nameContains"),
    ],
)
def test_bad_paging_is_a_422_naming_the_field(client: TestClient, body: dict[str, Any], path: str) -> None:
    response = client.post("/api/v1/connections/list", json={"workspaceId": DEFAULT_WORKSPACE_ID, **body})
    assert response.status_code == 422
    assert response.json()["validationErrors"][0]["propertyPath"] == path


# QUERIES PER REQUEST


@pytest.mark.parametrize("path", ["connections/list", "web_backend/connections/list"])
def test_a_list_costs_as_many_queries_for_1000_items_as_for_10(client: TestClient, connection: dict[str, Any], path: str) -> None:
    body = {"workspaceId": DEFAULT_WORKSPACE_ID}
    counts = []
    for total in (10, 1000):
        copy_rows(models.Connection, connection["connectionId"], total, True)
        with counted() as statements:
            response = client.post(f"/api/v1/{path}", json=body)
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1], counts
    assert counts[0] <= 6, counts


def copy_rows(model: Any, row_id: Any, total: int, where: Any) -> None:
    """Copies of one row of ``model`` until ``where`` selects ``total`` rows (faster than the API)."""
    with models.db.connection_context():
        row = model.get_by_id(row_id)
        have = model.select().where(where).count()
        key = model._meta.primary_key
        fields = {f.name: getattr(row, f.name) for f in model._meta.sorted_fields if f is not key}
        new_key = (lambda: {key.name: uuid.uuid4()}) if isinstance(key, peewee.UUIDField) else dict  # else: auto-increment
        copies = [{**fields, **({"name": f"copy {i}"} if "name" in fields else {}), **new_key()} for i in range(total - have)]
        with models.transaction():
            for start in range(0, len(copies), 200):
                model.insert_many(copies[start : start + 200]).execute()


@pytest.mark.parametrize("kind", ["sources", "destinations"])
def test_an_actor_list_costs_as_many_queries_for_1000_items_as_for_10(client: TestClient, connection: dict[str, Any], kind: str) -> None:
    actor_id = connection["sourceId" if kind == "sources" else "destinationId"]
    actor_type = kind[:-1]
    counts = []
    for total in (10, 1000):
        copy_rows(models.Actor, actor_id, total, models.Actor.actor_type == actor_type)
        with counted() as statements:
            response = client.post(f"/api/v1/{kind}/list", json={"workspaceId": DEFAULT_WORKSPACE_ID})
        assert response.status_code == 200 and len(response.json()[kind]) == total
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 4, counts


def test_a_jobs_page_costs_as_many_queries_for_1000_jobs_as_for_10(client: TestClient, connection: dict[str, Any]) -> None:
    job = client.post("/api/v1/connections/sync", json={"connectionId": connection["connectionId"]}).json()["job"]
    body = {"configTypes": ["sync"], "configId": connection["connectionId"], "pagination": {"pageSize": 1000}}
    counts = []
    for total in (10, 1000):
        copy_rows(models.Job, job["id"], total, models.Job.scope == connection["connectionId"])
        with models.db.connection_context():
            without = models.Job.select().where(~fn.EXISTS(models.Attempt.select().where(models.Attempt.job == models.Job.id)))
            models.Attempt.insert_many([{"job": j.id, "number": 0, "status": "succeeded"} for j in without]).execute()
        with counted() as statements:
            response = client.post("/api/v1/jobs/list", json=body)
        jobs = response.json()["jobs"]
        assert response.status_code == 200 and len(jobs) == total and all(len(j["attempts"]) == 1 for j in jobs)
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 4, counts

