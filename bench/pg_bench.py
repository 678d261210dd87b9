"""How fast PostgreSQL moves through airpipe, against PostgreSQL's own COPY.

    python bench/pg_bench.py [--rows 1000000] [--url postgresql://postgres@127.0.0.1:5432/test] [--keep]

1. Creates a scratch database on the server named by ``--url`` (default: $AIRPIPE_TEST_POSTGRES_URL,
   else this machine's) and in it a table ``t`` of ``--rows`` rows with ten columns of mixed types
   (integer, bigint, numeric, text, varchar, boolean, timestamptz, date, jsonb, uuid) made with
   generate_series.
2. The baseline: ``psql \\copy (SELECT * FROM t) TO file`` and ``\\copy t2 FROM file`` into a table
   like ``t``, timed apart; raw COPY moves ``rows / (out + in)`` rows a second.
3. The PostgreSQL source alone, ``read`` (full refresh of ``t``) into /dev/null, with its peak RSS.
4. A full sync, PostgreSQL to PostgreSQL (a second scratch database), through the worker path:
   an SQLite airpipe database set up through the in-process API, and the job run by a child
   process exactly as ``bench/sync_bench.py`` runs it (``runner.run_job``: SyncRun, the pump,
   checkpoints), which reports its own peak RSS and samples each connector's. Skipped if there
   is no PostgreSQL destination (``airpipe/destinations/postgres.py``).

Prints rows/s for each, the ratio sync / raw COPY and each process's peak RSS (VmHWM). Goals:
at least 100,000 rows/s end to end and every process under 150 MB; exits 1 if one is missed, so
``make bench`` fails. The scratch databases are dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RATE_GOAL = 100_000
RSS_GOAL_MB = 150.0

TABLE = """
CREATE UNLOGGED TABLE t (
    id integer PRIMARY KEY, big bigint NOT NULL, amount numeric(12, 2), name text, code varchar(32),
    flag boolean, created_at timestamptz, day date, payload jsonb, uid uuid
);
INSERT INTO t
SELECT i, i::bigint * 1000003, (i % 100000) / 100.0, 'name ' || i || ' "quoted" \\ text', 'code-' || (i % 1000),
       i % 3 = 0, timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second', date '2024-01-01' + (i % 365),
       jsonb_build_object('k', i, 'tags', jsonb_build_array('a', 'b'), 's', 'x' || i), md5(i::text)::uuid
FROM generate_series(1, {rows}) i;
ANALYZE t;
CREATE TABLE t2 (LIKE t);
"""


# SCRATCH DATABASES


class Server:
    def __init__(self, url: str) -> None:
        import psycopg2.extensions

        self.url = url
        self.dsn = psycopg2.extensions.parse_dsn(url)

    def create(self, name: str) -> None:
        self.execute(f'CREATE DATABASE "{name}"')

    def drop(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def execute(self, statement: str, database: str | None = None) -> None:
        """Outside a transaction (CREATE DATABASE cannot run in one)."""
        import psycopg2

        conn = psycopg2.connect(self.url_of(database) if database else self.url, connect_timeout=5)
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute(statement)
        finally:
            conn.close()

    def checkpoint(self) -> None:
        """Write out what earlier steps left dirty, so that each measured step starts alike: the
        server checkpoints by itself once max_wal_size of WAL is written, and a step it falls in
        (with the full-page images every page then costs in WAL) runs a third slower."""
        import psycopg2

        try:
            self.execute("CHECKPOINT")
        except psycopg2.Error as exc:  # not a superuser (or pg_checkpoint): measure as it comes
            print(f"  (no CHECKPOINT before each step: {str(exc).strip()})")

    def url_of(self, database: str) -> str:
        return f"{self.url.rsplit('/', 1)[0]}/{database}"

    def config(self, database: str) -> dict[str, Any]:
        """A source or destination config for ``database``."""
        return {
            "host": self.dsn.get("host", "127.0.0.1"),
            "port": int(self.dsn.get("port", 5432)),
            "database": database,
            "username": self.dsn.get("user", "postgres"),
            "password": self.dsn.get("password", ""),
            "ssl_mode": "disable",
        }


def generate(server: Server, database: str, rows: int) -> float:
    started = time.perf_counter()
    server.execute(TABLE.replace("{rows}", str(int(rows))), database)
    return time.perf_counter() - started


# MEASURING


def psql(server: Server, database: str, command: str) -> float:
    """Seconds psql takes to run one meta-command."""
    env = {**os.environ}
    if server.dsn.get("password"):
        env["PGPASSWORD"] = server.dsn["password"]
    started = time.perf_counter()
    subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", server.url_of(database), "-c", command], check=True, env=env)
    return time.perf_counter() - started


def raw_copy(server: Server, database: str, directory: Path) -> tuple[float, float]:
    """(seconds of COPY out, seconds of COPY in) through psql's \\copy and a file."""
    path = directory / "t.copy"
    out = psql(server, database, f"\\copy (SELECT * FROM t) TO '{path}'")
    into = psql(server, database, f"\\copy t2 FROM '{path}'")
    path.unlink()
    return out, into


