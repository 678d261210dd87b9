"""A connector that mixes junk into valid messages, as real ones do.

spec/check/discover answer after the junk (unless GARBAGE_NO_ANSWER is set); check reports its
config file's path and mode and which environment variables it sees, so tests can inspect them.
"""

import json
import os
import stat
import sys


def say(message):
    print(json.dumps(message), flush=True)


def log(level, message):
    say({"type": "LOG", "log": {"level": level, "message": message}})


verb = sys.argv[1]
args = dict(zip(sys.argv[2::2], sys.argv[3::2], strict=False))
print("Starting connector v1.2.3")  # not JSON
print('{"type": "NOPE"}')  # unknown message type
print('{"log": {"level": "INFO", "message": "no type"}}')  # no type
print("[1, 2, 3]")  # JSON, not an object
print("")  # blank
log("WARN", "careful now")
log("DEBUG", "details")
print("a line on stderr", file=sys.stderr, flush=True)
if os.environ.get("GARBAGE_NO_ANSWER"):
    sys.exit(0)
if verb == "spec":
    say({"type": "SPEC", "spec": {"connectionSpecification": {"type": "object"}, "newField": 1}})
elif verb == "check":
    path = args["--config"]
    mode, dir_mode = (oct(stat.S_IMODE(os.stat(p).st_mode)) for p in (path, os.path.dirname(path)))
    log("INFO", "config=" + path + " mode=" + mode + " dir_mode=" + dir_mode)
    log("INFO", "env=" + ",".join(sorted(k for k in os.environ if k.startswith(("AIRPIPE_", "GARBAGE_")))))
    config = json.load(open(path))
    say({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "FAILED", "message": "bad host " + config.get("host", "")}})
elif verb == "discover":
    say({"type": "CATALOG", "catalog": {"streams": [{"name": "things", "json_schema": {}}]}})
elif verb == "read":
    catalog = json.load(open(args["--catalog"]))
    state = json.load(open(args["--state"])) if "--state" in args else None
    log("INFO", "state=" + json.dumps(state))
    for stream in catalog["streams"]:
        say({"type": "RECORD", "record": {"stream": stream["stream"]["name"], "data": {"n": 1}, "emitted_at": 1}})
    say({"type": "STATE", "state": {"type": "LEGACY", "data": {"done": True}}})
