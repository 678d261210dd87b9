"""The `airpipe` subcommands that drive a running server through its API, as any client would.

``--url`` (default ``$AIRPIPE_URL``, else http://127.0.0.1:8000) names the server; HTTP Basic
credentials come from ``AIRPIPE_BASIC_AUTH_USER`` and ``AIRPIPE_BASIC_AUTH_PASSWORD`` when the
password is set. Output is a table, or the API's JSON with ``--json``. A failed request prints
the server's message and exits 1; a sync waited for that does not succeed exits 1 too.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TextIO

DEFAULT_URL = "http://127.0.0.1:8000"
FINAL = ("succeeded", "failed", "cancelled")


class ApiError(Exception):
    """The server refused or failed a request: its message, for the command line."""


class Client:
    def __init__(self, url: str, user: str | None = None, password: str | None = None) -> None:
        self.url = url.rstrip("/")
        self.headers = {"Content-Type": "application/json"}
        if password:
            token = base64.b64encode(f"{user or 'airbyte'}:{password}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        import urllib.error  # here: every command imports this module, and `airpipe serve` needs neither
        import urllib.request

        request = urllib.request.Request(f"{self.url}/api/v1/{path}", json.dumps(body or {}).encode(), self.headers)
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                payload = response.read()
        except urllib.error.HTTPError as exc:
            raise ApiError(f"{path}: {exc.code} {_message(exc.read())}") from None
        except OSError as exc:
            raise ApiError(f"cannot reach airpipe at {self.url} ({exc}): is `airpipe serve` running? (--url, AIRPIPE_URL)") from None
        return json.loads(payload) if payload else None


def _message(body: bytes) -> str:
    try:
        answer = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")[:500]
    return str(answer.get("message", answer)) if isinstance(answer, dict) else str(answer)


def add_commands(commands: Any) -> None:
    """The remote subcommands, onto the `airpipe` command's subparsers."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--url", default=os.environ.get("AIRPIPE_URL", DEFAULT_URL), help="the server (AIRPIPE_URL; default %(default)s)")
    common.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")

    connections = commands.add_parser("connections", help="list the connections of a running server")
    connections = connections.add_subparsers(dest="verb", required=True)
    connections.add_parser("list", parents=[common], help="every connection, with its status, schedule, last job and next run")

    sync = commands.add_parser("sync", parents=[common], help="start a sync of a connection (by id or name)")
    sync.add_argument("connection", help="the connection's id or name")
    sync.add_argument("--wait", action="store_true", help="follow the job to its end, with its progress; exit 1 unless it succeeds")

    jobs = commands.add_parser("jobs", help="list, read, cancel jobs and their logs").add_subparsers(dest="verb", required=True)
    jobs.add_parser("list", parents=[common], help="a connection's jobs, newest first").add_argument("connection", help="id or name")
    jobs.add_parser("get", parents=[common], help="a job and its attempts").add_argument("id", type=int)
    jobs.add_parser("cancel", parents=[common], help="cancel a pending or running job").add_argument("id", type=int)
    logs = jobs.add_parser("logs", parents=[common], help="a job's log lines")
    logs.add_argument("id", type=int)
    logs.add_argument("--follow", "-f", action="store_true", help="keep printing new lines until the job ends")

    for kind in ("sources", "destinations"):
        actors = commands.add_parser(kind, help=f"list and check {kind}").add_subparsers(dest="verb", required=True)
        actors.add_parser("list", parents=[common], help=f"every {kind[:-1]} of every workspace")
        actors.add_parser("check", parents=[common], help=f"check a {kind[:-1]}'s connection").add_argument("id")


def run(args: argparse.Namespace, out: TextIO = sys.stdout) -> int:
    client = Client(args.url, os.environ.get("AIRPIPE_BASIC_AUTH_USER"), os.environ.get("AIRPIPE_BASIC_AUTH_PASSWORD"))
    command = args.command if args.command == "sync" else f"{args.command} {args.verb}"
    try:
        return COMMANDS[command](client, args, out)
    except ApiError as exc:
        print(f"airpipe: {exc}", file=sys.stderr)
        return 1


# COMMANDS