def source_alone(config: dict[str, Any], directory: Path) -> tuple[float, float, float, int]:
    """(seconds, peak RSS in MB, CPU seconds, RECORD lines) of the source reading ``t`` into a pipe
    that counts its lines."""
    config_path, catalog_path = directory / "source-config.json", directory / "source-catalog.json"
    config_path.write_text(json.dumps(config))
    stream = {"name": "t", "namespace": "public", "json_schema": {"type": "object", "properties": {}}}
    configured = {"stream": stream, "sync_mode": "full_refresh", "destination_sync_mode": "overwrite"}
    catalog_path.write_text(json.dumps({"streams": [configured]}))
    command = [sys.executable, "-m", "airpipe.sources.postgres", "read"]
    command += ["--config", str(config_path), "--catalog", str(catalog_path)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, bufsize=1 << 16)
    assert process.stdout is not None
    marker, records, tail = b'{"type":"RECORD"', 0, b""
    for block in iter(lambda: process.stdout.read(1 << 20), b""):  # type: ignore[union-attr]
        records += (tail + block).count(marker)  # the tail is too short to hold a whole marker
        tail = block[-len(marker) + 1 :]
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"the source alone failed with exit code {process.returncode}")
    return elapsed, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime, records


def set_up_sync(directory: Path, source_config: dict[str, Any], destination_config: dict[str, Any]) -> tuple[dict[str, str], int]:
    """An SQLite airpipe database with a PostgreSQL -> PostgreSQL connection (full refresh,
    overwrite) and one pending sync job; returns (environment, job id)."""
    import sync_bench

    from airpipe.connectors.registry import POSTGRES_DESTINATION, POSTGRES_SOURCE

    return sync_bench.set_up_connection(
        directory,
        source=(str(POSTGRES_SOURCE.id), source_config),
        destination=(str(POSTGRES_DESTINATION.id), destination_config),
        stream="t",
    )


