"""A connector that fails every verb: a LOG line, a traceback-ish stderr, exit code 3.

With CRASH_TRACE=<failure_type> it first reports the failure as a TRACE error (and exits 1).
"""

import json
import os
import sys

print(json.dumps({"type": "LOG", "log": {"level": "INFO", "message": "crash: starting " + sys.argv[1]}}), flush=True)
print("Traceback (most recent call last):", file=sys.stderr)
print("RuntimeError: the crash program always crashes", file=sys.stderr, flush=True)
failure_type = os.environ.get("CRASH_TRACE")
if failure_type:
    error = {"message": "the password is wrong", "internal_message": "AuthError(401)", "failure_type": failure_type}
    print(json.dumps({"type": "TRACE", "trace": {"type": "ERROR", "emitted_at": 1.0, "error": error}}), flush=True)
    sys.exit(1)
sys.exit(3)
