"""workspaces/*: the seeded default workspace, create (with a unique slug), get, update, delete."""

from __future__ import annotations

from typing import Any

DEFAULT_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def test_the_default_workspace_exists_from_the_start(call: Any) -> None:
    [default] = call("workspaces/list")["workspaces"]
    assert default["workspaceId"] == DEFAULT_ID
    assert (default["name"], default["slug"]) == ("default", "default")
    assert (default["initialSetupComplete"], default["onboardingComplete"]) == (False, False)
    assert call("workspaces/get", {"workspaceId": DEFAULT_ID}) == default
    assert call("workspaces/get_by_slug", {"slug": "default"}) == default


def test_create_derives_a_unique_slug_from_the_name(call: Any) -> None:
    first = call("workspaces/create", {"name": "Data Team!", "email": "ada@example.com", "news": True})
    second = call("workspaces/create", {"name": "data team"})
    assert first["slug"] == "data-team"
    assert second["slug"] == "data-team-2"
    assert first["name"] == "Data Team!"
    assert first["email"] == "ada@example.com"
    assert (first["news"], first["anonymousDataCollection"], first["securityUpdates"]) == (True, False, False)
    assert first["customerId"] != second["customerId"]
    assert {w["slug"] for w in call("workspaces/list")["workspaces"]} == {"default", "data-team", "data-team-2"}


def test_a_name_without_letters_gets_a_generic_slug(call: Any) -> None:
    assert call("workspaces/create", {"name": "!!!"})["slug"] == "workspace"


def test_create_needs_a_name(call: Any) -> None:
    error = call("workspaces/create", {"email": "ada@example.com"}, status=422)
    assert error["validationErrors"] == [{"propertyPath": "$.name", "message": "is required"}]


def test_get_and_get_by_slug_of_unknown_workspaces_are_404(call: Any) -> None:
    assert call("workspaces/get", {"workspaceId": UNKNOWN_ID}, status=404) == {
        "message": f"Could not find workspace with id {UNKNOWN_ID}",
        "id": UNKNOWN_ID,
    }
    assert call("workspaces/get_by_slug", {"slug": "nope"}, status=404) == {
        "message": "Could not find workspace with id nope",
        "id": "nope",
    }


def test_update_sets_the_flags_and_keeps_what_is_not_sent(call: Any) -> None:
    workspace = call("workspaces/create", {"name": "team", "email": "ada@example.com", "securityUpdates": True})
    body = {
        "workspaceId": workspace["workspaceId"],
        "initialSetupComplete": True,
        "onboardingComplete": True,
        "anonymousDataCollection": True,
        "news": True,
    }
    updated = call("workspaces/update", body)
    flags = {"initialSetupComplete": True, "onboardingComplete": True, "anonymousDataCollection": True, "news": True}
    assert updated == {**workspace, **flags, "updatedAt": updated["updatedAt"], "updatedBy": "anonymous"}
    assert workspace["createdBy"] == "anonymous" and updated["updatedAt"] >= workspace["createdAt"]
    assert call("workspaces/get", {"workspaceId": workspace["workspaceId"]}) == updated


def test_update_errors(call: Any) -> None:
    flags = {"initialSetupComplete": True, "onboardingComplete": True, "anonymousDataCollection": False, "news": False}
    assert call("workspaces/update", {"workspaceId": UNKNOWN_ID, **flags}, status=404)["id"] == UNKNOWN_ID
    error = call("workspaces/update", {"workspaceId": DEFAULT_ID, "news": True}, status=422)
    assert error["validationErrors"][0]["propertyPath"] == "$.initialSetupComplete"


def test_delete_hides_the_workspace_and_frees_its_slug(client: Any, call: Any) -> None:
    workspace = call("workspaces/create", {"name": "gone"})
    response = client.post("/api/v1/workspaces/delete", json={"workspaceId": workspace["workspaceId"]})
    assert (response.status_code, response.content) == (204, b"")
    assert call("workspaces/get", {"workspaceId": workspace["workspaceId"]}, status=404)["id"] == workspace["workspaceId"]
    assert call("workspaces/get_by_slug", {"slug": "gone"}, status=404)
    assert [w["workspaceId"] for w in call("workspaces/list")["workspaces"]] == [DEFAULT_ID]
    assert call("sources/list", {"workspaceId": workspace["workspaceId"]}, status=404)["message"] == (
        f"Could not find workspace with id {workspace['workspaceId']}"
    )
    assert call("workspaces/create", {"name": "gone"})["slug"] == "gone"
    call("workspaces/delete", {"workspaceId": workspace["workspaceId"]}, status=404)


def test_the_default_workspace_cannot_be_deleted(call: Any) -> None:
    assert call("workspaces/delete", {"workspaceId": DEFAULT_ID}, status=409) == {"message": "the default workspace cannot be deleted"}
    assert call("workspaces/get", {"workspaceId": DEFAULT_ID})["slug"] == "default"
