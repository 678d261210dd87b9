"""Installing connectors published as Python packages, each into a virtualenv of its own.

``install("airbyte-source-faker==7.2.1", connectors_dir)`` makes ``<connectors_dir>/airbyte-source-faker``
a virtualenv, pip-installs the package into it, and reports the connector programs the package
declares (its ``source-*`` and ``destination-*`` console scripts). The registry finds them in
``<connectors_dir>/*/bin``. One virtualenv per package keeps the connectors' pinned dependencies
(each Airbyte connector pins its own airbyte-cdk) away from airpipe's and from each other's.

No database here: the cli registers the definitions. pip is configured as usual (``PIP_INDEX_URL``,
``pip.conf``...). When airpipe's own environment has pip, that pip installs into the new
virtualenv (``pip --python``), which saves creating a pip in every virtualenv; else each gets its own.
"""

from __future__ import annotations

import collections
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from airpipe.connectors.errors import ConnectorError

#: how many lines of pip's output an InstallError quotes
LAST_LINES = 20

#: the console scripts that are connectors, and what kind of actor each makes
_PREFIXES = {"source-": "source", "destination-": "destination"}

# "name", "name==1.0", "name[extra]>=1", "name @ https://...", "name ; marker"
_REQUIREMENT = re.compile(r"\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(?:\[[^\]]*\])?\s*(|[=<>!~@;].*)", re.DOTALL)

# Run by the virtualenv's interpreter: what the installed distribution says about itself.
_INSPECT = """
import json, sys
from importlib.metadata import PackageNotFoundError, distribution
try:
    d = distribution(sys.argv[1])
except PackageNotFoundError:
    sys.exit(3)
urls = [u.split(",", 1) for u in d.metadata.get_all("Project-URL") or [] if "," in u]
docs = [url.strip() for label, url in urls if label.strip().lower() in ("documentation", "docs")]
scripts = sorted(e.name for e in d.entry_points if e.group == "console_scripts")
print(json.dumps({"version": d.version, "scripts": scripts, "documentation_url": docs[0] if docs else None}))
"""


class InstallError(ConnectorError):
    """pip failed (``last_lines`` are its last lines), or the package holds no connector."""


@dataclass(frozen=True)
class ConnectorProgram:
    """One connector a package installed, and the definition that names it."""

    executable: str
    actor_type: str  # "source" or "destination"
    docker_repository: str
    name: str


@dataclass(frozen=True)
class InstalledConnector:
    package: str  # normalized: the name of its virtualenv
    version: str
    executables: list[str]
    bin_dir: Path
    documentation_url: str | None = None

    @property
    def venv(self) -> Path:
        return self.bin_dir.parent

    @property
    def programs(self) -> list[ConnectorProgram]:
        """The definitions to register: Airbyte's packages (``airbyte-source-faker``) give
        ``airbyte/source-faker``, as in Airbyte's own catalog; any other package ``<package>/<executable>``.
        The registry runs the executable named after the slash, whatever the owner."""
        owner = "airbyte" if self.package.startswith("airbyte-") else self.package
        programs = []
        for executable in self.executables:
            prefix = next(p for p in _PREFIXES if executable.startswith(p))
            name = executable[len(prefix) :].replace("-", " ").replace("_", " ").title()
            programs.append(ConnectorProgram(executable, _PREFIXES[prefix], f"{owner}/{executable}", name))
        return programs


def package_name(package_spec: str) -> str:
    """The normalized name (PEP 503) of the package a pip requirement or wheel file installs."""
    wheel = _wheel(package_spec)
    if wheel is not None:
        return normalize(wheel.name.split("-", 1)[0])
    match = _REQUIREMENT.fullmatch(package_spec)
    if match is None:
        raise InstallError(
            f"{package_spec!r} is not a package: give a name (airbyte-source-faker), a pinned version "
            "(airbyte-source-faker==7.2.1), NAME @ URL (source-foo @ file:///path/to/source-foo) or a wheel file"
        )
    return normalize(match.group(1))


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _wheel(package_spec: str) -> Path | None:
    path = Path(package_spec.strip())
    return path.absolute() if path.name.endswith(".whl") and path.is_file() else None


