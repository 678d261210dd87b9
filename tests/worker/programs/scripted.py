"""source-scripted: a source whose misbehaviour is chosen by its config, for the sync engine's tests.

One stream, ``items``: records ``{"id": n, "updated_at": cursor_base + n, "version": version}`` for
n = 1..records, a STATE (``{"updated_at": <cursor>}``) after every ``state_every`` records and at
the end. An incremental read resumes after the state's cursor (unless ``ignore_state``).

Faults, all optional:

- ``fail_after`` N: after N records (and the states due up to them) fail the way ``fail_mode`` says:
  ``exit`` (stderr lines, exit code ``exit_code``), ``trace`` (a TRACE error of ``failure_type``,
  exit 1) or ``hang`` (print nothing more, sleep forever, keep stdout open);
- ``fail_pause``: seconds to wait before failing (time for the destination to echo the states);
- ``once_marker`` PATH: fail only while PATH does not exist, and create it when failing, so the
  next attempt succeeds;
- ``garbage``: mix non-JSON lines, JSON that is no message, and blank lines into the output;
- ``nul_lines`` N: print N non-JSON lines holding a NUL byte and a lone surrogate's bytes first;
- ``bad_text``: after the first record, print one whose ``note`` is not valid Unicode: ``escaped``
  (the JSON escape of a lone surrogate, ``\\ud800``) or ``bytes`` (a byte that is not UTF-8);
  ``compact`` prints it as compact JSON (the sync engine's block path), else as ``json.dumps`` does;
- ``delay``: seconds to sleep after each record;
- ``password`` (marked airbyte_secret): printed to stderr, in a LOG message and in the TRACE
  error's message, as a careless connector does;
- ``runs_file`` PATH: each read appends one JSON line ``{"pid", "state"}`` (the state it was given).
"""

import json
import os
import sys
import time

SPEC = {
    "documentationUrl": "https://example.com/source-scripted",
    "connectionSpecification": {
        "type": "object",
        "properties": {
            "records": {"type": "integer", "minimum": 0},
            "state_every": {"type": "integer", "minimum": 1},
            "cursor_base": {"type": "integer"},
            "version": {"type": "integer"},
            "ignore_state": {"type": "boolean"},
            "fail_after": {"type": "integer", "minimum": 0},
            "fail_mode": {"type": "string", "enum": ["exit", "trace", "hang"]},
            "exit_code": {"type": "integer"},
            "failure_type": {"type": "string"},
            "once_marker": {"type": "string"},
            "garbage": {"type": "boolean"},
            "nul_lines": {"type": "integer", "minimum": 0},
            "bad_text": {"type": "string", "enum": ["escaped", "bytes"]},
            "compact": {"type": "boolean"},
            "delay": {"type": "number"},
            "fail_pause": {"type": "number"},
            "password": {"type": "string", "airbyte_secret": True},
            "runs_file": {"type": "string"},
        },
    },
}
STREAM = {
    "name": "items",
    "json_schema": {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "updated_at": {"type": "integer"}, "version": {"type": "integer"}},
    },
    "supported_sync_modes": ["full_refresh", "incremental"],
    "source_defined_cursor": True,
    "default_cursor_field": ["updated_at"],
    "source_defined_primary_key": [["id"]],
}


