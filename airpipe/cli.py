"""The `airpipe` command. Imports lazily, so `airpipe openapi` does not start a database."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from airpipe import __version__, remote

#: the commands that talk to a running server (airpipe/remote.py)
REMOTE = ("connections", "sync", "jobs", "sources", "destinations")

if TYPE_CHECKING:
    from airpipe.connectors.sandbox import Sandbox
    from airpipe.models import ActorDefinition
    from airpipe.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="airpipe", description="A self-hostable data-integration service speaking Airbyte's Configuration API."
    )
    parser.add_argument("--version", action="version", version=f"airpipe {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve_parser = commands.add_parser("serve", help="serve the API (and, without Redis, run jobs in-process)")
    _server_flags(serve_parser, listens=True)
    worker_parser = commands.add_parser("worker", help="run jobs from the queue (production: one or more per machine)")
    _server_flags(worker_parser, listens=False)
    commands.add_parser("migrate", help="create or upgrade the database schema and seed the defaults")
    openapi_parser = commands.add_parser("openapi", help="print the OpenAPI document of the API")
    openapi_parser.add_argument(
        "--public", action="store_true", help="the public API's (/api/public/v1) instead of the Configuration API's"
    )
    connectors_parser = commands.add_parser(
        "connectors",
        help="install connector packages from PyPI (on every machine that runs jobs) and list them",
        description="Connector packages live in virtualenvs under $AIRPIPE_DATA_DIR/connectors; each connector "
        "they install is registered as a definition (airbyte-source-faker gives airbyte/source-faker, "
        "tagged with the package version).",
    )
    verbs = connectors_parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    install = verbs.add_parser("install", help="install or upgrade a connector package and register its definitions")
    install.add_argument("package", help="airbyte-source-faker, airbyte-source-faker==7.2.1, NAME @ URL, or a wheel file")
    verbs.add_parser("list", help="list the installed connectors, their versions and definitions")
    remote.add_commands(commands)
    args = parser.parse_args(argv)
    _apply_flags(args)

    from airpipe import logs
    from airpipe.errors import SettingsError

    try:
        logs.configure(os.environ)
        if args.command == "connectors":
            return connectors(args)
        if args.command in REMOTE:
            return remote.run(args)
        if args.command == "openapi":
            return openapi(public=args.public)
        return COMMANDS[args.command]()
    except SettingsError as exc:
        print(f"airpipe: {exc}", file=sys.stderr)
        return 2


def serve() -> int:
    import uvicorn

    from airpipe.api.app import create_app
    from airpipe.settings import Settings

    settings = Settings.from_env()
    app = create_app(settings)
    mode = "embedded worker" if settings.embedded_queue else "jobs run by `airpipe worker`"
    logging.getLogger("airpipe").info("airpipe on http://%s:%s (%s)", settings.host, settings.port, mode)
    if settings.embedded_queue:
        logging.getLogger("airpipe").info("connectors: %s", _sandbox(settings).describe())
    # log_config=None: uvicorn's lines go through airpipe's handler (AIRPIPE_LOG_LEVEL, _FORMAT)
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=settings.access_log)
    return 0


#: flag -> the environment variable it overrides (flags beat the environment, which beats the defaults)
SERVER_FLAGS = {
    "host": "AIRPIPE_HOST",
    "port": "AIRPIPE_PORT",
    "data_dir": "AIRPIPE_DATA_DIR",
    "log_level": "AIRPIPE_LOG_LEVEL",
    "workers": "AIRPIPE_WORKER_THREADS",
}


def _server_flags(parser: argparse.ArgumentParser, *, listens: bool) -> None:
    if listens:
        parser.add_argument("--host", help="the address to listen on (AIRPIPE_HOST; default 127.0.0.1)")
        parser.add_argument("--port", type=int, help="the port to listen on (AIRPIPE_PORT; default 8000)")
    parser.add_argument("--data-dir", help="SQLite files, queue, installed connectors (AIRPIPE_DATA_DIR; default ./.airpipe)")
    levels = ["DEBUG", "INFO", "WARNING", "ERROR"]
    parser.add_argument("--log-level", choices=levels, type=str.upper, help="AIRPIPE_LOG_LEVEL; default INFO")
    parser.add_argument("--workers", type=int, help="job threads (AIRPIPE_WORKER_THREADS; default 4)")


def _apply_flags(args: argparse.Namespace) -> None:
    """A flag given on the command line sets its environment variable for this process, so that
    the one place that reads settings (Settings.from_env) sees it, ahead of the environment's."""
    for flag, variable in SERVER_FLAGS.items():
        value = getattr(args, flag, None)
        if value is not None:
            os.environ[variable] = str(value)


