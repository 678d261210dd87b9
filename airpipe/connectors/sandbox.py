"""Where a connector may look: its run directory and the local root (seen as ``/local``), nothing more.

Airbyte runs each connector in a container where the local root is mounted at ``/local``, so
configs say ``/local/data/x.csv``. airpipe runs connectors as plain processes, and does the same
with bubblewrap (``bwrap``, Debian's ``bubblewrap`` package) where the machine allows it: a mount
namespace whose root is empty but for

- the system, read-only: ``/usr`` (and ``/bin``, ``/lib``... beside it), a few files of ``/etc``
  (name resolution, certificates, time zone; not ``passwd`` or ``shadow``), and the Python (or
  other program) the connector runs with;
- the local root, read-write, at ``/local``;
- the connector's run directory (``rundir.py``), read-write: its working directory and ``HOME``;
- an empty ``/tmp``, and ``/proc`` and ``/dev`` of its own (its own process ids too).

airpipe's data directory (the secret key, the SQLite database, other connectors' run directories)
is hidden even when it lies inside a directory the connector needs. The network stays: connectors
are there to reach databases and APIs. Every capability is dropped, so a connector started by
root cannot undo the mounts.

Without bubblewrap (``AIRPIPE_SANDBOX=off``, or ``auto`` where ``bwrap`` is missing or cannot make
namespaces, as in some containers) a third-party connector runs unconfined; ``/local`` still works
for it: every config string value that is ``/local`` or starts with ``/local/`` is rewritten to the
local root's real path. Built-in connectors know ``/local`` themselves and get no rewriting.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from airpipe.connectors.errors import ConnectorError

MODES = ("auto", "bwrap", "off")
LOCAL = "/local"

#: what a connector sees of /etc: enough to resolve names, verify TLS and tell the time
ETC = (
    "/etc/resolv.conf", "/etc/hosts", "/etc/host.conf", "/etc/nsswitch.conf", "/etc/gai.conf",
    "/etc/ssl", "/etc/ca-certificates", "/etc/ca-certificates.conf", "/etc/pki", "/etc/crypto-policies",
    "/etc/localtime", "/etc/timezone", "/etc/protocols", "/etc/services", "/etc/mime.types",
    "/etc/alternatives", "/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/ld.so.conf.d", "/etc/os-release",
)  # fmt: skip
#: the top-level system directories, bound read-only (or recreated as the symlinks they are)
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
#: PostgreSQL's Unix socket directory: a read-only bind still lets a client connect
SOCKETS = ("/run/postgresql",)

_NAMESPACES = ("--die-with-parent", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try")


@dataclasses.dataclass(frozen=True)
class Sandbox:
    """How connectors of one deployment are confined (``AIRPIPE_SANDBOX``).

    Parameters:
        mode: ``auto`` (bubblewrap where it works, else rewriting), ``bwrap`` (bubblewrap or the
            connector fails to start) or ``off`` (rewriting only).
        local_root: the directory connectors see at ``/local``.
        data_dir: airpipe's data directory, hidden from connectors.
        rewrite_configs: rewrite ``/local/...`` config values when bubblewrap is not in force
            (False for the built-ins, which resolve ``/local`` themselves).
    """

    mode: str
    local_root: Path
    data_dir: Path
    rewrite_configs: bool = True

    @property
    def confined(self) -> bool:
        """Do connectors run inside bubblewrap?"""
        return self.mode != "off" and probe() is None

    def describe(self) -> str:
        """One line for `airpipe connectors list` and the job logs."""
        if self.confined:
            return (
                f"sandbox: bubblewrap; connectors see the local root {self.local_root} at /local, their run "
                "directory and the system read-only, and nothing else of this host"
            )
        why = "AIRPIPE_SANDBOX=off" if self.mode == "off" else probe()
        state = "unavailable, connectors cannot start" if self.mode == "bwrap" else "off"
        return f"sandbox: {state} ({why}); /local/ in connector configs is rewritten to {self.local_root}/"

    def for_builtin(self) -> Sandbox:
        return dataclasses.replace(self, rewrite_configs=False)

    def config(self, config: Any) -> Any:
        """The config as the connector must get it."""
        if not self.rewrite_configs or self.confined:
            return config
        return rewrite_local(config, self.local_root)

    def wrap(self, argv: Sequence[str], env: Mapping[str, str], run_dir: Path) -> tuple[list[str], dict[str, str]]:
        """The command line and environment that run ``argv`` confined, in ``run_dir``."""
        env = dict(env)
        if self.mode == "off":
            return list(argv), env
        problem = probe()
        if problem is not None:
            if self.mode == "bwrap":
                raise ConnectorError(f"AIRPIPE_SANDBOX=bwrap, but {problem}")
            return list(argv), env
        self.local_root.mkdir(parents=True, exist_ok=True)
        env.update(AIRPIPE_LOCAL_ROOT=LOCAL, HOME=str(run_dir), TMPDIR="/tmp")
        env.pop("AIRPIPE_DATA_DIR", None)
        argv = [_real_dir(arg) for arg in argv]
        return [*self.bwrap_args(argv, run_dir), "--", *argv], env

    def bwrap_args(self, argv: Sequence[str], run_dir: Path) -> list[str]:
        args = [_BWRAP or "bwrap", *_NAMESPACES, *_system_args()]
        data_dir = self.data_dir.resolve()
        programs = _collapse(program_paths(argv))
        outside = [path for path in programs if not path.is_relative_to(data_dir)]
        inside = [path for path in programs if path.is_relative_to(data_dir)]
        for path in outside:
            args += ["--ro-bind", str(path), str(path)]
        if any(data_dir.is_relative_to(path) for path in outside):
            args += ["--tmpfs", str(data_dir)]  # inside a directory the connector needs: hide it
        for path in inside:  # a connector installed under the data dir (`airpipe connectors install`)
            args += ["--ro-bind", str(path), str(path)]
        run = str(run_dir.resolve())
        args += ["--bind", run, run, "--bind", str(self.local_root.resolve()), LOCAL, "--chdir", run]
        return args


def rewrite_local(value: Any, local_root: Path) -> Any:
    """``value`` with every string ``/local`` or ``/local/...`` moved to ``local_root``."""
    if isinstance(value, str):
        if value == LOCAL or value.startswith(LOCAL + "/"):
            return str(local_root) + value[len(LOCAL) :]
        return value
    if isinstance(value, Mapping):
        return {key: rewrite_local(item, local_root) for key, item in value.items()}
    if isinstance(value, list):
        return [rewrite_local(item, local_root) for item in value]
    return value


# WHAT A PROGRAM NEEDS


def program_paths(argv: Sequence[str]) -> list[Path]:
    """The directories and files ``argv`` needs besides the system: its program, the virtualenv and
    Python installation behind it (followed through a ``#!`` line), and for this interpreter
    (the built-ins) airpipe's own package and import path."""
    paths: list[Path] = []
    for arg in argv:
        if _is_file_argument(arg):
            paths += _program(Path(arg))
            paths += _program(_shebang(Path(arg)))
    if argv and os.path.realpath(argv[0]) == os.path.realpath(sys.executable):
        import airpipe

        paths += [Path(sys.prefix), Path(sys.base_prefix), Path(airpipe.__file__).parent]
        # installed packages outside the prefixes (a user site), not the worker's working directory
        paths += [Path(entry) for entry in sys.path if entry.endswith(("site-packages", "dist-packages", ".zip", ".egg"))]
        paths += [Path(entry) for entry in os.environ.get("PYTHONPATH", "").split(os.pathsep) if os.path.isabs(entry)]
    return [path for path in paths if path.exists()]


def _real_dir(arg: str) -> str:
    """A path argument through the real path of its directory (the sandbox binds real paths: a
    symlink on the way, such as a data dir's ``connectors`` link, is not there). The last part
    stays: a virtualenv's ``bin/python`` must not become the interpreter it links to."""
    if not _is_file_argument(arg):
        return arg
    return os.path.join(os.path.realpath(os.path.dirname(arg)), os.path.basename(arg))


def _is_file_argument(arg: str) -> bool:
    """An absolute path the sandbox must provide (not an input's /dev/fd/N: that one is inherited)."""
    return os.path.isabs(arg) and not arg.startswith(("/dev/", "/proc/")) and os.path.exists(arg)


def _program(path: Path | None) -> list[Path]:
    if path is None:
        return []
    found = [path.resolve()]
    for candidate in {path.absolute(), path.resolve()}:
        for parent in list(candidate.parents)[:3]:
            config = parent / "pyvenv.cfg"
            if config.is_file():
                found.append(parent.resolve())
                found += _python_home(config)
                break
        if candidate.name.startswith("python") and candidate.parent.name == "bin":
            found.append(candidate.parent.parent.resolve())  # the installation's lib/ beside bin/
    return found


def _python_home(config: Path) -> list[Path]:
    for line in config.read_text(errors="replace").splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "home" and value.strip():
            return [Path(value.strip()).resolve().parent]
    return []


def _shebang(path: Path) -> Path | None:
    try:
        with path.open("rb") as file:
            first = file.readline(256)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    interpreter = first[2:].strip().split(b" ")[0].decode(errors="replace")
    return Path(interpreter) if os.path.isabs(interpreter) and os.path.exists(interpreter) else None


def _collapse(paths: Iterable[Path]) -> list[Path]:
    """Without duplicates, what the system binds cover, and paths inside another one of the list."""
    covered = [Path(p).resolve() for p in SYSTEM if os.path.isdir(p) and not os.path.islink(p)]
    kept: list[Path] = []
    for path in sorted(set(paths), key=lambda p: len(p.parts)):
        if path == Path("/") or any(path.is_relative_to(other) for other in covered + kept):
            continue
        kept.append(path)
    return kept


def _system_args() -> list[str]:
    args = ["--cap-drop", "ALL", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in (*ETC, *SOCKETS):
        args += ["--ro-bind-try", path, path]
    return args


# CAN IT RUN HERE?

_BWRAP = shutil.which("bwrap")
_probed: list[str | None] = []
_probe_lock = threading.Lock()


def probe() -> str | None:
    """None when bubblewrap can confine a process on this machine, else why not (asked once)."""
    with _probe_lock:
        if not _probed:
            _probed.append(_probe())
        return _probed[0]


def _probe() -> str | None:
    if _BWRAP is None:
        return "bubblewrap is not installed (Debian: apt-get install bubblewrap)"
    true = shutil.which("true", path="/usr/bin:/bin") or "/usr/bin/true"
    try:
        result = subprocess.run(
            [_BWRAP, *_NAMESPACES, *_system_args(), "--", true], capture_output=True, timeout=30, stdin=subprocess.DEVNULL
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"bubblewrap cannot run here: {exc}"
    if result.returncode != 0:
        reason = result.stderr.decode(errors="replace").strip().splitlines()
        return f"bubblewrap cannot run here: {reason[-1] if reason else f'exit code {result.returncode}'}"
    return None