def say(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def log(level, message):
    say({"type": "LOG", "log": {"level": level, "message": message}})


def state(cursor):
    stream = {"stream_descriptor": {"name": "items"}, "stream_state": {"updated_at": cursor}}
    say({"type": "STATE", "state": {"type": "STREAM", "stream": stream}})


def bad_record(config):
    separators = (",", ":") if config.get("compact") else None
    record = {"stream": "items", "data": {"id": 0, "note": "before\ud800after"}, "emitted_at": 1}
    line = json.dumps({"type": "RECORD", "record": record}, separators=separators).encode()
    if config["bad_text"] == "bytes":
        line = line.replace(b"\\ud800", b"\xff")
    sys.stdout.buffer.write(line + b"\n")
    sys.stdout.flush()


def garbage(n):
    print(f"garbage line {n}: not json at all")
    print('{"no": "type here"}')
    print("")


def fail(config, done):
    mode = config.get("fail_mode", "exit")
    time.sleep(config.get("fail_pause", 0))  # as slow as the test asks: a gap before the failure
    log("INFO", f"failing after {done} records ({mode})")
    if mode == "hang":
        print(f"hanging after {done} records", file=sys.stderr, flush=True)
        while True:  # hangs on purpose, until killed
            time.sleep(1)
    if mode == "trace":
        message = f"scripted {config.get('failure_type', 'system_error')} failure"
        if config.get("password"):
            message += " with password " + config["password"]  # careless, as connectors can be
        error = {"message": message, "failure_type": config.get("failure_type", "system_error")}
        say({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": time.time() * 1000, "error": error}})
        sys.exit(1)
    print("Traceback (most recent call last):", file=sys.stderr)
    print(f"RuntimeError: scripted crash after {done} records", file=sys.stderr, flush=True)
    sys.exit(config.get("exit_code", 1))


def read(config, catalog, given_state):
    if config.get("runs_file"):
        with open(config["runs_file"], "a") as f:
            f.write(json.dumps({"pid": os.getpid(), "state": given_state}) + "\n")
    if config.get("password"):
        print("connecting with password " + config["password"], file=sys.stderr, flush=True)
        log("INFO", "the password is " + config["password"])
    records, base = config.get("records", 10), config.get("cursor_base", 0)
    every, version, delay = config.get("state_every", 0), config.get("version", 1), config.get("delay", 0)
    fail_after = config.get("fail_after")
    marker = config.get("once_marker")
    if fail_after is not None and marker:
        if os.path.exists(marker):
            fail_after = None
        else:
            open(marker, "w").close()
    streams = [s for s in catalog["streams"] if s["stream"]["name"] == "items"]
    if not streams:
        return
    first = 1
    if streams[0].get("sync_mode") == "incremental" and not config.get("ignore_state"):
        for message in given_state or []:
            cursor = ((message.get("stream") or {}).get("stream_state") or {}).get("updated_at")
            if cursor is not None:
                first = cursor - base + 1
    for n in range(config.get("nul_lines", 0)):
        sys.stdout.buffer.write(b"junk \x00 line %d \xed\xa0\x80 \xff\n" % n)
    sys.stdout.flush()
    log("INFO", f"reading items {first} to {records}")
    done = 0
    for n in range(first, records + 1):
        if fail_after is not None and done >= fail_after:
            fail(config, done)
        if config.get("garbage") and n % 3 == 0:
            garbage(n)
        record = {"id": n, "updated_at": base + n, "version": version}
        say({"type": "RECORD", "record": {"stream": "items", "data": record, "emitted_at": 1}})
        done += 1
        if done == 1 and config.get("bad_text"):
            bad_record(config)
        if every and done % every == 0:
            state(base + n)
        if delay:
            time.sleep(delay)  # as slow as the test asks, so that it can act while records flow
    if fail_after is not None and done >= fail_after:
        fail(config, done)
    state(base + max(records, first - 1))


def main():
    verb = sys.argv[1]
    args = dict(zip(sys.argv[2::2], sys.argv[3::2], strict=False))
    load = lambda name: json.load(open(args[name])) if name in args else None  # noqa: E731
    if verb == "spec":
        say({"type": "SPEC", "spec": SPEC})
    elif verb == "check":
        say({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED"}})
    elif verb == "discover":
        say({"type": "CATALOG", "catalog": {"streams": [STREAM]}})
    elif verb == "read":
        read(load("--config"), load("--catalog"), load("--state"))
    else:
        sys.exit(2)


if __name__ == "__main__":
    main()
