"""From a definition's ``dockerRepository`` to the command that runs the connector.

airpipe runs no containers: a repository names a program. The built-ins are Python modules of
this package; any other ``owner/source-foo`` is an executable called ``source-foo``, which is what
Airbyte's connectors published on PyPI (``pip install airbyte-source-foo``) install.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from airpipe.connectors.errors import ConnectorNotFound


@dataclass(frozen=True)
class BuiltinDefinition:
    """A connector definition that ships with airpipe; the service layer seeds these on first start."""

    id: uuid.UUID
    actor_type: str  # "source" or "destination"
    name: str
    docker_repository: str
    docker_image_tag: str
    documentation_url: str
    module: str


# The ids are fixed so every installation (and every test database) agrees on them.
FAKER = BuiltinDefinition(
    id=uuid.UUID("a3395a42-d499-4316-9233-0451ac0673d1"),
    actor_type="source",
    name="Faker",
    docker_repository="airpipe/source-faker",
    docker_image_tag="0.1.0",
    documentation_url="https://docs.airbyte.com/integrations/sources/faker",
    module="airpipe.sources.faker",
)
LOCAL_JSON = BuiltinDefinition(
    id=uuid.UUID("610eabab-b1f9-4421-9c46-9ff173672120"),
    actor_type="destination",
    name="Local JSON",
    docker_repository="airpipe/destination-local-json",
    docker_image_tag="0.1.0",
    documentation_url="https://docs.airbyte.com/integrations/destinations/local-json",
    module="airpipe.destinations.local_json",
)

POSTGRES_SOURCE = BuiltinDefinition(
    id=uuid.UUID("decd338e-5647-4c0b-adf4-da0e75f5a750"),
    actor_type="source",
    name="Postgres",
    docker_repository="airpipe/source-postgres",
    docker_image_tag="0.1.0",
    documentation_url="https://docs.airbyte.com/integrations/sources/postgres",
    module="airpipe.sources.postgres",
)
FILE_SOURCE = BuiltinDefinition(
    id=uuid.UUID("778daa7c-feaf-4db6-96f3-70fd645acc77"),
    actor_type="source",
    name="File (CSV, JSON lines)",
    docker_repository="airpipe/source-file",
    docker_image_tag="0.1.0",
    documentation_url="https://docs.airbyte.com/integrations/sources/file",
    module="airpipe.sources.file",
)
POSTGRES_DESTINATION = BuiltinDefinition(
    id=uuid.UUID("25c5221d-dce2-4163-ade9-739ef790f503"),
    actor_type="destination",
    name="Postgres",
    docker_repository="airpipe/destination-postgres",
    docker_image_tag="0.1.0",
    documentation_url="https://docs.airbyte.com/integrations/destinations/postgres",
    module="airpipe.destinations.postgres",
)
SQLITE_DESTINATION = BuiltinDefinition(
    id=uuid.UUID("b76be0a6-27dc-4560-95f6-2623da0bd7b6"),
    actor_type="destination",
    name="SQLite",
    docker_repository="airpipe/destination-sqlite",
    docker_image_tag="0.1.0",
    documentation_url="https://docs.airbyte.com/integrations/destinations/sqlite",
    module="airpipe.destinations.sqlite",
)

DATA_SINK_DESTINATION = BuiltinDefinition(
    id=uuid.UUID("fba8d987-15cf-4cc2-8c7b-6f317741f69c"),
    actor_type="destination",
    name="Data sink",
    docker_repository="airpipe/destination-data-sink",
    docker_image_tag="0.1.0",
    documentation_url="https://github.com/airpipe/airpipe#data-sinks",
    module="airpipe.destinations.data_sink",
)

BUILTIN_DEFINITIONS: list[BuiltinDefinition] = [
    *(FAKER, FILE_SOURCE, POSTGRES_SOURCE),
    *(LOCAL_JSON, POSTGRES_DESTINATION, SQLITE_DESTINATION, DATA_SINK_DESTINATION),
]

_BUILTINS = {definition.docker_repository: definition for definition in BUILTIN_DEFINITIONS}

# A program name we are willing to look up: no path separators, no "..", no options.
_PROGRAM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def resolve(docker_repository: str, docker_image_tag: str | None = None, *, search_dirs: Iterable[str | Path] = ()) -> list[str]:
    """The command (argv prefix) for a connector; the verb and its arguments go after it.

    Built-ins run with this interpreter. Any other ``owner/name`` is an executable ``name`` found
    first in each of ``search_dirs`` or in the ``bin`` of a virtualenv inside it (where
    `airpipe connectors install` puts each package: ``<data dir>/connectors/<package>/bin``, the
    package the install hint names first), then on PATH. The tag is not used to pick a program:
    what is installed is what runs (one version per installation).
    Raises ConnectorNotFound, saying how to install the connector.
    """
    builtin = _BUILTINS.get(docker_repository)
    if builtin is not None:
        return [sys.executable, "-m", builtin.module]
    owner, _, name = docker_repository.rpartition("/")
    if not _PROGRAM.fullmatch(name):
        raise ConnectorNotFound(f"connector {docker_repository!r} is not a valid repository name (expected owner/name)")
    dirs: list[str] = []
    for search_dir in search_dirs:
        base = Path(search_dir).absolute()
        dirs += [str(base), str(base / install_hint(docker_repository) / "bin"), *map(str, sorted(base.glob("*/bin")))]
    found = (shutil.which(name, path=os.pathsep.join(dirs)) if dirs else None) or shutil.which(name)
    if found is None:
        package = install_hint(docker_repository)
        raise ConnectorNotFound(
            f"connector {docker_repository} is not installed: run `pip install {package}` or `airpipe connectors install {package}`"
        )
    return [found]


def install_hint(docker_repository: str) -> str:
    """The PyPI package that provides a repository's program: Airbyte's own are ``airbyte-<name>``."""
    owner, _, name = docker_repository.rpartition("/")
    return f"airbyte-{name}" if owner == "airbyte" else name


def is_builtin(docker_repository: str) -> bool:
    return docker_repository in _BUILTINS