def worker() -> int:
    from airpipe.services import bootstrap
    from airpipe.services.schedules import register_tick_hook
    from airpipe.settings import Settings
    from airpipe.worker import queue, tasks  # (importing tasks registers them)

    settings = Settings.from_env()
    bootstrap.open_database(settings)
    queue.configure(settings)
    register_tick_hook()  # the tick starts the connections' scheduled syncs
    logging.getLogger("airpipe").info("connectors: %s", _sandbox(settings).describe())
    tasks.start_watch()  # beats (health counts this worker) and takes over dead workers' attempts
    try:
        queue.huey.create_consumer(workers=settings.worker_threads, worker_type="thread", max_delay=queue.MAX_POLL_DELAY).run()
    finally:
        tasks.stop_watch()
    return 0


def migrate() -> int:
    from airpipe import models
    from airpipe.services import bootstrap
    from airpipe.settings import Settings

    settings = Settings.from_env()
    bootstrap.open_database(settings)
    with models.db.connection_context():
        version = models.migrate()
    bootstrap.seed()
    print(f"database at schema version {version}")
    return 0


def connectors(args: argparse.Namespace) -> int:
    from airpipe.services import bootstrap
    from airpipe.settings import Settings

    settings = Settings.from_env()
    bootstrap.open_database(settings)
    bootstrap.require_current_schema()  # before a long install, not after it
    connectors_dir = settings.data_dir / "connectors"  # where the worker looks (worker/queue.py)
    if args.verb == "install":
        return _install_connector(args.package, connectors_dir)
    print(_sandbox(settings).describe())  # first: what the listed connectors may touch when they run
    return _list_connectors(connectors_dir)


def _sandbox(settings: Settings) -> Sandbox:
    from airpipe.connectors.sandbox import Sandbox

    return Sandbox(settings.sandbox, settings.local_root, settings.data_dir)


def _install_connector(package: str, connectors_dir: Path) -> int:
    from airpipe import models
    from airpipe.connectors import installer
    from airpipe.services.definitions import register_connector

    try:
        connector = installer.install(package, connectors_dir, on_output=lambda line: print(line, file=sys.stderr))
    except installer.InstallError as exc:  # pip's output is already on the terminal
        print(f"airpipe: {exc.message}", file=sys.stderr)
        return 1
    print(f"installed {connector.package} {connector.version} in {connector.venv}")
    with models.db.connection_context():
        for program in connector.programs:
            definition = register_connector(
                program.actor_type, program.name, program.docker_repository, connector.version, connector.documentation_url
            )
            print(f"registered {_describe(definition)}")
    return 0


def _list_connectors(connectors_dir: Path) -> int:
    from airpipe import models
    from airpipe.connectors.installer import installed
    from airpipe.connectors.registry import is_builtin

    found = installed(connectors_dir)
    if not found:
        print(f"no connectors installed in {connectors_dir}: add one with `airpipe connectors install PACKAGE`")
        return 0
    with models.db.connection_context():
        live = models.ActorDefinition.select().where(models.ActorDefinition.tombstone == False)
        definitions = [d for d in live if not is_builtin(d.docker_repository)]
    for connector in found:
        print(f"{connector.package} {connector.version} in {connector.venv}")
        for program in connector.programs:
            # the registry runs the program named after the slash, whatever the owner
            runs = [d for d in definitions if d.docker_repository.rpartition("/")[2] == program.executable]
            for definition in runs:
                print(f"  {program.executable}: {_describe(definition)}")
            if not runs:
                print(f"  {program.executable}: no definition (`airpipe connectors install {connector.package}` registers one)")
    return 0


def _describe(definition: ActorDefinition) -> str:
    image = f"{definition.docker_repository}:{definition.docker_image_tag}"
    return f"{definition.actor_type} definition {definition.id} {definition.name!r}: {image}"


def openapi(public: bool = False) -> int:
    if public:
        from airpipe.api.public_openapi import public_spec_bytes

        sys.stdout.buffer.write(public_spec_bytes())
        return 0
    from airpipe.api.openapi import spec_bytes

    sys.stdout.buffer.write(spec_bytes())
    return 0


COMMANDS = {"serve": serve, "worker": worker, "migrate": migrate, "openapi": openapi}

if __name__ == "__main__":
    sys.exit(main())
