"""source_definitions/*, destination_definitions/* and their specifications."""

from __future__ import annotations

from typing import Any

from airpipe.connectors.registry import BUILTIN_DEFINITIONS

# the wire values on purpose: clients keep these ids and repositories, so a change to them must fail here
FAKER_ID = "a3395a42-d499-4316-9233-0451ac0673d1"
LOCAL_JSON_ID = "610eabab-b1f9-4421-9c46-9ff173672120"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"

FAKER = {
    "sourceDefinitionId": FAKER_ID,
    "name": "Faker",
    "dockerRepository": "airpipe/source-faker",
    "dockerImageTag": "0.1.0",
    "documentationUrl": "https://docs.airbyte.com/integrations/sources/faker",
}
LOCAL_JSON = {
    "destinationDefinitionId": LOCAL_JSON_ID,
    "name": "Local JSON",
    "dockerRepository": "airpipe/destination-local-json",
    "dockerImageTag": "0.1.0",
    "documentationUrl": "https://docs.airbyte.com/integrations/destinations/local-json",
}


def builtins(actor_type: str) -> list[dict[str, Any]]:
    """Every built-in definition of a type as the API reads it, by name."""
    key = f"{actor_type}DefinitionId"
    return sorted(
        (
            {
                key: str(b.id),
                "name": b.name,
                "dockerRepository": b.docker_repository,
                "dockerImageTag": b.docker_image_tag,
                "documentationUrl": b.documentation_url,
            }
            for b in BUILTIN_DEFINITIONS
            if b.actor_type == actor_type
        ),
        key=lambda d: d["name"],
    )


def spec_jobs(call: Any, definition_id: str) -> int:
    return call("jobs/list", {"configId": definition_id, "configType": "get_spec"})["totalJobCount"]


# BUILT-INS


def test_the_built_ins_are_seeded(call: Any) -> None:
    assert FAKER in builtins("source") and LOCAL_JSON in builtins("destination")
    assert call("source_definitions/list") == {"sourceDefinitions": builtins("source")}
    assert call("destination_definitions/list") == {"destinationDefinitions": builtins("destination")}
    assert call("source_definitions/get", {"sourceDefinitionId": FAKER_ID}) == FAKER
    assert call("destination_definitions/get", {"destinationDefinitionId": LOCAL_JSON_ID}) == LOCAL_JSON


def test_reads_ignore_a_workspace_id(call: Any) -> None:
    body = {"sourceDefinitionId": FAKER_ID, "workspaceId": "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"}
    assert call("source_definitions/get", body) == FAKER


def test_unknown_definitions_are_404(call: Any) -> None:
    assert call("source_definitions/get", {"sourceDefinitionId": UNKNOWN_ID}, status=404) == {
        "message": f"Could not find source_definition with id {UNKNOWN_ID}",
        "id": UNKNOWN_ID,
    }
    assert call("destination_definitions/get", {"destinationDefinitionId": UNKNOWN_ID}, status=404) == {
        "message": f"Could not find destination_definition with id {UNKNOWN_ID}",
        "id": UNKNOWN_ID,
    }
    for path in ["source_definition_specifications/get", "source_definitions/update"]:
        call(path, {"sourceDefinitionId": UNKNOWN_ID, "dockerImageTag": "2"}, status=404)
    for path in ["destination_definition_specifications/get", "destination_definitions/update"]:
        call(path, {"destinationDefinitionId": UNKNOWN_ID, "dockerImageTag": "2"}, status=404)


def test_a_source_definition_is_not_a_destination_definition(call: Any) -> None:
    error = call("destination_definitions/get", {"destinationDefinitionId": FAKER_ID}, status=404)
    assert error["message"] == f"Could not find destination_definition with id {FAKER_ID}"
    call("source_definitions/get", {"sourceDefinitionId": LOCAL_JSON_ID}, status=404)


# CREATE AND UPDATE


