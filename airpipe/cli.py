"""The `airpipe` command. Imports lazily, so `airpipe openapi` does not start a database."""

from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="airpipe", description="A self-hostable data-integration service speaking Airbyte's Configuration API."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("serve", help="serve the API (and, without Redis, run jobs in-process)")
    commands.add_parser("worker", help="run jobs from the queue (production: one or more per machine)")
    commands.add_parser("migrate", help="create or upgrade the database schema and seed the defaults")
    commands.add_parser("openapi", help="print the OpenAPI document of the API")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from airpipe.errors import SettingsError

    try:
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
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    return 0


def worker() -> int:
    from airpipe import models
    from airpipe.settings import Settings
    from airpipe.worker import queue, tasks  # noqa: F401  (registers the tasks)

    settings = Settings.from_env()
    models.bind(models.open_database(settings.database_url))
    queue.configure(settings)
    queue.huey.create_consumer(workers=settings.worker_threads, worker_type="thread").run()
    return 0


def migrate() -> int:
    from airpipe import models
    from airpipe.api.app import seed
    from airpipe.settings import Settings

    settings = Settings.from_env()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    models.bind(models.open_database(settings.database_url))
    with models.db.connection_context():
        version = models.migrate()
        seed()
    print(f"database at schema version {version}")
    return 0


def openapi() -> int:
    from airpipe.api.openapi import spec_bytes

    sys.stdout.buffer.write(spec_bytes())
    return 0


COMMANDS = {"serve": serve, "worker": worker, "migrate": migrate, "openapi": openapi}

if __name__ == "__main__":
    sys.exit(main())
