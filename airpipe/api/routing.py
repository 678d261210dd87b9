"""Each row of the operation table becomes POST routes; each answers directly with or without a
trailing slash (some clients add one and treat a redirect as an error)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from airpipe.api.decoding import decode_body
from airpipe.api.operations import GETS, OPERATIONS, Operation
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
    async def endpoint(request: Request) -> Response:
        payload = decode_body(await read_body(request, max_body_bytes), operation.request)
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
