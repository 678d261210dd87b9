"""The Huey instance, bound to its storage by ``configure(settings)`` at start-up.

Tasks are declared on ``huey`` at import time (huey's way), so the instance exists before the
settings are known; ``configure`` then gives it Redis (production) or an SQLite file (the
embedded default). Tests switch it to ``immediate`` mode instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from huey import Huey
from huey.consumer import Consumer
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

from airpipe.connectors.sandbox import Sandbox
from airpipe.settings import Settings
from airpipe.worker import notifications

huey = Huey("airpipe", storage_class=MemoryStorage)


@dataclass
class RunnerOptions:
    """What the job runner needs to know about the deployment."""

    connector_env: dict[str, str] = field(default_factory=dict)
    connector_timeout: float = 300.0
    #: where installed third-party connectors are looked for, besides PATH
    connector_dirs: list[Path] = field(default_factory=list)
    #: where connectors get their run directories (``<data dir>/run``); None: the temporary directory
    run_root: Path | None = None
    #: how connectors are confined; None: not at all (tests that build no settings)
    sandbox: Sandbox | None = None
    max_attempts: int = 3
    retry_backoff: float = 10.0
    lease_seconds: int = 60
    source_silence_timeout: float = 1800.0
    job_retention_days: int = 30
    #: a check/discover/spec job older than this has no caller waiting for it: it is not run
    synchronous_job_ttl: float = 120.0


runner_options = RunnerOptions()


def configure(settings: Settings) -> None:
    if settings.redis_url:
        huey.storage_class = RedisStorage
        huey.storage_kwargs = {"url": settings.redis_url}
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        huey.storage_class = SqliteStorage
        huey.storage_kwargs = {"filename": str(settings.data_dir / "queue.db")}
    huey.name = settings.queue_name
    huey.storage = huey.create_storage()
    runner_options.connector_env = settings.connector_env()
    runner_options.connector_timeout = settings.connector_timeout
    runner_options.connector_dirs = [settings.data_dir / "connectors"]
    runner_options.run_root = settings.data_dir / "run"
    runner_options.sandbox = Sandbox(settings.sandbox, settings.local_root, settings.data_dir)
    runner_options.max_attempts = settings.max_attempts
    runner_options.retry_backoff = settings.retry_backoff
    runner_options.lease_seconds = settings.lease_seconds
    runner_options.source_silence_timeout = settings.source_silence_timeout
    runner_options.job_retention_days = settings.job_retention_days
    runner_options.synchronous_job_ttl = settings.job_wait_timeout
    notifications.smtp = notifications.Smtp(
        settings.smtp_host, settings.smtp_port, settings.smtp_from, settings.smtp_user, settings.smtp_password, settings.smtp_starttls
    )
    notifications.allow_private_urls = settings.webhook_allow_private_urls


def ping() -> None:
    """Raises if the queue's storage cannot be reached (Redis down, SQLite file unreadable)."""
    storage = huey.storage
    if isinstance(storage, RedisStorage):
        storage.conn.ping()
    else:
        storage.queue_size()


#: an idle consumer polls its storage at most this far apart (huey's default, 10 s, is a long
#: wait for a job on the SQLite queue, which cannot block on a read as Redis does)
MAX_POLL_DELAY = 1.0


class EmbeddedConsumer(Consumer):
    """A consumer running inside `airpipe serve`: uvicorn owns the process's signals, so this one
    installs no handlers of its own; it is stopped by the app's lifespan instead."""

    def _set_signal_handlers(self) -> None:
        pass


def start_embedded_consumer(workers: int) -> Consumer:
    consumer = EmbeddedConsumer(
        huey, workers=workers, worker_type="thread", periodic=True, check_worker_health=False, max_delay=MAX_POLL_DELAY
    )
    consumer.start()
    return consumer
