"""Stopping a connector and everything it started.

Every connector runs in its own session, so its process group holds it and its children (a
shell wrapper's included): stopping sends SIGTERM to the group, then SIGKILL after a grace
period. A connector also dies with its worker (``die_with_parent``), so an orphaned destination
cannot commit a partial sync.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import time
from collections.abc import Callable


def _load_prctl() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL("libc.so.6", use_errno=True).prctl
    except (OSError, AttributeError):
        return None  # not Linux: orphaned connectors are left to the destination's own check


_prctl = _load_prctl()
_PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Runs in the child between fork and exec: if the worker dies (kill -9, out of memory), the
    kernel kills its connectors too, so an orphaned destination cannot commit a partial sync.
    The function and libc were loaded before the fork; nothing here allocates or takes locks."""
    if _prctl is not None:
        _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def stop(process: subprocess.Popen[bytes], grace: float, *, spare_leader: bool = False) -> None:
    """SIGTERM to the group, SIGKILL after ``grace`` seconds if it is still there; then reap the
    leader. ``spare_leader``: the leader is bubblewrap, which must outlive its connector."""
    # The group is signalled only while the leader is unreaped: until then its pid (the group id)
    # cannot be reused, so we never signal a stranger's processes.
    if process.returncode is not None:
        return
    if spare_leader:
        # The leader is bubblewrap: SIGTERM would kill it at once, and the connector with it
        # (--die-with-parent) before it could clean up. The connector gets it; bwrap follows it out.
        for pid in _group_members(process.pid):
            if pid != process.pid:
                _signal(pid, signal.SIGTERM)
    else:
        _signal_group(process, signal.SIGTERM)
    if not _exited(process, grace):
        _signal_group(process, signal.SIGKILL)
    elif _can_peek_exit and process.returncode is None:
        _signal_group(process, signal.SIGKILL)  # children that outlived the leader's SIGTERM
    process.wait()


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _group_members(pgid: int) -> list[int]:
    """The processes of a process group, from /proc (Linux, as bubblewrap is)."""
    members = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat", "rb") as file:
                    fields = file.read().rpartition(b")")[2].split()
            except OSError:
                continue
            if len(fields) > 2 and int(fields[2]) == pgid:  # state, ppid, pgrp
                members.append(int(name))
    return members


_can_peek_exit = hasattr(os, "waitid")


def _exited(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Did the process exit within ``timeout``? Where the OS allows, checked without reaping it."""
    deadline = time.monotonic() + timeout
    while True:
        if _can_peek_exit:
            try:
                if os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
                    return True
            except ChildProcessError:  # reaped by another thread's wait()
                return True
        elif process.poll() is not None:  # pragma: no cover - macOS has no waitid
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return f"was killed by {name}"
    return f"failed with exit code {code}"
