"""Each row of the operation table becomes POST routes; each answers directly with or without a
trailing slash (some clients add one and treat a redirect as an error)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route, Router
from starlette.types import Receive, Scope, Send

from airpipe.api.decoding import decode_body
from airpipe.api.operations import GETS, INLINE, OPERATIONS, Operation
from airpipe.api.responses import MsgspecResponse
from airpipe.errors import PayloadTooLarge
from airpipe.models import db

PREFIXES = ("/api", "")


def _call(service: Callable[..., Any], payload: Any) -> Any:
    # The connection is opened inside the worker thread: peewee's connection state is thread-local.
    with db.connection_context():
        return service() if payload is None else service(payload)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it is known to be over ``limit`` bytes: from its
    Content-Length before anything is read, or while a chunked body streams in, so an oversize
    body never sits in memory whole."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> PayloadTooLarge:
    return PayloadTooLarge(f"the request body is larger than {limit} bytes (AIRPIPE_MAX_BODY_BYTES)")


def post_endpoint(operation: Operation, max_body_bytes: int) -> Callable[[Request], Any]:
    inline = operation.name in INLINE

    async def endpoint(request: Request) -> Response:
        payload = decode_body(await read_body(request, max_body_bytes), operation.request)
        if inline:
            result = _call(operation.service, payload)
        else:
            result = await run_in_threadpool(_call, operation.service, payload)
        if operation.response is None:
            return Response(status_code=204)
        return MsgspecResponse(result)

    return endpoint


def get_endpoint(service: Callable[[], Any]) -> Callable[[Request], Any]:
    # GET services (health, debug) open a database connection only if they need one: health
    # must answer, and say so, when the database is down
    async def endpoint(request: Request) -> Response:
        result = await run_in_threadpool(service)
        return MsgspecResponse(result, status_code=getattr(result, "http_status", 200))

    return endpoint


def _both(path: str) -> list[str]:
    return [prefix + path + slash for prefix in PREFIXES for slash in ("", "/")]


def build_routes(openapi: Callable[[Request], Any], max_body_bytes: int) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for operation in OPERATIONS:
        endpoint = post_endpoint(operation, max_body_bytes)
        routes += [Route(path, endpoint, methods=["POST"], name=operation.name) for path in _both(operation.path)]
    for path, service, _ in GETS:
        routes += [Route(p, get_endpoint(service), methods=["GET"]) for p in _both(path)]
    routes += [Route(p, openapi, methods=["GET"]) for p in _both("/v1/openapi")]
    return routes


class TableRouter(Router):
    """Starlette's Router tries each route's pattern in turn: with ~250 routes, finding one took
    a tenth of a request. Every route here is a plain path, so it is looked up in a dict; what
    the dict does not hold (a wrong method, an unknown path) takes Starlette's way, for its 405
    and 404."""

    def __init__(self, routes: list[BaseRoute], **kwargs: Any) -> None:
        super().__init__(routes, **kwargs)
        self.by_path: dict[tuple[str, str], Route] = {
            (route.path, method): route for route in routes if isinstance(route, Route) for method in route.methods or ()
        }

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not scope.get("root_path"):  # mounted under a prefix: Starlette's way
            route = self.by_path.get((scope["path"], scope["method"]))
            if route is not None:
                scope.setdefault("router", self)
                scope.update(route=route, endpoint=route.endpoint, path_params={})
                await route.handle(scope, receive, send)
                return
        await super().app(scope, receive, send)
