"""operations/list: empty until operations exist, but only for a connection that exists."""

from __future__ import annotations

from typing import Any

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


def test_operations_of_a_connection_are_empty(call: Any, connection: Any) -> None:
    assert call("operations/list", {"connectionId": connection["connectionId"]}) == {"operations": []}


def test_operations_of_an_unknown_connection_are_404(call: Any) -> None:
    assert call("operations/list", {"connectionId": UNKNOWN_ID}, status=404) == {
        "message": f"Could not find connection with id {UNKNOWN_ID}",
        "id": UNKNOWN_ID,
    }


def test_operations_list_needs_a_connection_id(call: Any) -> None:
    assert call("operations/list", {}, status=422)["validationErrors"] == [{"propertyPath": "$.connectionId", "message": "is required"}]
