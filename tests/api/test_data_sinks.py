"""Issue 12: data sinks, labelled key/value stores of a workspace, and their entries, through every
verb, with the 404, 409 and 422 answers of each."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient
from suitekit import counted

from airpipe import models
from airpipe.services.workspaces import DEFAULT_WORKSPACE_ID as DEFAULT_WORKSPACE

DEFAULT_WORKSPACE_ID = str(DEFAULT_WORKSPACE)
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
CHOSEN_ID = "123e4567-e89b-12d3-a456-426614174000"
Call = Any


@pytest.fixture
def make_sink(call: Call) -> Call:
    def make(label: str = "python", **fields: Any) -> Any:
        return call("data_sinks/create", {"workspaceId": DEFAULT_WORKSPACE_ID, "label": label, **fields})

    return make


@pytest.fixture
def sink(make_sink: Call) -> Any:
    return make_sink()


def entry(call: Call, sink: Any, key: str, value: Any, data_type: str = "json", *, status: int = 200) -> Any:
    body = {"dataSinkId": sink["dataSinkId"], "key": key, "value": value, "dataType": data_type}
    return call("data_sinks/entries/create", body, status=status)


def field_error(response: Any) -> tuple[str, str]:
    [error] = response["validationErrors"]
    return error["propertyPath"], error["message"]


# SINKS


def test_create_numbers_sinks_per_workspace_and_get_reads_them_back(call: Call, make_sink: Call) -> None:
    icon = {"source": "DevIcon", "name": "python", "color": "#3776AB", "metadata": {}}
    first = make_sink("Local python instance", description="sums two numbers", tags=["python", "local", "python"], icon=icon)
    assert first["serial"] == 1 and first["visibleId"] == "SNK-1"
    assert first["workspaceId"] == DEFAULT_WORKSPACE_ID and first["label"] == "Local python instance"
    assert first["tags"] == ["python", "local"] and first["icon"] == icon and first["description"] == "sums two numbers"
    assert first["createdAt"] == first["updatedAt"] > 0 and "entries" not in first
    assert make_sink("second")["visibleId"] == "SNK-2"

    other = call("workspaces/create", {"name": "other", "email": "a@example.com"})["workspaceId"]
    assert call("data_sinks/create", {"workspaceId": other, "label": "x"})["visibleId"] == "SNK-1"

    assert call("data_sinks/get", {"dataSinkId": first["dataSinkId"]}) == first
    call("data_sinks/delete", {"dataSinkId": first["dataSinkId"]}, status=204)
    assert make_sink("third")["serial"] == 3  # serials are never reused


def test_create_with_a_chosen_id_and_entries(call: Call, make_sink: Call) -> None:
    entries = [{"key": "sum", "value": 3, "dataType": "number"}, {"key": "name", "value": "py", "dataType": "string"}]
    made = make_sink(dataSinkId=CHOSEN_ID, entries=entries)
    assert made["dataSinkId"] == CHOSEN_ID
    assert [(e["key"], e["value"], e["dataType"]) for e in made["entries"]] == [("name", "py", "string"), ("sum", 3, "number")]
    conflict = call("data_sinks/create", {"workspaceId": DEFAULT_WORKSPACE_ID, "label": "again", "dataSinkId": CHOSEN_ID}, status=409)
    assert conflict["message"] == f"a data sink with id {CHOSEN_ID} exists already"


@pytest.mark.parametrize(
    ("body", "path", "message"),
    [
        ({"workspaceId": DEFAULT_WORKSPACE_ID}, "$.label", "is required"),
        ({"workspaceId": DEFAULT_WORKSPACE_ID, "label": "x", "tags": "a, b"}, "$.tags", "Expected `array`, got `str`"),
        ({"workspaceId": DEFAULT_WORKSPACE_ID, "label": "x", "dataSinkId": "nope"}, "$.dataSinkId", "Invalid UUID"),
        (
            {"workspaceId": DEFAULT_WORKSPACE_ID, "label": "x", "entries": [{"key": "a", "value": "3", "dataType": "number"}]},
            "$.entries[0].value",
            "must be a number (dataType number), got a string",
        ),
        (
            {"workspaceId": DEFAULT_WORKSPACE_ID, "label": "x", "entries": [{"key": "a", "dataType": "json"}] * 2},
            "$.entries",
            "the key 'a' is given twice",
        ),
    ],
)
def test_create_rejects_bad_input_naming_the_field(call: Call, body: dict[str, Any], path: str, message: str) -> None:
    error = call("data_sinks/create", body, status=422)
    assert field_error(error)[0] == path
    assert message in field_error(error)[1]


def test_create_in_an_unknown_workspace_is_404(call: Call) -> None:
    call("data_sinks/create", {"workspaceId": UNKNOWN_ID, "label": "x"}, status=404)


def test_update_changes_only_what_it_is_given(call: Call, make_sink: Call) -> None:
    made = make_sink("old", description="kept", tags=["a"])
    updated = call("data_sinks/update", {"dataSinkId": made["dataSinkId"], "label": "new", "tags": ["b", "c"]})
    assert (updated["label"], updated["description"], updated["tags"]) == ("new", "kept", ["b", "c"])
    assert updated["serial"] == made["serial"] and updated["updatedAt"] >= made["updatedAt"]
    assert call("data_sinks/get", {"dataSinkId": made["dataSinkId"]}) == updated
    call("data_sinks/update", {"dataSinkId": UNKNOWN_ID, "label": "x"}, status=404)
    error = call("data_sinks/update", {"dataSinkId": made["dataSinkId"], "label": "x" * 300}, status=422)
    assert field_error(error)[0] == "$.label"


def test_delete_removes_the_sink_and_its_entries(call: Call, sink: Any) -> None:
    entry(call, sink, "a", 1, "number")
    call("data_sinks/delete", {"dataSinkId": sink["dataSinkId"]}, status=204)
    call("data_sinks/get", {"dataSinkId": sink["dataSinkId"]}, status=404)
    call("data_sinks/delete", {"dataSinkId": sink["dataSinkId"]}, status=404)
    call("data_sinks/entries/get", {"dataSinkId": sink["dataSinkId"], "key": "a"}, status=404)
    with models.db.connection_context():
        assert models.DataSinkEntry.select().count() == 0


def test_get_and_list_include_entries_when_asked(call: Call, make_sink: Call) -> None:
    one, two, empty = make_sink("one"), make_sink("two"), make_sink("empty")
    entry(call, one, "b", True, "boolean")
    entry(call, one, "a", {"x": [1]})
    entry(call, two, "c", "text", "string")
    got = call("data_sinks/get", {"dataSinkId": one["dataSinkId"], "includeEntries": True})
    assert [(e["key"], e["value"]) for e in got["entries"]] == [("a", {"x": [1]}), ("b", True)]
    listed = call("data_sinks/list", {"workspaceId": DEFAULT_WORKSPACE_ID, "includeEntries": True})["dataSinks"]
    assert [(s["label"], [e["key"] for e in s["entries"]]) for s in listed] == [("one", ["a", "b"]), ("two", ["c"]), ("empty", [])]
    plain = call("data_sinks/list", {"workspaceId": DEFAULT_WORKSPACE_ID})["dataSinks"]
    assert [s["label"] for s in plain] == ["one", "two", "empty"] and all("entries" not in s for s in plain)
    assert empty["dataSinkId"] in {s["dataSinkId"] for s in plain}


def test_list_filters_by_tags_and_name_orders_and_pages(call: Call, make_sink: Call) -> None:
    make_sink("Alpha", tags=["python", "local"])
    make_sink("bravo", tags=["python"])
    make_sink("charlie", tags=["local", "x,y"])
    make_sink("delta", tags=['"local"', "Python"])
    body = {"workspaceId": DEFAULT_WORKSPACE_ID}

    def labels(**fields: Any) -> list[str]:
        return [s["label"] for s in call("data_sinks/list", {**body, **fields})["dataSinks"]]

    assert labels() == ["Alpha", "bravo", "charlie", "delta"]
    assert labels(tags=["python"]) == ["Alpha", "bravo"]
    assert labels(tags=["python", "local"]) == ["Alpha"]
    assert labels(tags=["local"]) == ["Alpha", "charlie"]
    assert labels(tags=['"local"']) == ["delta"]
    assert labels(tags=["x,y"]) == ["charlie"]
    assert labels(tags=[","]) == [] and labels(tags=["%"]) == [] and labels(tags=["pyth"]) == []
    assert labels(nameContains="HA") == ["Alpha", "charlie"]
    assert labels(orderBy="name", orderDirection="desc") == ["delta", "charlie", "bravo", "Alpha"]
    assert labels(pagination={"pageSize": 3, "rowOffset": 2}) == ["charlie", "delta"]
    call("data_sinks/list", {"workspaceId": UNKNOWN_ID}, status=404)
    assert field_error(call("data_sinks/list", {}, status=422))[0] == "$.workspaceId"


def test_a_list_with_entries_costs_as_many_queries_for_30_sinks_as_for_3(client: TestClient, call: Call, make_sink: Call) -> None:
    counts = []
    for total in (3, 30):
        while len(call("data_sinks/list", {"workspaceId": DEFAULT_WORKSPACE_ID})["dataSinks"]) < total:
            made = make_sink()
            entry(call, made, "k", 1, "number")
        with counted() as statements:
            response = client.post("/api/v1/data_sinks/list", json={"workspaceId": DEFAULT_WORKSPACE_ID, "includeEntries": True})
        assert response.status_code == 200 and len(response.json()["dataSinks"]) == total
        counts.append(len(statements))
    assert counts[0] == counts[1] <= 4, counts


# ENTRIES


def test_entries_create_get_update_delete(call: Call, sink: Any) -> None:
    made = entry(call, sink, "sum", 3, "number")
    assert (made["dataSinkId"], made["key"], made["value"], made["dataType"]) == (sink["dataSinkId"], "sum", 3, "number")
    key = {"dataSinkId": sink["dataSinkId"], "key": "sum"}
    assert call("data_sinks/entries/get", key) == made

    same_type = call("data_sinks/entries/update", {**key, "value": 4.5})
    assert (same_type["value"], same_type["dataType"], same_type["entryId"]) == (4.5, "number", made["entryId"])
    retyped = call("data_sinks/entries/update", {**key, "value": "four", "dataType": "string"})
    assert (retyped["value"], retyped["dataType"]) == ("four", "string")
    assert call("data_sinks/entries/get", key) == retyped

    call("data_sinks/entries/delete", key, status=204)
    call("data_sinks/entries/get", key, status=404)
    call("data_sinks/entries/delete", key, status=404)


def test_entry_verbs_answer_404_for_an_unknown_sink_or_key(call: Call, sink: Any) -> None:
    unknown_sink = {"dataSinkId": UNKNOWN_ID, "key": "a"}
    assert call("data_sinks/entries/get", unknown_sink, status=404)["message"] == f"Could not find data sink with id {UNKNOWN_ID}"
    call("data_sinks/entries/create", {**unknown_sink, "value": 1, "dataType": "number"}, status=404)
    call("data_sinks/entries/upsert", {**unknown_sink, "value": 1, "dataType": "number"}, status=404)
    unknown_key = {"dataSinkId": sink["dataSinkId"], "key": "nope"}
    missing = call("data_sinks/entries/get", unknown_key, status=404)
    assert missing["message"] == f"Could not find data sink entry with id {sink['dataSinkId']}/nope"
    call("data_sinks/entries/update", {**unknown_key, "value": 1}, status=404)
    call("data_sinks/entries/delete", unknown_key, status=404)


def test_creating_an_existing_key_is_409(call: Call, sink: Any) -> None:
    entry(call, sink, "a", 1, "number")
    conflict = entry(call, sink, "a", 2, "number", status=409)
    assert conflict["message"] == f"the data sink {sink['dataSinkId']} has an entry with key 'a' already"


@pytest.mark.parametrize(
    ("value", "data_type", "got"),
    [
        ("3", "number", "got a string"),
        (True, "number", "got a boolean"),
        (1, "boolean", "got a number"),
        (None, "string", "got null"),
        ({"a": 1}, "string", "got an object"),
        ([1], "boolean", "got an array"),
    ],
)
def test_a_value_must_match_its_type(call: Call, sink: Any, value: Any, data_type: str, got: str) -> None:
    path, message = field_error(entry(call, sink, "a", value, data_type, status=422))
    assert path == "$.value" and message.endswith(got) and f"(dataType {data_type})" in message
    entry(call, sink, "b", 1, "number")
    update = {"dataSinkId": sink["dataSinkId"], "key": "b", "value": "one"}
    assert field_error(call("data_sinks/entries/update", update, status=422))[0] == "$.value"


def test_entry_input_that_does_not_decode_is_422(call: Call, sink: Any) -> None:
    body = {"dataSinkId": sink["dataSinkId"], "key": "a", "value": 1, "dataType": "scalar"}
    assert field_error(call("data_sinks/entries/create", body, status=422))[0] == "$.dataType"
    assert field_error(call("data_sinks/entries/create", {**body, "key": "", "dataType": "json"}, status=422))[0] == "$.key"
    assert field_error(call("data_sinks/entries/get", {"dataSinkId": sink["dataSinkId"]}, status=422))[0] == "$.key"


def test_upsert_creates_then_replaces_one_entry(call: Call, sink: Any) -> None:
    body = {"dataSinkId": sink["dataSinkId"], "key": "a", "value": 1, "dataType": "number"}
    [created] = call("data_sinks/entries/upsert", body)["entries"]
    [replaced] = call("data_sinks/entries/upsert", {**body, "value": "x", "dataType": "string"})["entries"]
    assert (replaced["value"], replaced["dataType"], replaced["entryId"]) == ("x", "string", created["entryId"])
    assert replaced["createdAt"] == created["createdAt"]
    assert call("data_sinks/entries/get", {"dataSinkId": sink["dataSinkId"], "key": "a"}) == replaced


def test_upsert_takes_a_batch_in_one_transaction(call: Call, sink: Any) -> None:
    entry(call, sink, "k1", "old", "string")
    batch = [{"key": f"k{i}", "value": {"id": i}, "dataType": "json"} for i in range(1200)]
    batch.append({"key": "k5", "value": "last wins", "dataType": "string"})
    answered = call("data_sinks/entries/upsert", {"dataSinkId": sink["dataSinkId"], "entries": batch})["entries"]
    assert len(answered) == 1200 and answered[1]["value"] == {"id": 1} and answered[5]["value"] == "last wins"
    listed = call("data_sinks/get", {"dataSinkId": sink["dataSinkId"], "includeEntries": True})["entries"]
    assert len(listed) == 1200 and {e["key"]: e["value"] for e in listed}["k1"] == {"id": 1}

    bad = [{"key": "fine", "value": 1, "dataType": "json"}, {"key": "n", "value": "1", "dataType": "number"}]
    error = call("data_sinks/entries/upsert", {"dataSinkId": sink["dataSinkId"], "entries": bad}, status=422)
    assert field_error(error)[0] == "$.entries[1].value"
    call("data_sinks/entries/get", {"dataSinkId": sink["dataSinkId"], "key": "fine"}, status=404)  # nothing of it was written


@pytest.mark.parametrize(
    ("body", "path"),
    [
        ({}, "$.key"),
        ({"key": "a", "value": 1}, "$.dataType"),
        ({"key": "a", "value": 1, "dataType": "number", "entries": []}, "$.key"),
        ({"key": "a", "value": "1", "dataType": "number"}, "$.value"),
    ],
)
def test_upsert_wants_one_entry_or_a_batch(call: Call, sink: Any, body: dict[str, Any], path: str) -> None:
    error = call("data_sinks/entries/upsert", {"dataSinkId": sink["dataSinkId"], **body}, status=422)
    assert field_error(error)[0] == path


def test_an_empty_batch_writes_nothing(call: Call, sink: Any) -> None:
    assert call("data_sinks/entries/upsert", {"dataSinkId": sink["dataSinkId"], "entries": []}) == {"entries": []}