def install(
    package_spec: str,
    connectors_dir: str | Path,
    *,
    pip_args: Iterable[str] = (),
    on_output: Callable[[str], None] | None = None,
) -> InstalledConnector:
    """Install (or upgrade, or downgrade) a connector package into ``<connectors_dir>/<package>``.

    ``pip_args`` go to ``pip install`` (e.g. ``--no-index``); ``on_output`` receives each line
    pip prints. A virtualenv made by a failed install is removed again. Raises InstallError.
    """
    package = package_name(package_spec)
    # a virtualenv's scripts name its interpreter by absolute path: the real one, which outlives any symlink to it
    venv = Path(connectors_dir).resolve() / package
    fresh = not (venv / "bin" / "python").exists()
    try:
        if fresh:
            venv.parent.mkdir(parents=True, exist_ok=True)
            without_pip = ["--without-pip"] if _host_pip() else []
            _run([sys.executable, "-m", "venv", *without_pip, str(venv)], "create a virtualenv", on_output)
        wheel = _wheel(package_spec)
        spec = str(wheel) if wheel is not None else package_spec.strip()
        _run([*_pip(venv), "install", "--no-input", *pip_args, spec], f"install {package_spec}", on_output)
        connector = _inspect(venv, package)
        if connector is None:
            raise InstallError(f"pip installed {package_spec} but no distribution named {package} is there")
        if not connector.executables:
            raise InstallError(f"{package} {connector.version} installs no connector program (no source-* or destination-* command)")
    except BaseException:
        if fresh:
            shutil.rmtree(venv, ignore_errors=True)
        raise
    return connector


def installed(connectors_dir: str | Path) -> list[InstalledConnector]:
    """The connectors installed in ``connectors_dir``, by package name."""
    root = Path(connectors_dir).resolve()
    if not root.is_dir():
        return []
    found = []
    for venv in sorted(root.iterdir()):
        if (venv / "bin" / "python").exists():
            connector = _inspect(venv, venv.name)
            if connector is not None and connector.executables:
                found.append(connector)
    return found


def _host_pip() -> bool:
    """Whether this interpreter has a pip that can install into another (``--python``: pip 22.3)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        major, minor = (int(part) for part in version("pip").split(".")[:2])
    except (PackageNotFoundError, ValueError):
        return False
    return (major, minor) >= (22, 3)


def _pip(venv: Path) -> list[str]:
    own = venv / "bin" / "pip"
    if own.exists():
        return [str(own)]
    return [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]


def _run(command: list[str], what: str, on_output: Callable[[str], None] | None) -> None:
    # PYTHONPATH would put this environment's packages in front of the virtualenv's
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    last: collections.deque[str] = collections.deque(maxlen=LAST_LINES)
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, text=True
    ) as process:
        assert process.stdout is not None
        for line in process.stdout:
            line = line.rstrip("\n")
            last.append(line)
            if on_output is not None:
                on_output(line)
    if process.returncode != 0:
        raise InstallError(f"could not {what} (exit status {process.returncode})", last)


def _inspect(venv: Path, package: str) -> InstalledConnector | None:
    # -I: the virtualenv's packages only, whatever PYTHONPATH says
    result = subprocess.run([str(venv / "bin" / "python"), "-I", "-c", _INSPECT, package], capture_output=True, text=True)
    if result.returncode != 0:
        return None
    about = json.loads(result.stdout)
    executables = [s for s in about["scripts"] if s.startswith(tuple(_PREFIXES)) and (venv / "bin" / s).exists()]
    return InstalledConnector(package, about["version"], executables, venv / "bin", about["documentation_url"])
