"""How fast a sync moves records, against how fast the source alone can make them.

    python bench/sync_bench.py [--records 1000000] [--state-every 1000] [--prefix P] [--repeat 1] [--check] [--keep]

1. Sets up, in a temporary directory, an SQLite database with a Faker source (the `users`
   stream, ``--records`` of them), a Local JSON destination and a full refresh + overwrite
   connection, through the in-process API; ``connections/sync`` creates the job.
2. Times the Faker source alone: ``python -m airpipe.sources.faker read --config ...
   --catalog ... > /dev/null``, with the job's own config and configured catalog.
3. Times the sync through the real worker path: a child process runs ``runner.run_job(job_id)``
   (claim, SyncRun, the pump, checkpoints, the attempt's bookkeeping) and reports its own peak
   RSS (VmHWM), and each connector's, sampled from /proc while they run.

Prints records/s for both, the ratio sync / source alone (goal: >= 0.90) and the peak RSS of the
process running the pump (goal: < 100 MB); with ``--check`` it exits 1 if a goal is missed. With
``--repeat R`` each side runs R times and the best time counts. The three processes of a sync
(source, worker, destination) are all busy: on fewer than three idle CPUs the ratio says as much
about the machine as about the code, so the CPU seconds of each process are printed too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

RATIO_GOAL = 0.90
TICKS = os.sysconf("SC_CLK_TCK")
RSS_GOAL_MB = 100.0


# SET-UP (parent process)


def set_up(directory: Path, records: int, state_every: int, prefix: str = "") -> tuple[dict[str, str], int]:
    """A database with a Faker (users) -> Local JSON connection and one pending sync job;
    returns (environment, job id)."""
    return set_up_connection(
        directory,
        source=("a3395a42-d499-4316-9233-0451ac0673d1", {"count": records, "seed": 1, "state_every": state_every}),
        destination=("610eabab-b1f9-4421-9c46-9ff173672120", {"destination_path": "/local/bench"}),
        stream="users",
        prefix=prefix,
    )


def set_up_connection(
    directory: Path, *, source: tuple[str, dict[str, Any]], destination: tuple[str, dict[str, Any]], stream: str, prefix: str = ""
) -> tuple[dict[str, str], int]:
    """An SQLite airpipe database in ``directory`` with one connection syncing ``stream`` from
    ``source`` to ``destination`` (each a definition id and a config), full refresh + overwrite,
    and one pending sync job; returns (environment, job id). The child process runs the job."""
    from starlette.testclient import TestClient

    from airpipe import models
    from airpipe.api.app import create_app
    from airpipe.settings import Settings
    from airpipe.worker import queue

    env = {
        "AIRPIPE_DATA_DIR": str(directory / "data"),
        "AIRPIPE_DATABASE_URL": f"sqlite:///{directory / 'data' / 'airpipe.db'}",
        "AIRPIPE_QUEUE_NAME": "bench",
        "AIRPIPE_MAX_ATTEMPTS": "1",
    }
    queue.huey.immediate = True  # spec, check and discover jobs run inline while the objects are made
    app = create_app(Settings.from_env(env), run_consumer=False)
    with TestClient(app) as client:

        def call(path: str, body: dict[str, Any]) -> Any:
            response = client.post(f"/api/v1/{path}", json=body)
            assert response.status_code == 200, response.text
            return response.json()

        workspace = call("workspaces/list", {})["workspaces"][0]["workspaceId"]
        source_id = call(
            "sources/create",
            {"workspaceId": workspace, "sourceDefinitionId": source[0], "connectionConfiguration": source[1], "name": "bench source"},
        )["sourceId"]
        destination_id = call(
            "destinations/create",
            {
                "workspaceId": workspace,
                "destinationDefinitionId": destination[0],
                "connectionConfiguration": destination[1],
                "name": "bench destination",
            },
        )["destinationId"]
        discovered = call("sources/discover_schema", {"sourceId": source_id})["catalog"]
        streams = [s for s in discovered["streams"] if s["stream"]["name"] == stream]
        connection = call(
            "connections/create",
            {
                "sourceId": source_id,
                "destinationId": destination_id,
                "status": "active",
                "syncCatalog": {"streams": streams},
                "prefix": prefix,
            },
        )
        queue.huey.immediate = False  # the sync job is only created: the child runs it
        job_id = call("connections/sync", {"connectionId": connection["connectionId"]})["job"]["id"]
    models.db.close()
    return env, job_id


def source_inputs(directory: Path, env: dict[str, str], job_id: int) -> tuple[Path, Path]:
    """The job's source config and configured catalog, as files for the source-alone run."""
    from airpipe import models
    from airpipe.models import Job
    from airpipe.worker import job_configs

    models.bind(models.open_database(env["AIRPIPE_DATABASE_URL"]))
    with models.db.connection_context():
        config = job_configs.decode("sync", Job.get_by_id(job_id).config)
    assert isinstance(config, job_configs.SyncJob)
    config_path, catalog_path = directory / "source-config.json", directory / "source-catalog.json"
    config_path.write_text(json.dumps(config.source.config))
    catalog_path.write_text(json.dumps({"streams": [s.for_source() for s in config.streams]}))
    return config_path, catalog_path


