"""How fast the API answers, against a bare Starlette app on the same uvicorn in the same run.

    python bench/api_bench.py [--connections 10000] [--jobs 100000] [--seconds 3] [--rounds 5] [--backends sqlite,postgres]

For each backend (embedded SQLite; PostgreSQL when one answers at ``AIRPIPE_BENCH_POSTGRES_URL``,
default ``postgresql://postgres@127.0.0.1:5432/postgres``, in a database of its own that is
dropped after) it starts `airpipe serve` (in-process worker) and a bare Starlette app that answers
each path with the bytes of a real response, and measures:

- ``connections/get``, ``jobs/get`` and the public API's ``GET /jobs/{id}`` throughput with 8
  connections in flight (wrk when installed, else a Python client), and the ratio to the bare
  app's for the same bytes, in ``--rounds`` turns of each (the median is shown: this machine's
  speed drifts);
- ``connections/create`` per second from one client, with a syncCatalog given and without one,
  beside the bare app's rate for one client;
- the p50/p95 of pages of 100 (``pagination`` at random offsets) of ``connections/list`` and
  ``web_backend/connections/list`` at ``--connections`` connections, and of ``jobs/list`` at
  ``--jobs`` jobs of one connection (inserted through the models: a sync each would take hours).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
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

from airpipe.connectors import registry

FAKER, LOCAL_JSON = str(registry.FAKER.id), str(registry.LOCAL_JSON.id)

BARE_APP = textwrap.dedent(
    """
    import sys
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    BODIES = {}
    for pair in sys.argv[2:]:
        path, _, file = pair.partition("=")
        BODIES[path] = open(file, "rb").read()

    async def answer(request):
        await request.body()
        return Response(BODIES[request.url.path], media_type="application/json")

    app = Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST"])])
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


#: With two cores or more, the servers run on the last and the clients (wrk, this script) on the
#: others: left to the scheduler, a server and the load it answers fought over the same core in
#: some runs and not in others, which moved a ratio by half between two runs a minute apart.
CORES = sorted(os.sched_getaffinity(0))
SERVER_CORES, CLIENT_CORES = ({CORES[-1]}, set(CORES[:-1])) if len(CORES) > 1 else (set(CORES), set(CORES))


@contextmanager
def started(command: list[str], port: int, env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, preexec_fn=lambda: os.sched_setaffinity(0, SERVER_CORES)
        )
    try:
        wait_listening(port, process)
        yield process
    finally:
        process.terminate()
        process.wait(15)


class Client:
    """One keep-alive connection posting JSON (or getting, without a body). A path is under
    /api/v1/ unless it starts with a slash."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def post(self, path: str, body: object) -> object:
        return json.loads(self.post_raw(path, body))

    def post_raw(self, path: str, body: object) -> bytes:
        """The response body, not decoded (timings leave out the client's JSON decoding)."""
        try:
            response = self._send(path, body)
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected):
            self.connection.close()  # the server closed the idle keep-alive connection: open another
            response = self._send(path, body)
        payload = response.read()
        if response.status != 200:
            raise SystemExit(f"{path}: {response.status} {payload[:500]!r}")
        return payload

    def _send(self, path: str, body: object) -> http.client.HTTPResponse:
        if body is None:
            self.connection.request("GET", url_path(path))
        else:
            self.connection.request("POST", url_path(path), body=json.dumps(body), headers={"Content-Type": "application/json"})
        return self.connection.getresponse()

    def timed(self, path: str, bodies: list[object]) -> list[float]:
        """Milliseconds of each request, one per body."""
        spent = []
        for body in bodies:
            started = time.perf_counter()
            self.post_raw(path, body)
            spent.append((time.perf_counter() - started) * 1000)
        return spent


def p50_p95(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=20)
    return f"{statistics.median(samples):8.1f} {cuts[18]:8.1f}"


def url_path(path: str) -> str:
    return path if path.startswith("/") else f"/api/v1/{path}"


def throughput(port: int, path: str, body: bytes | None, seconds: float, directory: Path) -> float:
    """Requests per second with 8 connections in flight (a GET when ``body`` is None)."""
    if shutil.which("wrk") is None:
        return _python_throughput(port, path, body, seconds)
    posting = []
    if body is not None:
        script = directory / "post.lua"
        lua = f'wrk.method = "POST"\nwrk.body = {json.dumps(body.decode())}\nwrk.headers["Content-Type"] = "application/json"\n'
        script.write_text(lua)
        posting = ["-s", str(script)]
    url = f"http://127.0.0.1:{port}{url_path(path)}"
    output = subprocess.run(["wrk", "-t2", "-c8", f"-d{seconds:g}s", *posting, url], capture_output=True, text=True, check=True).stdout
    if "Non-2xx" in output:
        raise SystemExit(f"wrk saw errors:\n{output}")
    return float(next(line for line in output.splitlines() if line.startswith("Requests/sec:")).split()[1])


