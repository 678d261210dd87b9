"""A connector that never finishes: it starts a child that shares its stdout (and process group),
writes the child's pid to $HANG_PID_FILE, then sleeps. With HANG_IGNORE_TERM set it ignores SIGTERM."""

import json
import os
import signal
import subprocess
import sys
import time

if os.environ.get("HANG_IGNORE_TERM"):
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
with open(os.environ["HANG_PID_FILE"], "w") as f:
    f.write(str(child.pid))
print(json.dumps({"type": "LOG", "log": {"level": "INFO", "message": "hanging"}}), flush=True)
while True:
    time.sleep(1)
