"""services/secrets.py: which values a connector spec marks secret, masking them, and keeping
the stored value where an update sends the mask back."""

from __future__ import annotations

from typing import Any

import pytest

from airpipe.services.secrets import MASK, keep_masked, mask, mask_url, secret_paths, secret_values


def spec(**properties: Any) -> dict[str, Any]:
    """A connector's `spec` output around a connectionSpecification with these properties."""
    return {"connectionSpecification": {"type": "object", "properties": properties}}


SECRET = {"type": "string", "airbyte_secret": True}
PLAIN = {"type": "string"}

NESTED = spec(
    host=PLAIN,
    password=SECRET,
    ssl={"type": "object", "properties": {"mode": PLAIN, "client": {"type": "object", "properties": {"key": SECRET}}}},
    tunnel={
        "type": "object",
        "oneOf": [
            {"properties": {"method": {"const": "none"}}},
            {"properties": {"method": {"const": "password"}, "tunnel_password": SECRET}},
        ],
    },
    auth={"anyOf": [{"properties": {"token": SECRET}}], "allOf": [{"properties": {"refresh": SECRET, "client_id": PLAIN}}]},
)


# FINDING SECRETS


def test_secret_paths_at_any_depth_and_through_combinators() -> None:
    assert secret_paths(NESTED) == {
        ("password",),
        ("ssl", "client", "key"),
        ("tunnel", "tunnel_password"),
        ("auth", "token"),
        ("auth", "refresh"),
    }


def test_secret_paths_of_a_spec_without_secrets() -> None:
    assert secret_paths(spec(host=PLAIN)) == set()
    assert secret_paths({}) == set()


def test_only_a_true_airbyte_secret_counts() -> None:
    assert secret_paths(spec(a={"type": "string", "airbyte_secret": False}, b={"type": "string", "airbyte_secret": "yes"})) == set()


def test_array_items_share_their_parents_path() -> None:
    specification = spec(keys={"type": "array", "items": SECRET}, hosts={"type": "array", "items": {"properties": {"pw": SECRET}}})
    assert secret_paths(specification) == {("keys",), ("hosts", "pw")}


# MASKING


def test_mask_replaces_every_secret_and_nothing_else() -> None:
    config = {
        "host": "db",
        "password": "p",
        "ssl": {"mode": "verify", "client": {"key": "k"}},
        "tunnel": {"method": "password", "tunnel_password": "t"},
        "auth": {"token": "tok", "refresh": "r", "client_id": "c"},
    }
    assert mask(config, NESTED) == {
        "host": "db",
        "password": MASK,
        "ssl": {"mode": "verify", "client": {"key": MASK}},
        "tunnel": {"method": "password", "tunnel_password": MASK},
        "auth": {"token": MASK, "refresh": MASK, "client_id": "c"},
    }
    assert config["password"] == "p"  # a copy: the stored config is untouched


def test_mask_leaves_absent_secrets_absent() -> None:
    assert mask({"host": "db", "tunnel": {"method": "none"}}, NESTED) == {"host": "db", "tunnel": {"method": "none"}}


def test_mask_masks_every_element_of_an_array() -> None:
    specification = spec(
        keys={"type": "array", "items": SECRET}, hosts={"type": "array", "items": {"properties": {"pw": SECRET, "name": PLAIN}}}
    )
    config = {"keys": ["a", "b"], "hosts": [{"name": "x", "pw": "1"}, {"name": "y", "pw": "2"}]}
    assert mask(config, specification) == {
        "keys": [MASK, MASK],
        "hosts": [{"name": "x", "pw": MASK}, {"name": "y", "pw": MASK}],
    }


def test_mask_masks_secrets_of_every_type() -> None:
    specification = spec(port={"type": "integer", "airbyte_secret": True}, flag={"type": "boolean", "airbyte_secret": True})
    assert mask({"port": 5432, "flag": False, "other": 1}, specification) == {"port": MASK, "flag": MASK, "other": 1}


# KEEPING MASKED VALUES ON UPDATE


def test_keep_masked_restores_the_stored_secret_at_any_depth() -> None:
    old = {"password": "p", "ssl": {"client": {"key": "k"}}, "tunnel": {"method": "password", "tunnel_password": "t"}}
    new = {"password": MASK, "ssl": {"client": {"key": MASK}}, "tunnel": {"method": "password", "tunnel_password": MASK}, "host": "h"}
    assert keep_masked(new, old, NESTED) == {**old, "host": "h"}


def test_keep_masked_takes_new_values() -> None:
    old = {"password": "p", "ssl": {"client": {"key": "k"}}}
    assert keep_masked({"password": "new", "ssl": {"client": {"key": MASK}}}, old, NESTED) == {
        "password": "new",
        "ssl": {"client": {"key": "k"}},
    }


def test_keep_masked_without_a_stored_value_keeps_the_mask() -> None:
    assert keep_masked({"password": MASK}, {}, NESTED) == {"password": MASK}


def test_the_mask_only_means_keep_where_the_spec_says_secret() -> None:
    assert keep_masked({"host": MASK}, {"host": "db"}, NESTED) == {"host": MASK}


ARRAY_SPEC = spec(keys={"type": "array", "items": SECRET}, hosts={"type": "array", "items": {"properties": {"pw": SECRET, "name": PLAIN}}})
ARRAY_OLD = {"keys": ["a", "b"], "hosts": [{"name": "x", "pw": "1"}, {"name": "y", "pw": "2"}]}


def test_keep_masked_restores_secrets_inside_arrays_of_objects() -> None:
    new = {"hosts": [{"name": "x", "pw": MASK}, {"name": "y", "pw": MASK}]}
    assert keep_masked(new, ARRAY_OLD, ARRAY_SPEC) == {"hosts": ARRAY_OLD["hosts"]}


def test_keep_masked_restores_an_array_of_secrets_element_by_element() -> None:
    assert keep_masked({"keys": [MASK, MASK]}, ARRAY_OLD, ARRAY_SPEC) == {"keys": ["a", "b"]}


def test_round_trip_of_a_read_back_config_is_the_stored_config() -> None:
    old = {"host": "db", "password": "p", "tunnel": {"method": "password", "tunnel_password": "t"}, "auth": {"token": "x"}}
    assert keep_masked(mask(old, NESTED), old, NESTED) == old


# SCRUBBING LOGS


def test_secret_values_lists_every_secret_as_a_string() -> None:
    config = {"host": "db", "password": "p", "ssl": {"client": {"key": "k"}}, "auth": {"token": 42, "refresh": ""}}
    assert sorted(secret_values(config, NESTED)) == ["42", "k", "p"]
    assert sorted(secret_values(ARRAY_OLD, ARRAY_SPEC)) == ["1", "2", "a", "b"]


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://hooks.slack.com/services/T0123/B0456/XXXXXXXX", "https://hooks.slack.com/services/**********"),
        ("https://discord.com/api/webhooks/123/token", "https://discord.com/api/**********"),
        ("https://example.org/hook", "https://example.org/**********"),  # a lone segment may be the token
        ("https://user:pw@example.org:8443/a/b?token=abc#frag", "https://**********@example.org:8443/a/**********?**********#**********"),
        ("http://[::1]:8000/", "http://[::1]:8000/"),
        ("http://example.org", "http://example.org"),
    ],
)
def test_a_url_is_masked_but_for_its_scheme_host_and_first_path_segment(url: str, shown: str) -> None:
    assert mask_url(url) == shown
