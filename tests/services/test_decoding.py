"""api/decoding.py: request bodies to Structs, and errors that name the path and quote the value."""

from __future__ import annotations

import uuid

import pytest

from airpipe.api.decoding import decode_body
from airpipe.errors import InvalidInput
from airpipe.schemas.base import Base
from airpipe.schemas.connections import ConnectionCreate, ConnectionUpdate
from airpipe.schemas.jobs import JobListRequestBody
from airpipe.schemas.workspaces import WorkspaceIdRequestBody

ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"


def error_of(body: bytes, request_type: type | None) -> tuple[str, str, object]:
    with pytest.raises(InvalidInput) as raised:
        decode_body(body, request_type)
    [error] = raised.value.errors
    assert raised.value.message == f"{error.path}: {error.message}"
    return error.path, error.message, error.value


def test_a_valid_body_becomes_its_struct() -> None:
    assert decode_body(b'{"workspaceId": "%s", "extra": [1]}' % ID.encode(), WorkspaceIdRequestBody) == WorkspaceIdRequestBody(
        uuid.UUID(ID)
    )


@pytest.mark.parametrize("body", [b"", b"  \n", b"{}", b"[1]", b'"x"'])
def test_verbs_without_input_take_any_json_or_nothing(body: bytes) -> None:
    assert decode_body(body, None) is None


def test_an_empty_body_is_an_empty_object() -> None:
    assert error_of(b"", WorkspaceIdRequestBody) == ("$.workspaceId", "is required", None)


def test_malformed_json() -> None:
    assert error_of(b"{", None) == ("$", "Malformed JSON: Input data was truncated", None)
    assert error_of(b"{'single': 1}", WorkspaceIdRequestBody)[0] == "$"


def test_not_an_object() -> None:
    assert error_of(b"[1, 2]", WorkspaceIdRequestBody) == ("$", "Expected a JSON object, got list", [1, 2])


def test_wrong_type_at_the_top() -> None:
    assert error_of(b'{"workspaceId": 7}', WorkspaceIdRequestBody) == ("$.workspaceId", "Expected `uuid`, got `int`", 7)


def test_wrong_type_in_a_nested_object() -> None:
    body = b'{"connectionId": "%s", "status": "active", "schedule": {"units": "2", "timeUnit": "hours"}}' % ID.encode()
    assert error_of(body, ConnectionUpdate) == ("$.schedule.units", "Expected `int`, got `str`", "2")


def test_wrong_value_inside_an_array() -> None:
    body = (
        b'{"sourceId": "%s", "destinationId": "%s", "status": "active", "syncCatalog": {"streams": ['
        b'{"stream": {"name": "a"}, "config": {"syncMode": "full_refresh", "destinationSyncMode": "append"}},'
        b'{"stream": {"name": "b"}, "config": {"syncMode": "full_refresh", "destinationSyncMode": "merge"}}]}}'
    ) % (ID.encode(), ID.encode())
    assert error_of(body, ConnectionCreate) == (
        "$.syncCatalog.streams[1].config.destinationSyncMode",
        "Invalid enum value 'merge'",
        "merge",
    )


def test_missing_field_inside_an_array() -> None:
    body = b'{"sourceId": "%s", "destinationId": "%s", "status": "active", "syncCatalog": {"streams": [{"stream": {"name": "a"}}]}}' % (
        ID.encode(),
        ID.encode(),
    )
    assert error_of(body, ConnectionCreate) == ("$.syncCatalog.streams[0].config", "is required", None)


class Window(Base):
    start: int
    end: int

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise ValueError("end is before start")


def test_a_cross_field_check_quotes_the_object_it_failed_on() -> None:
    assert error_of(b'{"start": 2, "end": 1}', Window) == ("$", "end is before start", {"start": 2, "end": 1})


def test_a_choice_of_fields_is_named_with_the_missing_ones_all_at_once() -> None:
    assert error_of(b'{"configId": "x"}', JobListRequestBody) == ("$.configTypes", "one of configType or configTypes is required", None)
    with pytest.raises(InvalidInput) as raised:
        decode_body(b'{"configTypes": []}', JobListRequestBody)
    assert [(e.path, e.message) for e in raised.value.errors] == [
        ("$.configId", "is required"),
        ("$.configTypes", "one of configType or configTypes is required"),
    ]


def test_a_constraint_names_its_field() -> None:
    body = b'{"configId": "x", "configType": "sync", "pagination": {"pageSize": 0}}'
    path, message, value = error_of(body, JobListRequestBody)
    assert (path, value) == ("$.pagination.pageSize", 0)
    assert message == "Expected `int` >= 1"


def test_nul_characters_are_refused_wherever_they_are() -> None:
    body = b'{"workspaceId": "%s", "deep": {"list": ["ok", "a\\u0000b"]}}' % ID.encode()
    assert error_of(body, WorkspaceIdRequestBody) == ("$.deep.list[1]", "must not contain NUL (\\u0000) characters", "a\\u0000b")
