"""Each row of the operation table becomes POST routes; each answers directly with or without a
trailing slash (some clients add one and treat a redirect as an error)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import msgspec
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

from airpipe import principal
from airpipe.api.decoding import decode_body
from airpipe.api.operations import GETS, INLINE, OPERATIONS, Operation
from airpipe.api.responses import MsgspecResponse
from airpipe.errors import OUTAGES, PayloadTooLarge
from airpipe.models import db
from airpipe.services import access, metrics

PREFIXES = ("/api", "")


def _call(service: Callable[..., Any], payload: Any) -> Any:
    return call_service(service) if payload is None else call_service(service, payload)


def call_service(service: Callable[..., Any], *args: Any) -> Any:
    """``service(*args)`` inside a database connection, in the calling worker thread (peewee's
    connection state is thread-local, so the connection is opened there)."""
    with db.connection_context():
        return service(*args)


def call_on_loop(service: Callable[..., Any], *args: Any) -> Any:
    """A short read (an INLINE operation's, a key's lookup) on the event loop's thread, which
    keeps its connection open from one request to the next (closed by the app's lifespan):
    taking one from the pool and giving it back cost a tenth of such a read. A connection that
    failed is closed, so that the next request opens a new one."""
    if db.is_closed():
        db.connect()
    try:
        return service(*args)
    except OUTAGES:
        db.close()
        raise


def close_loop_connection() -> None:
    """At shutdown, on the event loop's thread: close the connection ``call_on_loop`` kept."""
    if not db.is_closed():
        db.close()


async def read_body(receive: Receive, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to be over ``limit`` bytes, so an
    oversize body never sits in memory whole. (A declared Content-Length over it is refused by
    ``PostEndpoint`` before anything is read.)"""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def refuse_declared_oversize(content_length: str | None, limit: int) -> None:
    """413 before reading a body whose declared Content-Length is over ``limit``."""
    if content_length is not None and content_length.isdigit() and int(content_length) > limit:
        raise _too_large(limit)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than {limit} bytes (AIRPIPE_MAX_BODY_BYTES)")


_JSON_HEADERS = [(b"content-type", b"application/json")]
_encode = msgspec.json.Encoder().encode


class PostEndpoint:
    """One operation as a bare ASGI app: body in, request Struct, service, response Struct out.

    Starlette's function endpoints wrap each call in a Request, a Response and two exception
    wrappers: a third of a short request's time, for nothing these endpoints use. An exception
    goes up to the app's ExceptionMiddleware, which answers it with the one error mapping
    (``api/errors.py``), as it would from a function endpoint."""

    def __init__(self, operation: Operation, max_body_bytes: int) -> None:
        self.operation = operation
        self.limit = max_body_bytes
        self.on_loop = INLINE.get(operation.name)
        self.timer = metrics.REQUEST_SECONDS.labels(operation.name)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        try:
            await self._answer(scope, receive, send)
        finally:
            self.timer.observe(time.perf_counter() - started)

    async def _answer(self, scope: Scope, receive: Receive, send: Send) -> None:
        for name, value in scope["headers"]:
            if name == b"content-length":
                refuse_declared_oversize(value.decode("latin-1"), self.limit)
        operation = self.operation
        who = principal.current()
        limited = who.scopes is not principal.EVERYTHING  # a key: its scopes must cover this request
        if limited:
            access.require_level(who, operation.scope)
        payload = decode_body(await read_body(receive, self.limit), operation.request)
        if limited and who.workspaces_for(operation.scope) is not None:
            await run_in_threadpool(call_service, access.authorize, who, operation.scope, operation.resource, payload)
        result = None if self.on_loop is None else call_on_loop(self.on_loop, payload)
        if result is None:  # not an inline read, or one too long to build on the loop
            result = await run_in_threadpool(_call, operation.service, payload)
        if operation.response is None:
            await send({"type": "http.response.start", "status": 204, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        body = _encode(result)
        headers = [(b"content-length", b"%d" % len(body)), *_JSON_HEADERS]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def get_endpoint(service: Callable[[], Any], *, secured: bool = True) -> Callable[[Request], Any]:
    # GET services (health, debug) open a database connection only if they need one: health
    # must answer, and say so, when the database is down
    async def endpoint(request: Request) -> Response:
        if secured:
            await authorize_read(request.url.path)
        result = await run_in_threadpool(service)
        return MsgspecResponse(result, status_code=getattr(result, "http_status", 200))

    return endpoint


def _both(path: str) -> list[str]:
    return [prefix + path + slash for prefix in PREFIXES for slash in ("", "/")]


async def authorize_read(path: str) -> None:
    """A GET of the whole service (debug, metrics, the OpenAPI documents): a key needs read for
    every workspace."""
    who = principal.current()
    if who.scopes is not principal.EVERYTHING:
        await run_in_threadpool(call_service, access.authorize, who, "read", path, None)


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus's text format (services.metrics); the job figures come from the database."""
    await authorize_read(request.url.path)
    body = await run_in_threadpool(metrics.scrape)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def build_routes(openapi: Callable[[Request], Any], max_body_bytes: int) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for operation in OPERATIONS:
        endpoint = PostEndpoint(operation, max_body_bytes)
        routes += [Route(path, endpoint, methods=["POST"], name=operation.name) for path in _both(operation.path)]
    for path, service, _ in GETS:
        answer = get_endpoint(service, secured=path != "/v1/health")  # load balancers probe health without credentials
        routes += [Route(p, answer, methods=["GET"]) for p in _both(path)]
    routes += [Route(p, openapi, methods=["GET"]) for p in _both("/v1/openapi")]
    routes += [Route(p, metrics_endpoint, methods=["GET"]) for p in (*_both("/v1/metrics"), "/metrics")]
    return routes


class TableRouter(Router):
    """Starlette's Router tries each route's pattern in turn: with ~500 routes, finding one took
    a tenth of a request (a third of one of the public API's, whose paths have parameters). A
    plain path is looked up in a dict; another is matched against the few routes with
    parameters (and mounts). What neither finds (a wrong method, an unknown path) takes
    Starlette's way, for its 405 and 404."""

    def __init__(self, routes: list[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes, **kwargs)
        self.by_path: dict[tuple[str, str], Route] = {
            (route.path, method): route
            for route in routes
            if isinstance(route, Route) and not route.param_convertors
            for method in route.methods or ()
        }
        # the rest in their order (a mount of static files before a page's {parameter}, say)
        self.with_parameters = [route for route in routes if not (isinstance(route, Route) and not route.param_convertors)]

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):  # mounted under a prefix: Starlette's way
            route = self.by_path.get((scope["path"], scope["method"]))
            if route is not None:
                scope.setdefault("router", self)
                scope.update(route=route, endpoint=route.endpoint, path_params={})
                await route.handle(scope, receive, send)
                return
            for candidate in self.with_parameters:
                match, child_scope = candidate.matches(scope)
                if match is Match.FULL:
                    scope.setdefault("router", self)
                    scope.update(child_scope)
                    await candidate.handle(scope, receive, send)
                    return
        await super().app(scope, receive, send)


async def run_service(service: Callable[..., Any], payload: Any = None) -> Any:
    """One service call in a worker thread inside a connection context, as an operation makes it:
    the dashboard's pages and form actions call services this way (they are not operations)."""
    return await run_in_threadpool(_call, service, payload)
