"""secret-echo: a connector (source and destination alike) that repeats its secrets everywhere it
writes text, in every spelling a careless connector produces. Installed by test_secret_echo.py as
``source-secretecho`` and ``destination-secretecho``.

Config: ``api_key`` and ``pem`` (both ``airbyte_secret``), ``stream`` (the one stream's name, default
``items``) and ``mode``, what ``check`` answers:

- ``status``: a FAILED CONNECTION_STATUS "invalid api key <key>";
- ``trace``: a config_error TRACE saying the same (airpipe answers it as a failed status);
- ``crash``: a system_error TRACE with the key URL-encoded, and exit 1 (the check job fails);
- ``ok``: SUCCEEDED.

Every verb also prints the config to stderr (Python's repr), the PEM line by line, a non-JSON
stdout line with the key URL-encoded and a LOG message with the config as JSON. ``read`` sends
one record, then fails with a TRACE error quoting the key when ``fail_read`` is set.
"""

import json
import sys
import time
from urllib.parse import quote, quote_plus

SPEC = {
    "connectionSpecification": {
        "type": "object",
        "required": ["api_key"],
        "properties": {
            "api_key": {"type": "string", "airbyte_secret": True},
            "pem": {"type": "string", "airbyte_secret": True},
            "stream": {"type": "string"},
            "mode": {"type": "string", "enum": ["status", "trace", "crash", "ok"]},
            "fail_read": {"type": "boolean"},
        },
    },
    "supported_destination_sync_modes": ["overwrite", "append"],
}


def say(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def trace(message, failure_type, internal=None):
    error = {"message": message, "failure_type": failure_type, "internal_message": internal}
    say({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": time.time() * 1000, "error": error}})


def chatter(config):
    """What a careless connector prints about its config, in four spellings."""
    key = config["api_key"]
    print("starting with config", config, file=sys.stderr, flush=True)
    for line in config.get("pem", "").splitlines():
        print("key line:", line, file=sys.stderr, flush=True)
    print(f"GET https://api.example.com/v1/items?key={quote_plus(key)}")
    say({"type": "LOG", "log": {"level": "INFO", "message": "logging in with " + json.dumps(config)}})


def check(config):
    key, mode = config["api_key"], config.get("mode", "status")
    if mode == "ok":
        say({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED", "message": f"welcome, {key}"}})
    elif mode == "status":
        say({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "FAILED", "message": f"invalid api key {key}"}})
    elif mode == "trace":
        trace(f"invalid api key {key}", "config_error", internal=repr(config))
        sys.exit(1)
    else:
        trace(f"cannot reach https://api.example.com/?key={quote(key, safe='')}", "system_error", internal=json.dumps(config))
        sys.exit(1)


def discover(config):
    stream = {"name": config.get("stream", "items"), "json_schema": {"type": "object", "properties": {"id": {"type": "integer"}}}}
    stream["supported_sync_modes"] = ["full_refresh"]
    say({"type": "CATALOG", "catalog": {"streams": [stream]}})


def read(config, catalog):
    stream = catalog["streams"][0]["stream"]["name"]
    say({"type": "RECORD", "record": {"stream": stream, "data": {"id": 1}, "emitted_at": 1}})
    if config.get("fail_read"):
        trace(f"the API refused key {config['api_key']}", "system_error", internal=repr(config))
        sys.exit(1)
    say({"type": "STATE", "state": {"type": "LEGACY", "data": {"done": True}}})


def write(config):
    for line in sys.stdin:
        message = json.loads(line)
        if message.get("type") == "STATE":
            say(message)
    say({"type": "LOG", "log": {"level": "INFO", "message": f"wrote everything with key {config['api_key']}"}})


def main():
    verb, args = sys.argv[1], dict(zip(sys.argv[2::2], sys.argv[3::2], strict=False))
    if verb == "spec":
        say({"type": "SPEC", "spec": SPEC})
        return
    with open(args["--config"]) as f:
        config = json.load(f)
    chatter(config)
    if verb == "check":
        check(config)
    elif verb == "discover":
        discover(config)
    elif verb == "read":
        with open(args["--catalog"]) as f:
            read(config, json.load(f))
    elif verb == "write":
        write(config)
    else:
        sys.exit(2)


main()
