"""Issue 9, item 8: a body over AIRPIPE_MAX_BODY_BYTES is refused with 413 before it is read, by
a real `airpipe serve` (uvicorn), whether it declares its length or streams in chunks; the answer
closes the connection, and bodies under the limit keep the connection alive."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from suitekit import free_port

LIMIT = 4096


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    directory = tmp_path_factory.mktemp("serve")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRPIPE_")}
    env.update(AIRPIPE_PORT=str(port), AIRPIPE_DATA_DIR=str(directory / "data"), AIRPIPE_MAX_BODY_BYTES=str(LIMIT))
    airpipe = str(Path(sys.executable).parent / "airpipe")
    with (directory / "serve.log").open("ab") as log:
        server = subprocess.Popen([airpipe, "serve"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert server.poll() is None, (directory / "serve.log").read_text()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)  # polls until the deadline above
        yield port
    finally:
        server.terminate()
        server.wait(15)


def workspaces_list(connection: http.client.HTTPConnection, body: bytes | Iterator[bytes], **kwargs: object) -> http.client.HTTPResponse:
    connection.request("POST", "/api/v1/workspaces/list", body=body, headers={"Content-Type": "application/json"}, **kwargs)  # type: ignore[arg-type]
    return connection.getresponse()


def padded(size: int) -> bytes:
    """A valid JSON body of exactly ``size`` bytes."""
    return b"{" + b" " * (size - 2) + b"}"


def test_a_body_at_the_limit_is_served_and_keeps_the_connection(port: int) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for _ in range(2):  # the same socket serves both
        response = workspaces_list(connection, padded(LIMIT))
        assert response.status == 200
        assert "workspaces" in json.loads(response.read())
        assert not response.will_close
    connection.close()


def test_a_declared_oversize_body_is_413_and_closes_the_connection(port: int) -> None:
    # only the headers are sent: the server must answer without waiting for the body
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/workspaces/list HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {50 * 1024 * 1024}\r\n\r\n".encode()
        )
        answer = b""
        while chunk := sock.recv(65536):  # b"" once the server closed the connection
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 413"), answer
    assert b"connection: close" in head.lower()
    assert json.loads(body) == {"message": f"the request body is larger than {LIMIT} bytes (AIRPIPE_MAX_BODY_BYTES)"}


def test_a_chunked_oversize_body_is_413(port: int) -> None:
    def chunks() -> Iterator[bytes]:
        yield b"{"
        for _ in range(2 * LIMIT // 512):
            yield b" " * 512
        yield b"}"

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    response = workspaces_list(connection, chunks(), encode_chunked=True)
    assert response.status == 413
    assert response.will_close
    assert "AIRPIPE_MAX_BODY_BYTES" in json.loads(response.read())["message"]
    connection.close()
