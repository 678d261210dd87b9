"""The ASGI application: ``create_app(settings)`` binds the database and the queue, prepares
the schema and seed data, and (embedded default) runs the job consumer in-process."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from airpipe import services
from airpipe.api import dashboard
from airpipe.api.auth import AuthMiddleware
from airpipe.api.errors import EXCEPTION_HANDLERS
from airpipe.api.openapi import spec_bytes
from airpipe.api.public_openapi import public_spec_bytes
from airpipe.api.public_routing import public_routes
from airpipe.api.routing import TableRouter, authorize_read, build_routes, close_loop_connection
from airpipe.services import bootstrap, schedules
from airpipe.settings import Settings
from airpipe.worker import queue, tasks

logger = logging.getLogger("airpipe")


def prepare(settings: Settings) -> None:
    """Bind the database and the queue; create or check the schema; seed the defaults."""
    bootstrap.open_database(settings)
    queue.configure(settings)
    services.configure(
        local_root=settings.local_root,
        job_wait_timeout=settings.job_wait_timeout,
        workers_required=not settings.embedded_queue,
        worker_liveness=settings.lease_seconds,
        webhook_allow_private_urls=settings.webhook_allow_private_urls,
    )
    schedules.register_tick_hook()  # this process's embedded consumer ticks: start scheduled syncs
    bootstrap.require_current_schema()
    bootstrap.seed()


async def openapi(request: Request) -> Response:
    await authorize_read(request.url.path)
    return Response(spec_bytes(), media_type="application/json")


async def public_openapi(request: Request) -> Response:
    await authorize_read(request.url.path)
    return Response(public_spec_bytes(), media_type="application/json")


def create_app(settings: Settings, *, run_consumer: bool | None = None) -> Starlette:
    """``run_consumer`` defaults to the embedded mode: no Redis means this process runs the jobs."""
    prepare(settings)
    in_process = settings.embedded_queue if run_consumer is None else run_consumer

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        consumer = queue.start_embedded_consumer(settings.worker_threads) if in_process else None
        watch = tasks.start_watch() if in_process else None
        try:
            yield
        finally:
            close_loop_connection()
            if consumer is not None:
                consumer.stop(graceful=True)
            if watch is not None:
                tasks.stop_watch()

    # always: without a password (loopback only) a request may still bring an API key, whose scopes count
    middleware = [Middleware(AuthMiddleware, user=settings.basic_auth_user, password=settings.basic_auth_password)]
    app = Starlette(middleware=middleware, exception_handlers=EXCEPTION_HANDLERS)
    app.state.public_origin = settings.public_origin  # the dashboard's cross-site check (web.same_origin)
    # the dashboard's routes come after the API's: the TableRouter finds the API's plain paths in
    # its dict first, and only what it does not hold (the pages, by pattern) takes Starlette's way
    routes = build_routes(openapi, settings.max_body_bytes) + public_routes(settings.max_body_bytes)
    routes.append(Route("/api/public/v1/openapi", public_openapi, methods=["GET"]))
    routes += dashboard.routes()
    app.router = TableRouter(routes, lifespan=lifespan)
    return app
