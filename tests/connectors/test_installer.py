"""Installing connector packages into virtualenvs of their own, and running them through the API.

Offline: the package is a wheel built on the spot (``tinywheel.py``), installed with ``--no-index``.
tests/integration/test_pypi_connector.py does the same with a real Airbyte connector from PyPI.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
from tinywheel import build_wheel

from airpipe.connectors import registry
from airpipe.connectors.errors import ConnectorNotFound
from airpipe.connectors.installer import ConnectorProgram, InstalledConnector, InstallError, install, installed, package_name
from airpipe.settings import Settings

DEFAULT_WORKSPACE_ID = "5ae6b09b-fdec-41af-aaf7-7d94cfc33ef6"
LOCAL_JSON_ID = str(registry.LOCAL_JSON.id)
OFFLINE = ["--no-index"]


@pytest.fixture(scope="module")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("wheels")
    return {
        "0.1.0": build_wheel(directory, version="0.1.0"),
        "0.2.0": build_wheel(directory, version="0.2.0"),
        "helpers": build_wheel(directory, name="tiny-helpers", scripts={"tiny-helper": "source_tiny:main"}),
    }


@pytest.fixture(scope="module")
def tiny(wheels: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> InstalledConnector:
    """airbyte-source-tiny 0.1.0, installed once for the module's tests that only read it."""
    return install(str(wheels["0.1.0"]), tmp_path_factory.mktemp("connectors"), pip_args=OFFLINE)


# INSTALLER


def test_a_package_gets_a_virtualenv_holding_its_connector_programs(tiny: InstalledConnector) -> None:
    assert tiny.package == "airbyte-source-tiny"
    assert tiny.version == "0.1.0"
    assert tiny.executables == ["source-tiny"]
    assert tiny.bin_dir == tiny.venv / "bin" and tiny.venv.name == "airbyte-source-tiny"
    assert tiny.documentation_url == "https://example.com/tiny"
    result = subprocess.run([str(tiny.bin_dir / "source-tiny"), "spec"], capture_output=True, text=True, check=True)
    assert msgspec.json.decode(result.stdout)["spec"]["connectionSpecification"]["title"] == "Tiny 0.1.0"


def test_a_virtualenv_is_made_at_the_real_path_of_a_symlinked_directory(wheels: dict[str, Path], tmp_path: Path) -> None:
    # its scripts name their interpreter by absolute path: one through the link would die with it
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    connector = install(str(wheels["0.1.0"]), tmp_path / "link", pip_args=OFFLINE)
    assert connector.venv == tmp_path.resolve() / "real" / "airbyte-source-tiny"
    (tmp_path / "link").unlink()
    subprocess.run([str(connector.bin_dir / "source-tiny"), "spec"], capture_output=True, check=True)


def test_installed_lists_the_connectors_of_a_directory(tiny: InstalledConnector, tmp_path: Path) -> None:
    assert installed(tiny.venv.parent) == [tiny]
    (tmp_path / "not-a-virtualenv").mkdir()
    assert installed(tmp_path) == []
    assert installed(tmp_path / "missing") == []


def test_the_registry_finds_a_connector_in_the_virtualenvs_of_its_search_dirs(tiny: InstalledConnector) -> None:
    command = [str(tiny.bin_dir / "source-tiny")]
    assert registry.resolve("airbyte/source-tiny", "0.1.0", search_dirs=[tiny.venv.parent]) == command
    assert registry.resolve("someone/source-tiny", "9", search_dirs=[tiny.venv.parent]) == command  # the owner picks nothing
    with pytest.raises(ConnectorNotFound, match="airpipe connectors install airbyte-source-tiny"):
        registry.resolve("airbyte/source-tiny", "0.1.0", search_dirs=[tiny.venv])  # one level down: not a connectors dir