def test_create_and_update_a_source_definition(call: Any) -> None:
    created = call("source_definitions/create", {"name": "Acme", "dockerRepository": "acme/source-acme", "dockerImageTag": "1.0"})
    assert created == {
        "sourceDefinitionId": created["sourceDefinitionId"],
        "name": "Acme",
        "dockerRepository": "acme/source-acme",
        "dockerImageTag": "1.0",
    }
    listed = call("source_definitions/list")["sourceDefinitions"]
    assert listed == sorted([created, *builtins("source")], key=lambda d: d["name"])  # by name
    updated = call("source_definitions/update", {"sourceDefinitionId": created["sourceDefinitionId"], "dockerImageTag": "1.1"})
    assert updated == {**created, "dockerImageTag": "1.1"}
    assert call("source_definitions/get", {"sourceDefinitionId": created["sourceDefinitionId"]}) == updated


def test_create_and_update_a_destination_definition(call: Any) -> None:
    body = {"name": "Zeta", "dockerRepository": "zeta/destination-zeta", "dockerImageTag": "2", "documentationUrl": "https://z.example"}
    created = call("destination_definitions/create", body)
    assert created == {"destinationDefinitionId": created["destinationDefinitionId"], **body}
    listed = call("destination_definitions/list")["destinationDefinitions"]
    assert listed == sorted([created, *builtins("destination")], key=lambda d: d["name"])  # by name
    updated = call("destination_definitions/update", {"destinationDefinitionId": created["destinationDefinitionId"], "dockerImageTag": "3"})
    assert updated["dockerImageTag"] == "3"


def test_create_needs_every_required_field(call: Any) -> None:
    error = call("source_definitions/create", {"name": "Acme", "dockerRepository": "acme/source-acme"}, status=422)
    assert error["validationErrors"] == [{"propertyPath": "$.dockerImageTag", "message": "is required"}]
    error = call("destination_definitions/create", {"name": "Zeta", "dockerImageTag": "1"}, status=422)
    assert error["validationErrors"] == [{"propertyPath": "$.dockerRepository", "message": "is required"}]
    error = call("destination_definitions/update", {"destinationDefinitionId": LOCAL_JSON_ID}, status=422)
    assert error["validationErrors"] == [{"propertyPath": "$.dockerImageTag", "message": "is required"}]


# SPECIFICATIONS


def test_faker_specification(call: Any) -> None:
    spec = call("source_definition_specifications/get", {"sourceDefinitionId": FAKER_ID})
    assert spec["sourceDefinitionId"] == FAKER_ID
    assert spec["documentationUrl"] == "https://docs.airbyte.com/integrations/sources/faker"
    properties = spec["connectionSpecification"]["properties"]
    assert properties["count"]["type"] == "integer"
    assert properties["seed"]["type"] == "integer"


def test_local_json_specification(call: Any) -> None:
    spec = call("destination_definition_specifications/get", {"destinationDefinitionId": LOCAL_JSON_ID})
    assert spec["destinationDefinitionId"] == LOCAL_JSON_ID
    assert spec["connectionSpecification"]["required"] == ["destination_path"]
    assert spec["supportsIncremental"] is True
    assert spec["supportedDestinationSyncModes"] == ["overwrite", "append", "append_dedup"]


def test_the_spec_is_read_once_per_tag(call: Any) -> None:
    body = {"sourceDefinitionId": FAKER_ID}
    first = call("source_definition_specifications/get", body)
    assert call("source_definition_specifications/get", body) == first
    assert spec_jobs(call, FAKER_ID) == 1
    call("source_definitions/update", {**body, "dockerImageTag": "0.2.0"})
    call("source_definition_specifications/get", body)
    assert spec_jobs(call, FAKER_ID) == 2


def test_the_spec_of_a_connector_that_is_not_installed_is_422(call: Any) -> None:
    definition = call("source_definitions/create", {"name": "Nothing", "dockerRepository": "airbyte/source-nothing", "dockerImageTag": "1"})
    error = call("source_definition_specifications/get", definition, status=422)
    [job] = call("jobs/list", {"configId": definition["sourceDefinitionId"], "configType": "get_spec"})["jobs"]
    assert job["job"]["status"] == "failed"
    assert error == {
        "message": "Reading the spec of airbyte/source-nothing:1 failed: connector airbyte/source-nothing is not installed: "
        "run `pip install airbyte-source-nothing` or `airpipe connectors install airbyte-source-nothing` "
        f"(job {job['job']['id']})",
        "validationErrors": [],
    }