# MEASURING


def run_source_alone(config: Path, catalog: Path, env: dict[str, str]) -> tuple[float, float, float]:
    """(seconds, peak RSS in MB, CPU seconds) of Faker reading into /dev/null."""
    command = [sys.executable, "-m", "airpipe.sources.faker", "read", "--config", str(config), "--catalog", str(catalog)]
    with open(os.devnull, "wb") as devnull:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=devnull, env={**os.environ, **env})
        # Peak RSS from VmHWM while it runs: wait4's ru_maxrss would also count the pages this
        # (big) process shared with the child between fork and exec.
        peak = 0.0
        while True:
            peak = max(peak, vm_hwm_mb(process.pid) or 0.0)
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.05)
        elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"the source alone failed with exit code {process.returncode}")
    return elapsed, peak, usage.ru_utime + usage.ru_stime


def run_sync(env: dict[str, str], job_id: int) -> dict[str, Any]:
    """Run the job in a child process; returns what the child measured."""
    command = [sys.executable, __file__, "--child", str(job_id)]
    result = subprocess.run(command, env={**os.environ, **env}, capture_output=True, text=True, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"the sync child failed:\n{result.stdout}\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def reset_job(env: dict[str, str], job_id: int) -> int:
    """A fresh pending sync job for the same connection (for --repeat)."""
    from airpipe import models
    from airpipe.models import Attempt, Job, transaction

    models.bind(models.open_database(env["AIRPIPE_DATABASE_URL"]))
    with models.db.connection_context():
        old = Job.get_by_id(job_id)
        with transaction():
            job = Job.create(config_type=old.config_type, scope=old.scope, config=old.config)
            Attempt.create(job=job, number=1)
    return job.id


# THE CHILD: the worker side, measured from inside


def vm_hwm_mb(pid: int | str = "self") -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class ConnectorSampler(threading.Thread):
    """Samples the peak RSS (VmHWM, which only grows) and the CPU time of this process's children
    until stopped. Samples come every 0.25 s, so the figures are lower bounds."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peaks: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        self.stopped = threading.Event()

    def run(self) -> None:
        me, known, last_scan = os.getpid(), {}, 0.0
        while not self.stopped.wait(0.25):
            if len(known) < 2 and time.monotonic() - last_scan > 1:  # scanning /proc costs: rarely
                known.update(_children(me))
                last_scan = time.monotonic()
            for pid, name in list(known.items()):
                try:
                    fields = _stat_fields(pid)
                except OSError:
                    del known[pid]
                    continue
                peak = vm_hwm_mb(pid)
                if peak is not None:
                    self.peaks[name] = max(peak, self.peaks.get(name, 0.0))
                self.cpu[name] = max((int(fields[11]) + int(fields[12])) / TICKS, self.cpu.get(name, 0.0))


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces): fields 3 onwards."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    return stat[stat.rindex(")") + 2 :].split()


def _children(parent: int) -> dict[int, str]:
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if int(_stat_fields(int(entry.name))[1]) != parent:
                continue
            command = (entry / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        found[int(entry.name)] = next((part.decode() for part in command if part.startswith(b"airpipe.")), command[0].decode())
    return found


def child(job_id: int) -> None:
    from airpipe import models
    from airpipe.models import Attempt, Job
    from airpipe.settings import Settings
    from airpipe.worker import queue, runner

    settings = Settings.from_env()
    models.bind(models.open_database(settings.database_url))
    models.use_key(settings.load_secret_key())
    queue.configure(settings)
    sampler = ConnectorSampler()
    sampler.start()
    started = time.perf_counter()
    delay = runner.run_job(job_id)
    elapsed = time.perf_counter() - started
    own = resource.getrusage(resource.RUSAGE_SELF)
    sampler.stopped.set()
    sampler.join()
    with models.db.connection_context():
        job = Job.get_by_id(job_id)
        attempt = job.attempts.order_by(Attempt.number.desc()).first()
    if job.status != "succeeded":
        raise SystemExit(f"the sync {job.status} (retry in {delay}): {attempt.failure_summary}")
    print(
        json.dumps(
            {
                "seconds": elapsed,
                "records": attempt.records_synced,
                "bytes": attempt.bytes_synced,
                "worker_peak_rss_mb": vm_hwm_mb(),
                "connector_peak_rss_mb": sampler.peaks,
                "worker_cpu_seconds": own.ru_utime + own.ru_stime,
                "connector_cpu_seconds": sampler.cpu,
            }
        )
    )


# MAIN


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=1_000_000, help="Faker users to sync (default 1,000,000)")
    parser.add_argument("--state-every", type=int, default=1000, help="Faker emits a STATE after this many records")
    parser.add_argument("--prefix", default="", help="the connection's destination prefix (records are then renamed)")
    parser.add_argument("--repeat", type=int, default=1, help="run each side this many times; the best time counts")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (database, output file)")
    parser.add_argument("--child", type=int, metavar="JOB_ID", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return 0

    directory = Path(tempfile.mkdtemp(prefix="airpipe-bench-"))
    try:
        env, job_id = set_up(directory, args.records, args.state_every, args.prefix)
        config, catalog = source_inputs(directory, env, job_id)
        alone = [run_source_alone(config, catalog, env) for _ in range(args.repeat)]
        syncs = []
        for i in range(args.repeat):
            syncs.append(run_sync(env, job_id))
            if i + 1 < args.repeat:
                job_id = reset_job(env, job_id)
        output = directory / "data" / "local" / "bench" / f"{args.prefix}users.jsonl"
        lines = sum(1 for _ in output.open("rb"))
    finally:
        if args.keep:
            print(f"kept {directory}")
        else:
            shutil.rmtree(directory, ignore_errors=True)

    alone_seconds, alone_rss, alone_cpu = min(alone)
    best = min(syncs, key=lambda s: s["seconds"])
    if best["records"] != args.records or lines != args.records:
        print(f"FAIL: synced {best['records']} records and the file has {lines} lines; expected {args.records}")
        return 1
    source_rate = args.records / alone_seconds
    sync_rate = args.records / best["seconds"]
    ratio = sync_rate / source_rate
    worker_rss = max(s["worker_peak_rss_mb"] for s in syncs)
    print(f"records               {args.records:,} Faker users, a STATE every {args.state_every}, {best['bytes'] / 1e6:.0f} MB")
    alone_figures = f"{alone_seconds:.2f} s, {alone_cpu:.2f} s CPU, peak RSS {alone_rss:.1f} MB"
    print(f"source alone          {source_rate:12,.0f} records/s  ({alone_figures})")
    print(f"sync (worker path)    {sync_rate:12,.0f} records/s  ({best['seconds']:.2f} s)")
    print(f"ratio sync / source   {ratio:12.3f}   (goal >= {RATIO_GOAL})")
    print(f"worker peak RSS       {worker_rss:12.1f} MB  (goal < {RSS_GOAL_MB:g} MB)")
    print(f"  worker (pump)                      {best['worker_cpu_seconds']:.2f} s CPU")
    for name, peak in sorted(best["connector_peak_rss_mb"].items()):
        print(f"  {name:<34} {best['connector_cpu_seconds'].get(name, 0):.2f} s CPU, peak RSS {peak:.1f} MB")
    print(f"CPUs                  {os.cpu_count()}  (the sync runs three busy processes: source, worker, destination)")
    ok = ratio >= RATIO_GOAL and worker_rss < RSS_GOAL_MB
    print("OK" if ok else "BELOW GOAL")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