def test_a_failed_pip_install_says_why_and_leaves_nothing_behind(tmp_path: Path) -> None:
    with pytest.raises(InstallError) as info:
        install("airbyte-source-nothing==1.0", tmp_path, pip_args=OFFLINE)
    assert info.value.message == "could not install airbyte-source-nothing==1.0 (exit status 1)"
    assert any("No matching distribution found for airbyte-source-nothing==1.0" in line for line in info.value.last_lines)
    assert list(tmp_path.iterdir()) == []


def test_a_package_without_connector_programs_is_refused(wheels: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(InstallError) as info:
        install(str(wheels["helpers"]), tmp_path, pip_args=OFFLINE)
    assert str(info.value) == "tiny-helpers 0.1.0 installs no connector program (no source-* or destination-* command)"
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("spec", "name"),
    [
        ("airbyte-source-faker", "airbyte-source-faker"),
        ("airbyte-source-faker==7.2.1", "airbyte-source-faker"),
        (" Airbyte_Source.Faker[extra] >=7,<8", "airbyte-source-faker"),
        ("source-tiny @ file:///tmp/source-tiny", "source-tiny"),
    ],
)
def test_the_package_name_comes_from_the_requirement(spec: str, name: str) -> None:
    assert package_name(spec) == name


def test_the_package_name_of_a_wheel_comes_from_its_file_name(wheels: dict[str, Path]) -> None:
    assert package_name(str(wheels["0.2.0"])) == "airbyte-source-tiny"


@pytest.mark.parametrize("spec", ["./source-tiny", "/tmp/missing.whl", "", "-e ."])
def test_a_path_is_not_a_package(spec: str) -> None:
    with pytest.raises(InstallError, match="is not a package: give a name"):
        package_name(spec)


def test_airbytes_packages_name_airbyte_repositories_and_others_their_own() -> None:
    airbyte = InstalledConnector("airbyte-source-google-sheets", "1.0", ["source-google-sheets"], Path("/c/x/bin"))
    assert airbyte.programs == [ConnectorProgram("source-google-sheets", "source", "airbyte/source-google-sheets", "Google Sheets")]
    other = InstalledConnector("acme-connectors", "2.0", ["destination-lake", "source-crm"], Path("/c/y/bin"))
    assert other.programs == [
        ConnectorProgram("destination-lake", "destination", "acme-connectors/destination-lake", "Lake"),
        ConnectorProgram("source-crm", "source", "acme-connectors/source-crm", "Crm"),
    ]


# THROUGH THE CLI AND THE API


