"""Business logic: each public function takes a request Struct and returns a read Struct.

Services know nothing of HTTP or settings. What they need from the deployment is handed to
``configure()`` once at start-up (by ``api.app.create_app``) and kept in ``options``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass
class Options:
    #: where file connectors may read and write; connector paths are resolved inside it
    local_root: Path = Path(".airpipe/local").absolute()
    #: how long check/discover/spec requests wait for their job
    job_wait_timeout: float = 120.0
    #: must a worker process be running (production: jobs go through Redis to `airpipe worker`)?
    workers_required: bool = False
    #: a worker that beat within this many seconds is alive (the lease length)
    worker_liveness: float = 60.0
    #: may a notification channel's URL name a loopback, private, link-local... address?
    webhook_allow_private_urls: bool = False


options = Options()


def configure(
    *,
    local_root: Path,
    job_wait_timeout: float,
    workers_required: bool = False,
    worker_liveness: float = 60.0,
    webhook_allow_private_urls: bool = False,
) -> None:
    options.local_root = local_root
    options.job_wait_timeout = job_wait_timeout
    options.workers_required = workers_required
    options.worker_liveness = worker_liveness
    options.webhook_allow_private_urls = webhook_allow_private_urls
