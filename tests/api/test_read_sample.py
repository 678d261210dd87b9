"""sources/read_sample and scheduler/sources/read_sample: a few records of one stream, read now by
the real Faker source, answered, and kept nowhere: not in the job row, not in its log lines."""

from __future__ import annotations

from typing import Any

from airpipe import models

Call = Any
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
FAKER_ID = "a3395a42-d499-4316-9233-0451ac0673d1"


def test_a_saved_source_answers_a_sample_and_keeps_none_of_it(call: Call, create_source: Call) -> None:
    source = create_source(50)
    sample = call("sources/read_sample", {"sourceId": source["sourceId"], "streamName": "users", "limit": 3})
    assert sample["streamName"] == "users" and [r["id"] for r in sample["records"]] == [1, 2, 3]
    assert {"email", "updated_at"} <= set(sample["records"][0])
    with models.db.connection_context():
        [job] = models.Job.select().where(models.Job.config_type == "read_sample")
        assert job.status == "succeeded" and job.output is None
        lines = [line.message for line in models.LogLine.select()]
    emails = {r["email"] for r in sample["records"]}
    assert not any(email in line for line in lines for email in emails)
    assert any("read 3 sample records of stream users" in line for line in lines)


def test_an_unsaved_config_answers_a_sample(call: Call, cached_specs: None) -> None:
    body = {"sourceDefinitionId": FAKER_ID, "connectionConfiguration": {"count": 2, "seed": 1}, "streamName": "products", "limit": 10}
    sample = call("scheduler/sources/read_sample", body)
    assert sample["streamName"] == "products" and 0 < len(sample["records"]) <= 10
    invalid = call("scheduler/sources/read_sample", {**body, "connectionConfiguration": {"count": "many"}}, status=422)
    assert "count" in invalid["message"]


def test_a_sample_names_what_is_wrong(call: Call, create_source: Call) -> None:
    source = create_source(5)
    unknown = call("sources/read_sample", {"sourceId": source["sourceId"], "streamName": "nope"}, status=422)
    assert unknown["validationErrors"][0]["propertyPath"] == "$.streamName"
    too_many = call("sources/read_sample", {"sourceId": source["sourceId"], "streamName": "users", "limit": 1001}, status=422)
    assert too_many["validationErrors"][0]["propertyPath"] == "$.limit"
    call("sources/read_sample", {"sourceId": UNKNOWN_ID, "streamName": "users"}, status=404)