def connections_list(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    views = [v for w in _workspaces(client) for v in client.post("web_backend/connections/list", {"workspaceId": w})["connections"]]
    if args.json:
        return _dump(views, out)
    rows = [
        [v["connectionId"], v["name"], v["status"], _schedule(v), v.get("latestSyncJobStatus", "-"), _when(v.get("nextScheduledAt"))]
        for v in views
    ]
    _table(["ID", "NAME", "STATUS", "SCHEDULE", "LAST JOB", "NEXT RUN"], rows, out)
    return 0


def sync(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    connection = _find_connection(client, args.connection)
    job = client.post("connections/sync", {"connectionId": connection["connectionId"]})["job"]
    if not args.wait:
        return _dump(job, out) if args.json else _say(out, f"sync job {job['id']} of {connection['name']}: {job['status']}")
    info = _follow(client, job["id"], Progress(sys.stderr))
    if args.json:
        _dump(info, out)
    else:
        print(_summary(info), file=out)
    return 0 if info["job"]["status"] == "succeeded" else 1


def jobs_list(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    connection = _find_connection(client, args.connection)
    listed = client.post("jobs/list", {"configTypes": ["sync", "reset_connection"], "configId": connection["connectionId"]})["jobs"]
    if args.json:
        return _dump(listed, out)
    rows = []
    for item in listed:
        job, attempts = item["job"], item.get("attempts") or []
        records = sum(a.get("recordsSynced") or 0 for a in attempts)
        rows.append([job["id"], job["configType"], job["status"], _when(job["createdAt"]), len(attempts), f"{records:,}"])
    _table(["ID", "TYPE", "STATUS", "CREATED", "ATTEMPTS", "RECORDS"], rows, out)
    return 0


def jobs_get(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    info = client.post("jobs/get", {"id": args.id})
    return _dump(info, out) if args.json else _say(out, _summary(info))


def jobs_cancel(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    info = client.post("jobs/cancel", {"id": args.id})
    return _dump(info, out) if args.json else _say(out, f"job {args.id}: {info['job']['status']}")


def jobs_logs(client: Client, args: argparse.Namespace, out: TextIO) -> int:
    after: int | None = None
    while True:
        page = client.post("jobs/logs/list", {"jobId": args.id, "pageSize": 1000, **({"afterId": after} if after else {})})
        for line in page["logs"]:
            print(json.dumps(line) if args.json else f"{_when(line['timestamp'])} {line['level']} {line['message']}", file=out)
        after = page.get("nextAfterId")
        if page["logs"]:
            continue
        if not args.follow or client.post("jobs/get", {"id": args.id})["job"]["status"] in FINAL and not _more(client, args.id, after):
            return 0
        time.sleep(0.5)


def actors_list(kind: str) -> Callable[[Client, argparse.Namespace, TextIO], int]:
    def command(client: Client, args: argparse.Namespace, out: TextIO) -> int:
        listed = [a for w in _workspaces(client) for a in client.post(f"{kind}/list", {"workspaceId": w})[kind]]
        if args.json:
            return _dump(listed, out)
        side = kind[:-1]
        _table(["ID", "NAME", "CONNECTOR"], [[a[f"{side}Id"], a["name"], a.get(f"{side}Name", "")] for a in listed], out)
        return 0

    return command


def actors_check(kind: str) -> Callable[[Client, argparse.Namespace, TextIO], int]:
    def command(client: Client, args: argparse.Namespace, out: TextIO) -> int:
        answer = client.post(f"{kind}/check_connection", {f"{kind[:-1]}Id": args.id})
        if args.json:
            _dump(answer, out)
        else:
            print(f"{answer['status']}{': ' + answer['message'] if answer.get('message') else ''}", file=out)
        return 0 if answer["status"] == "succeeded" else 1

    return command


COMMANDS: dict[str, Callable[[Client, argparse.Namespace, TextIO], int]] = {
    "connections list": connections_list,
    "sync": sync,
    "jobs list": jobs_list,
    "jobs get": jobs_get,
    "jobs cancel": jobs_cancel,
    "jobs logs": jobs_logs,
    "sources list": actors_list("sources"),
    "destinations list": actors_list("destinations"),
    "sources check": actors_check("sources"),
    "destinations check": actors_check("destinations"),
}


# FOLLOWING A JOB


class Progress:
    """One line, rewritten in place on a terminal (a line every few seconds elsewhere): records,
    bytes, rate and the records of each stream, from the running attempt's stats."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.live = stream.isatty()
        self.started = time.monotonic()
        self.last_print = 0.0

    def update(self, info: dict[str, Any]) -> None:
        attempt = (info.get("attempts") or [{}])[-1].get("attempt", {})
        stats = attempt.get("totalStats") or {}
        records, size = stats.get("recordsEmitted") or 0, stats.get("bytesEmitted") or 0
        elapsed = max(time.monotonic() - self.started, 1e-6)
        streams = " · ".join(f"{s['streamName']} {s['stats'].get('recordsEmitted') or 0:,}" for s in attempt.get("streamStats") or [])
        estimate = stats.get("estimatedRecords")
        share = f" ({records / estimate:.0%})" if estimate else ""
        line = f"{info['job']['status']}: {records:,} records{share}, {_size(size)}, {records / elapsed:,.0f} records/s  {streams}"
        if self.live:
            self.stream.write("\r\x1b[2K" + line)
            self.stream.flush()
        elif time.monotonic() - self.last_print >= 5:
            print(line, file=self.stream)
            self.last_print = time.monotonic()

    def done(self) -> None:
        if self.live:
            self.stream.write("\n")


def _follow(client: Client, job_id: int, progress: Progress) -> Any:
    while True:
        info = client.post("jobs/get", {"id": job_id})
        progress.update(info)
        if info["job"]["status"] in FINAL:
            progress.done()
            return info
        time.sleep(0.5)


def _more(client: Client, job_id: int, after: int | None) -> bool:
    return bool(client.post("jobs/logs/list", {"jobId": job_id, "pageSize": 1, **({"afterId": after} if after else {})})["logs"])


def _summary(info: dict[str, Any]) -> str:
    job, attempts = info["job"], info.get("attempts") or []
    last = attempts[-1]["attempt"] if attempts else {}
    line = f"job {job['id']} {job['status']}: {last.get('recordsSynced') or 0:,} records, {_size(last.get('bytesSynced') or 0)}"
    line += f", {len(attempts)} attempt{'s' if len(attempts) != 1 else ''}, {job['updatedAt'] - job['createdAt']} s"
    failures = (last.get("failureSummary") or {}).get("failures") or []
    if failures:
        line += f"\n  {failures[0].get('externalMessage')}"
    return line


# HELPERS


def _workspaces(client: Client) -> list[str]:
    return [w["workspaceId"] for w in client.post("workspaces/list")["workspaces"]]


def _find_connection(client: Client, ref: str) -> Any:
    try:
        return client.post("connections/get", {"connectionId": str(uuid.UUID(ref))})
    except ValueError:
        pass
    found = [c for w in _workspaces(client) for c in client.post("connections/list", {"workspaceId": w})["connections"] if c["name"] == ref]
    if len(found) != 1:
        raise ApiError(f"{'no' if not found else len(found)} connections are named {ref!r}: give its id")
    return found[0]


def _schedule(view: dict[str, Any]) -> str:
    if view.get("scheduleType") == "cron":
        return str(view.get("scheduleData", {}).get("cron", {}).get("cronExpression", "cron"))
    if view.get("schedule"):
        return f"every {view['schedule']['units']} {view['schedule']['timeUnit']}"
    return "manual"


def _when(epoch: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(epoch)) if epoch else "-"


def _size(count: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024 or unit == "GB":
            return f"{count:,.0f} {unit}" if unit == "B" else f"{count:,.1f} {unit}"
        count /= 1024
    return f"{count} B"  # not reached


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], out: TextIO) -> None:
    cells = [[str(c) for c in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    for row in cells:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)


def _dump(value: Any, out: TextIO) -> int:
    print(json.dumps(value, indent=2), file=out)
    return 0


def _say(out: TextIO, text: str) -> int:
    print(text, file=out)
    return 0
