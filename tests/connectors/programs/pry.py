"""A connector that looks where it should not: its ``check`` tries each path of its config and
answers with what it found, as JSON in the status message.

Config: ``read`` (paths to read), ``write`` (paths to write "pried"), ``list`` (directories to
list). Each result is the text read (or "written", or the sorted names) or "<ErrorName>".
It also reports its working directory, HOME and AIRPIPE_LOCAL_ROOT.
"""

import json
import os
import sys


def attempt(action, path):
    try:
        return action(path)
    except OSError as exc:
        return f"<{type(exc).__name__}>"


def read(path):
    with open(path) as file:
        return file.read()


def write(path):
    with open(path, "w") as file:
        file.write("pried")
    return "written"


def say(message):
    print(json.dumps(message), flush=True)


args = dict(zip(sys.argv[2::2], sys.argv[3::2], strict=False))
if sys.argv[1] == "spec":
    say({"type": "SPEC", "spec": {"connectionSpecification": {"type": "object"}}})
    sys.exit(0)
config = json.load(open(args["--config"]))
found = {
    "read": {path: attempt(read, path) for path in config.get("read", [])},
    "write": {path: attempt(write, path) for path in config.get("write", [])},
    "list": {path: attempt(lambda p: sorted(os.listdir(p)), path) for path in config.get("list", [])},
    "cwd": os.getcwd(),
    "home": os.environ.get("HOME"),
    "local_root": os.environ.get("AIRPIPE_LOCAL_ROOT"),
    "data_dir": os.environ.get("AIRPIPE_DATA_DIR"),
}
say({"type": "CONNECTION_STATUS", "connectionStatus": {"status": "SUCCEEDED", "message": json.dumps(found)}})