def _python_throughput(port: int, path: str, body: bytes | None, seconds: float) -> float:
    import threading

    done = [0]
    stop = time.monotonic() + seconds

    def run() -> None:
        client = Client(port)
        while time.monotonic() < stop:
            client.post_raw(path, None if body is None else json.loads(body))
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
    parser.add_argument("--connections", type=int, default=10_000, help="connections in the workspace for the list figures")
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs of one connection for the jobs/list figures")
    parser.add_argument("--seconds", type=float, default=3, help="length of each throughput run")
    parser.add_argument("--rounds", type=int, default=5, help="runs of each throughput figure (the median is shown)")
    parser.add_argument("--backends", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    args = parser.parse_args()
    os.sched_setaffinity(0, CLIENT_CORES)  # wrk, a child, inherits it (see SERVER_CORES)
    for backend in args.backends.split(","):
        with database(backend) as url:
            if url is None:
                print(f"\n{backend}: skipped (no PostgreSQL at AIRPIPE_BENCH_POSTGRES_URL)")
                continue
            print(f"\n{backend}")
            bench_backend(url, args)
    return 0


@contextmanager
def database(backend: str) -> Iterator[str | None]:
    """The AIRPIPE_DATABASE_URL of a fresh database ("" for the embedded default), dropped after."""
    if backend == "sqlite":
        yield ""
        return
    import psycopg2

    admin_url = os.environ.get("AIRPIPE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    name = f"airpipe_api_bench_{os.getpid()}"
    try:
        admin = psycopg2.connect(admin_url, connect_timeout=3)
    except psycopg2.OperationalError:
        yield None
        return
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield admin_url.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def bench_backend(database_url: str, args: argparse.Namespace) -> None:
    directory = Path(tempfile.mkdtemp(prefix="airpipe-api-bench-"))
    airpipe_port, bare_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRPIPE_")}
    env.update(AIRPIPE_DATA_DIR=str(directory / "data"), AIRPIPE_PORT=str(airpipe_port))
    airpipe = str(Path(sys.executable).parent / "airpipe")
    if database_url:
        env["AIRPIPE_DATABASE_URL"] = database_url
        subprocess.run([airpipe, "migrate"], env=env, check=True, capture_output=True)
    try:
        with started([airpipe, "serve"], airpipe_port, env, directory / "serve.log"):
            client = Client(airpipe_port)
            workspace, create = first_connection(client)
            connection = client.post("connections/create", create)["connectionId"]  # type: ignore[index]
            job = synced(client, connection)
            # the public API's job status (GET, no body) is what the airbyte-api SDK and Airflow poll
            gets: dict[str, dict[str, object] | None] = {
                "connections/get": {"connectionId": connection},
                "jobs/get": {"id": job},
                f"/api/public/v1/jobs/{job}": None,
            }
            compare_gets(client, gets, create, directory, bare_port, env, args)

            connections = fill_connections(client, workspace, create, args.connections)
            jobs = seed_jobs(env, connection, args.jobs)
            print("pages of 100 at random offsets (ms):            p50      p95")
            pages = [{"workspaceId": workspace, "pagination": page(connections)} for _ in range(40)]
            for path in ("connections/list", "web_backend/connections/list"):
                print(f"  {path:28} ({connections:,} connections) {p50_p95(client.timed(path, pages))}")
            job_pages = [{"configTypes": ["sync"], "configId": str(connection), "pagination": page(jobs)} for _ in range(40)]
            print(f"  {'jobs/list':28} ({jobs:,} jobs)        {p50_p95(client.timed('jobs/list', job_pages))}")
            whole = client.timed("connections/list", [{"workspaceId": workspace}] * 3)
            print(f"  the whole connections/list, for comparison: {statistics.median(whole):.0f} ms")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def first_connection(client: Client) -> tuple[str, dict[str, object]]:
    """The workspace, and a connections/create body: Faker to Local JSON, with its discovered catalog."""
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
    return workspace, {"sourceId": source, "destinationId": destination, "status": "inactive", "syncCatalog": catalog}


def synced(client: Client, connection: str) -> int:
    """The id of a sync of ``connection`` run to its end (so jobs/get has attempts, stats and logs)."""
    job = client.post("connections/sync", {"connectionId": connection})["job"]["id"]  # type: ignore[index]
    deadline = time.monotonic() + 120
    while client.post("jobs/get", {"id": job})["job"]["status"] in ("pending", "running"):  # type: ignore[index]
        if time.monotonic() > deadline:
            raise SystemExit("the sync did not end in 120 s")
        time.sleep(0.2)
    return job


def compare_gets(
    client: Client,
    gets: dict[str, dict[str, object] | None],
    create: dict[str, object],
    directory: Path,
    bare_port: int,
    env: dict[str, str],
    args: argparse.Namespace,
) -> None:
    """Each get's throughput against the bare app answering with the same bytes, measured in
    turns (bare, airpipe, bare, airpipe...) so that a drift of this machine's speed touches both;
    the ratio is the median of the rounds'."""
    samples = []
    for path, body in gets.items():
        sample = directory / f"{path.replace('/', '_')}.json"
        sample.write_bytes(client._send(path, body).read())
        samples.append(f"{url_path(path)}={sample}")
    bare_script = directory / "bare.py"
    bare_script.write_text(BARE_APP)
    rows = []

    def measure(port: int, path: str, request: bytes | None) -> float:
        return throughput(port, path, request, args.seconds, directory)

    with started([sys.executable, str(bare_script), str(bare_port), *samples], bare_port, env, directory / "bare.log"):
        for (path, body), served in zip(gets.items(), samples, strict=True):
            request = None if body is None else json.dumps(body).encode()
            turns = [(measure(bare_port, path, request), measure(client.port, path, request)) for _ in range(args.rounds)]
            ratios = sorted(ours / bare for bare, ours in turns)
            size = Path(served.partition("=")[2]).stat().st_size / 1024
            bare_rate, our_rate = (statistics.median(rate) for rate in zip(*turns, strict=True))
            spread = f"({ratios[0]:.0%}-{ratios[-1]:.0%})"
            shown = "GET " + path.removeprefix("/api/public/v1/") if body is None else path
            rows.append(f"  {shown:16} ({size:4.1f} KB) {bare_rate:8.0f} {our_rate:10.0f}   {statistics.median(ratios):5.0%}  {spread}")
        creates = compare_creates(client, create, bare_port, args.rounds)
    print(f"8 in flight (req/s), median of {args.rounds} rounds:   bare      airpipe   ratio  (range)")
    print("\n".join(rows))
    print(creates)


def compare_creates(client: Client, create: dict[str, object], bare_port: int, rounds: int) -> str:
    """connections/create per second from one client, with its syncCatalog and without one
    (median of ``rounds`` runs of 2 s), beside the bare app's rate for one client (its floor:
    HTTP alone, here and in the client)."""
    bare = Client(bare_port)
    figures = []
    for body in (create, {k: v for k, v in create.items() if k != "syncCatalog"}):
        ours = statistics.median(rate(lambda body=body: client.post_raw("connections/create", body), 2) for _ in range(rounds))
        floor = statistics.median(rate(lambda body=body: bare.post_raw("connections/get", body), 2) for _ in range(rounds))
        figures.append((ours, floor))
    (with_catalog, bare_with), (without, bare_without) = figures
    return (
        f"connections/create, one client (per s): {with_catalog:.0f} with a syncCatalog, {without:.0f} without"
        f" (the bare app, one client, same bodies: {bare_with:.0f} and {bare_without:.0f})"
    )


def fill_connections(client: Client, workspace: str, create: dict[str, object], count: int) -> int:
    have = len(client.post("connections/list", {"workspaceId": workspace})["connections"])  # type: ignore[index]
    for _ in range(count - have):
        client.post("connections/create", create)
    return max(have, count)


def seed_jobs(env: dict[str, str], connection: str, count: int) -> int:
    """``count`` finished sync jobs of ``connection``, one attempt each, written through the models."""
    code = textwrap.dedent(
        f"""
        from airpipe import models
        from airpipe.models import Attempt, Job, db, now
        from airpipe.services import bootstrap
        from airpipe.settings import Settings

        bootstrap.open_database(Settings.from_env())
        with db.connection_context():
            at = now()
            job = dict(config_type="sync", scope={connection!r}, status="succeeded", config={{}}, created_at=at, updated_at=at)
            attempt = dict(number=0, status="succeeded", records_synced=1000, bytes_synced=10**5, created_at=at, updated_at=at, ended_at=at)
            for start in range(Job.select().where(Job.scope == {connection!r}).count(), {count}, 1000):
                with db.atomic():
                    rows = Job.insert_many([job] * min(1000, {count} - start)).returning(Job.id).execute()
                    Attempt.insert_many([dict(attempt, job=row.id) for row in rows]).execute()
            if not models.is_sqlite():  # as autovacuum would soon: the planner sees the new rows
                db.execute_sql("ANALYZE job; ANALYZE attempt; ANALYZE connection")
        """
    )
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return count


def page(total: int) -> dict[str, int]:
    return {"pageSize": 100, "rowOffset": random.randrange(max(total - 100, 1))}


if __name__ == "__main__":
    sys.exit(main())