def run_sync(env: dict[str, str], job_id: int) -> dict[str, Any]:
    """The job run by sync_bench.py's child (the real worker path), and what it measured."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import sync_bench

    return sync_bench.run_sync(env, job_id)


def count_rows(server: Server, database: str, table: str) -> int:
    import psycopg2

    conn = psycopg2.connect(server.url_of(database))
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"SELECT count(*) FROM {table}")
            return int(cursor.fetchone()[0])
    finally:
        conn.close()


# MAIN


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows in the benchmark table (default 1,000,000)")
    parser.add_argument(
        "--url",
        default=os.environ.get("AIRPIPE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="a database on the server to use; scratch databases are made beside it",
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch databases and the temporary directory")
    parser.add_argument("--check", action="store_true", help="exit 1 when a goal is missed (default: report only)")
    args = parser.parse_args()

    server = Server(args.url)
    name = f"airpipe_bench_{uuid.uuid4().hex[:8]}"
    source_db, destination_db = name, f"{name}_dest"
    directory = Path(tempfile.mkdtemp(prefix="airpipe-pg-bench-"))
    has_destination = (ROOT / "airpipe" / "destinations" / "postgres.py").exists()
    rows = args.rows
    figures: dict[str, Any] = {}
    try:
        server.create(source_db)
        print(f"generating {rows:,} rows in {source_db}.t ...", flush=True)
        print(f"  {generate(server, source_db, rows):.1f} s")
        server.checkpoint()
        copy_out, copy_in = raw_copy(server, source_db, directory)
        server.checkpoint()
        figures["alone"] = source_alone(server.config(source_db), directory)
        if has_destination:
            server.create(destination_db)
            env, job_id = set_up_sync(directory, server.config(source_db), {**server.config(destination_db), "schema": "public"})
            server.checkpoint()
            figures["sync"] = run_sync(env, job_id)
            figures["synced_rows"] = count_rows(server, destination_db, "public.t")
    finally:
        if args.keep:
            print(f"kept databases {source_db} and {destination_db}, directory {directory}")
        else:
            server.drop(source_db)
            server.drop(destination_db)
            shutil.rmtree(directory, ignore_errors=True)

    raw_seconds = copy_out + copy_in
    alone_seconds, alone_rss, alone_cpu, alone_records = figures["alone"]
    print(f"rows                  {rows:,} (10 columns: int, bigint, numeric, text, varchar, bool, timestamptz, date, jsonb, uuid)")
    print(f"psql \\copy out        {rows / copy_out:12,.0f} rows/s  ({copy_out:.2f} s)")
    print(f"psql \\copy in         {rows / copy_in:12,.0f} rows/s  ({copy_in:.2f} s)")
    print(f"raw COPY out + in     {rows / raw_seconds:12,.0f} rows/s  ({raw_seconds:.2f} s)")
    alone_rate = rows / alone_seconds
    print(f"source alone          {alone_rate:12,.0f} rows/s  ({alone_seconds:.2f} s, {alone_cpu:.2f} s CPU, peak RSS {alone_rss:.1f} MB)")
    ok = alone_records == rows and alone_rss < RSS_GOAL_MB
    if alone_records != rows:
        print(f"FAIL: the source alone sent {alone_records:,} records")
    if "sync" not in figures:
        print("sync                  skipped: no airpipe/destinations/postgres.py")
        print("OK" if ok else "BELOW GOAL")
        return 0 if ok or not args.check else 1

    sync = figures["sync"]
    sync_rate = rows / sync["seconds"]
    peaks = {"worker": sync["worker_peak_rss_mb"], **sync["connector_peak_rss_mb"]}
    print(f"sync (worker path)    {sync_rate:12,.0f} rows/s  ({sync['seconds']:.2f} s, goal >= {RATE_GOAL:,})")
    print(f"ratio sync / raw COPY {sync_rate / (rows / raw_seconds):12.3f}")
    print(f"  worker (pump)                        {sync['worker_cpu_seconds']:.2f} s CPU, peak RSS {sync['worker_peak_rss_mb']:.1f} MB")
    for process, peak in sorted(sync["connector_peak_rss_mb"].items()):
        print(f"  {process:<36} {sync['connector_cpu_seconds'].get(process, 0):.2f} s CPU, peak RSS {peak:.1f} MB")
    print(f"peak RSS goal         < {RSS_GOAL_MB:g} MB for each process")
    print(f"CPUs                  {os.cpu_count()}  (a sync keeps five processes busy: two server backends, source, worker, destination)")
    if sync["records"] != rows or figures["synced_rows"] != rows:
        print(f"FAIL: synced {sync['records']:,} records and the destination table has {figures['synced_rows']:,} rows; expected {rows:,}")
        ok = False
    ok = ok and sync_rate >= RATE_GOAL and all(peak < RSS_GOAL_MB for peak in peaks.values())
    print("OK" if ok else "BELOW GOAL")
    return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
