"""Issue 9, item 4: a record whose text is not valid Unicode fails the sync, naming its stream and
field; it never vanishes from a sync that says it succeeded.

A real sync through the in-process API: ``source-scripted`` (a real subprocess, found on PATH as a
third-party connector is) prints such a record among good ones, into a real Local JSON process.
The record is printed as ``json.dumps`` prints it (the sync engine reads that line by itself) and
as compact JSON (the engine passes it on unread, in a run of records, and the destination is the
one to find it); its bad text is the escape of a lone surrogate or a byte that is not UTF-8.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from confinement_kit import synckit
from starlette.testclient import TestClient

from airpipe.settings import Settings

MESSAGE = "a record of stream '{stream}' holds text that is not valid Unicode ({what}) in field 'note': it cannot be passed on"
WHAT = {"escaped": "a lone surrogate", "bytes": "bytes that are not UTF-8"}


@pytest.fixture
def api(client: TestClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    bin_dir = synckit().install_programs(tmp_path / "bin")
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")

    def call(path: str, body: Any = None, *, status: int = 200) -> Any:
        response = client.post(f"/api/v1/{path}", json={} if body is None else body)
        assert response.status_code == status, response.text
        return response.json() if response.content else None

    return synckit().Builder(call)


@pytest.mark.parametrize("prefix", ["", "p_"], ids=["", "renamed"])
@pytest.mark.parametrize("compact", [False, True], ids=["per-line", "block"])
@pytest.mark.parametrize("bad_text", ["escaped", "bytes"])
def test_a_record_with_text_that_is_not_unicode_fails_the_sync(
    api: Any, settings: Settings, bad_text: str, compact: bool, prefix: str
) -> None:
    """With a prefix the engine rewrites each record's stream (one it reads alone is decoded for
    it); the destination, which finds the record in a run the engine passed on, knows the stream
    by its new name."""
    kit = synckit()
    out = settings.local_root / "out" / f"{prefix}items.jsonl"
    connection = api.connection(api.scripted(records=5), api.local_json(), kit.items_catalog(), prefix=prefix)
    assert api.sync(connection)["job"]["status"] == "succeeded"
    before = out.read_bytes()

    api.update_source(api.call("sources/get", {"sourceId": connection["sourceId"]}), bad_text=bad_text, compact=compact, version=2)
    info = api.sync(connection)

    assert info["job"]["status"] == "failed", info
    message = MESSAGE.format(stream=f"{prefix}items" if compact else "items", what=WHAT[bad_text])
    assert kit.failure(info)["externalMessage"].endswith(message), kit.failure(info)
    assert out.read_bytes() == before  # the overwrite committed nothing: the last sync's data stays
    assert [p.name for p in out.parent.iterdir()] == [out.name]  # no temporary file left