@pytest.fixture
def airpipe(settings: Settings) -> Any:
    """``airpipe("connectors", "list")``: the command in a process of its own, on the test's
    data directory and database; returns its standard output."""

    def run(*args: str) -> str:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRPIPE_")}
        env.update(AIRPIPE_DATA_DIR=str(settings.data_dir), AIRPIPE_DATABASE_URL=settings.database_url, PIP_NO_INDEX="1")
        result = subprocess.run([sys.executable, "-m", "airpipe.cli", *args], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    return run


def sandbox_line(settings: Settings) -> str:
    """The first line of `airpipe connectors list`: which sandbox connectors run in."""
    from airpipe.connectors.sandbox import Sandbox

    line = Sandbox(settings.sandbox, settings.local_root, settings.data_dir).describe()
    assert line.startswith(("sandbox: bubblewrap;", "sandbox: off ("))
    return line


def spec_jobs(call: Any, definition_id: str) -> int:
    return call("jobs/list", {"configId": definition_id, "configType": "get_spec"})["totalJobCount"]


def test_connectors_install_registers_a_definition_that_runs_through_the_api(
    call: Any, airpipe: Any, wheels: dict[str, Path], settings: Settings
) -> None:
    installed_in = settings.data_dir / "connectors" / "airbyte-source-tiny"
    output = airpipe("connectors", "install", str(wheels["0.1.0"]))
    [definition] = [d for d in call("source_definitions/list")["sourceDefinitions"] if d["dockerRepository"] == "airbyte/source-tiny"]
    definition_id = definition["sourceDefinitionId"]
    assert output == (
        f"installed airbyte-source-tiny 0.1.0 in {installed_in}\n"
        f"registered source definition {definition_id} 'Tiny': airbyte/source-tiny:0.1.0\n"
    )
    assert definition["name"] == "Tiny" and definition["dockerImageTag"] == "0.1.0"
    assert definition["documentationUrl"] == "https://example.com/tiny"

    body = {"sourceDefinitionId": definition_id}
    assert call("source_definition_specifications/get", body)["connectionSpecification"]["title"] == "Tiny 0.1.0"
    call("source_definition_specifications/get", body)
    assert spec_jobs(call, definition_id) == 1  # cached on the definition

    source = call(
        "sources/create",
        {"workspaceId": DEFAULT_WORKSPACE_ID, "sourceDefinitionId": definition_id, "connectionConfiguration": {"count": 3}, "name": "tiny"},
    )
    assert call("sources/check_connection", {"sourceId": source["sourceId"]})["status"] == "succeeded"
    catalog = call("sources/discover_schema", {"sourceId": source["sourceId"]})["catalog"]
    assert [s["stream"]["name"] for s in catalog["streams"]] == ["numbers"]
    destination = call(
        "destinations/create",
        {
            "workspaceId": DEFAULT_WORKSPACE_ID,
            "destinationDefinitionId": LOCAL_JSON_ID,
            "connectionConfiguration": {"destination_path": "/local/tiny"},
            "name": "json",
        },
    )
    connection = call(
        "connections/create",
        {"sourceId": source["sourceId"], "destinationId": destination["destinationId"], "status": "active", "syncCatalog": catalog},
    )
    job = call("connections/sync", {"connectionId": connection["connectionId"]})["job"]
    assert call("jobs/get", {"id": job["id"]})["job"]["status"] == "succeeded"
    assert len((settings.local_root / "tiny" / "numbers.jsonl").read_text().splitlines()) == 3

    # an upgrade moves the definition to the new tag, and so the spec is read again
    output = airpipe("connectors", "install", str(wheels["0.2.0"]))
    assert output.splitlines()[1] == f"registered source definition {definition_id} 'Tiny': airbyte/source-tiny:0.2.0"
    assert call("source_definition_specifications/get", body)["connectionSpecification"]["title"] == "Tiny 0.2.0"
    assert spec_jobs(call, definition_id) == 2
    assert call("source_definitions/get", body)["dockerImageTag"] == "0.2.0"

    assert airpipe("connectors", "list") == (
        f"{sandbox_line(settings)}\n"
        f"airbyte-source-tiny 0.2.0 in {installed_in}\n  source-tiny: source definition {definition_id} 'Tiny': airbyte/source-tiny:0.2.0\n"
    )


def test_connectors_list_says_when_nothing_is_installed(airpipe: Any, settings: Settings) -> None:
    connectors_dir = settings.data_dir / "connectors"
    expected = f"{sandbox_line(settings)}\nno connectors installed in {connectors_dir}: add one with `airpipe connectors install PACKAGE`\n"
    assert airpipe("connectors", "list") == expected


def test_a_source_of_a_connector_that_is_not_installed_is_a_422_saying_how_to_install_it(call: Any) -> None:
    definition = call(
        "source_definitions/create", {"name": "Absent", "dockerRepository": "airbyte/source-absent", "dockerImageTag": "1.0.0"}
    )
    body = {
        "workspaceId": DEFAULT_WORKSPACE_ID,
        "sourceDefinitionId": definition["sourceDefinitionId"],
        "connectionConfiguration": {},
        "name": "absent",
    }
    error = call("sources/create", body, status=422)
    [job] = call("jobs/list", {"configId": definition["sourceDefinitionId"], "configType": "get_spec"})["jobs"]
    assert error == {
        "message": "Reading the spec of airbyte/source-absent:1.0.0 failed: connector airbyte/source-absent is not installed: "
        "run `pip install airbyte-source-absent` or `airpipe connectors install airbyte-source-absent` "
        f"(job {job['job']['id']})",
        "validationErrors": [],
    }
