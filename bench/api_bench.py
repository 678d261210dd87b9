"""How fast the API answers, against a bare Starlette app on the same uvicorn in the same run.

    python bench/api_bench.py [--connections 1000] [--seconds 5]

Starts an embedded `airpipe serve` (SQLite, in-process worker) and a bare Starlette app that
answers every POST with the bytes of a real `connections/get` response, then measures:

- `connections/get` throughput with 8 connections in flight (wrk when installed, else a Python
  client), and its ratio to the bare app's;
- `connections/create` per second from one client, with a syncCatalog given and without one;
- `connections/list` and `web_backend/connections/list` at ``--connections`` connections: the
  whole list, and a page of 100 (``pagination``), median of several requests.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

FAKER = "a3395a42-d499-4316-9233-0451ac0673d1"
LOCAL_JSON = "610eabab-b1f9-4421-9c46-9ff173672120"

BARE_APP = textwrap.dedent(
    """
    import sys
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    BODY = open(sys.argv[2], "rb").read()

    async def answer(request):
        await request.body()
        return Response(BODY, media_type="application/json")

    app = Starlette(routes=[Route("/{path:path}", answer, methods=["POST"])])
    import uvicorn
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
    """
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"a server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("a server did not start")


@contextmanager
def started(command: list[str], port: int, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_listening(port, process)
        yield process
    finally:
        process.terminate()
        process.wait(15)


class Client:
    """One keep-alive connection posting JSON."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def post(self, path: str, body: object) -> object:
        try:
            response = self._send(path, body)
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            self.connection.close()  # the server closed the idle keep-alive connection: open another
            response = self._send(path, body)
        payload = response.read()
        if response.status != 200:
            raise SystemExit(f"{path}: {response.status} {payload[:500]!r}")
        return json.loads(payload)

    def _send(self, path: str, body: object) -> http.client.HTTPResponse:
        self.connection.request("POST", f"/api/v1/{path}", body=json.dumps(body), headers={"Content-Type": "application/json"})
        return self.connection.getresponse()

    def timed(self, path: str, body: object, repeat: int) -> float:
        """Median milliseconds of ``repeat`` requests."""
        spent = []
        for _ in range(repeat):
            started = time.perf_counter()
            self.post(path, body)
            spent.append((time.perf_counter() - started) * 1000)
        return statistics.median(spent)


def throughput(port: int, path: str, body: bytes, seconds: float, directory: Path) -> float:
    """Requests per second with 8 connections in flight."""
    if shutil.which("wrk") is None:
        return _python_throughput(port, path, body, seconds)
    script = directory / "post.lua"
    script.write_text(f'wrk.method = "POST"\nwrk.body = {json.dumps(body.decode())}\nwrk.headers["Content-Type"] = "application/json"\n')
    url = f"http://127.0.0.1:{port}/api/v1/{path}"
    output = subprocess.run(
        ["wrk", "-t2", "-c8", f"-d{seconds:g}s", "-s", str(script), url], capture_output=True, text=True, check=True
    ).stdout
    if "Non-2xx" in output:
        raise SystemExit(f"wrk saw errors:\n{output}")
    return float(next(line for line in output.splitlines() if line.startswith("Requests/sec:")).split()[1])


def _python_throughput(port: int, path: str, body: bytes, seconds: float) -> float:
    import threading

    done = [0]
    stop = time.monotonic() + seconds

    def run() -> None:
        client = Client(port)
        while time.monotonic() < stop:
            client.post(path, json.loads(body))
            done[0] += 1

    threads = [threading.Thread(target=run) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return done[0] / seconds


def rate(run: object, seconds: float) -> float:
    count, started = 0, time.monotonic()
    while time.monotonic() - started < seconds:
        run()  # type: ignore[operator]
        count += 1
    return count / (time.monotonic() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=1000, help="connections in the workspace for the list figures")
    parser.add_argument("--seconds", type=float, default=5, help="length of each throughput run")
    args = parser.parse_args()
    directory = Path(tempfile.mkdtemp(prefix="airpipe-api-bench-"))
    airpipe_port, bare_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRPIPE_")}
    env.update(AIRPIPE_DATA_DIR=str(directory / "data"), AIRPIPE_PORT=str(airpipe_port))
    airpipe = str(Path(sys.executable).parent / "airpipe")
    try:
        with started([airpipe, "serve"], airpipe_port, env, directory / "serve.log"):
            client = Client(airpipe_port)
            workspace = client.post("workspaces/list", {})["workspaces"][0]["workspaceId"]  # type: ignore[index]
            source = client.post(
                "sources/create",
                {"workspaceId": workspace, "sourceDefinitionId": FAKER, "name": "faker", "connectionConfiguration": {"count": 10}},
            )["sourceId"]  # type: ignore[index]
            destination = client.post(
                "destinations/create",
                {
                    "workspaceId": workspace,
                    "destinationDefinitionId": LOCAL_JSON,
                    "name": "files",
                    "connectionConfiguration": {"destination_path": "/local/bench"},
                },
            )["destinationId"]  # type: ignore[index]
            catalog = client.post("sources/discover_schema", {"sourceId": source})["catalog"]  # type: ignore[index]
            create = {"sourceId": source, "destinationId": destination, "status": "inactive", "syncCatalog": catalog}
            first = client.post("connections/create", create)
            get_body = json.dumps({"connectionId": first["connectionId"]}).encode()  # type: ignore[index]
            sample = directory / "get.json"
            sample.write_bytes(client._send("connections/get", json.loads(get_body)).read())

            bare_script = directory / "bare.py"
            bare_script.write_text(BARE_APP)
            with started([sys.executable, str(bare_script), str(bare_port), str(sample)], bare_port, env, directory / "bare.log"):
                bare = throughput(bare_port, "connections/get", get_body, args.seconds, directory)
            ours = throughput(airpipe_port, "connections/get", get_body, args.seconds, directory)
            print(f"connections/get ({sample.stat().st_size / 1024:.1f} KB), 8 in flight:")
            print(f"  bare starlette {bare:8.0f} req/s")
            print(f"  airpipe        {ours:8.0f} req/s   = {ours / bare:.0%} of bare")

            with_catalog = rate(lambda: client.post("connections/create", create), 3)
            no_catalog = {k: v for k, v in create.items() if k != "syncCatalog"}
            without = rate(lambda: client.post("connections/create", no_catalog), 3)
            print(f"connections/create, one client: {with_catalog:.0f}/s with a syncCatalog, {without:.0f}/s without")

            while len(client.post("connections/list", {"workspaceId": workspace})["connections"]) < args.connections:  # type: ignore[index]
                for _ in range(100):
                    client.post("connections/create", create)
            count = len(client.post("connections/list", {"workspaceId": workspace})["connections"])  # type: ignore[index]
            whole = {"workspaceId": workspace}
            page = {"workspaceId": workspace, "pagination": {"pageSize": 100, "rowOffset": 0}}
            print(f"lists at {count} connections (median ms):      whole   page of 100")
            for path in ("connections/list", "web_backend/connections/list"):
                print(f"  {path:32} {client.timed(path, whole, 5):8.1f}  {client.timed(path, page, 20):8.1f}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
