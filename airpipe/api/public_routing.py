"""Each row of the public API's table becomes a Starlette route: path parameters, the query
string and the body are decoded (a failure is a 422 naming the parameter), the service runs in a
worker thread, and a list's ``next``/``previous`` become URLs of the same path."""

from __future__ import annotations

import functools
import re
import urllib.parse
from types import SimpleNamespace
from typing import Any

import msgspec
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from airpipe import principal
from airpipe.api.decoding import decode_body
from airpipe.api.public_operations import INLINE, PATH_PARAMETERS, PREFIX, PUBLIC_OPERATIONS, TOKEN_ALIASES, PublicOperation
from airpipe.api.responses import MsgspecResponse
from airpipe.api.routing import call_on_loop, call_service, read_body, refuse_declared_oversize
from airpipe.errors import InvalidInput
from airpipe.services import access

FORM = "application/x-www-form-urlencoded"
_MISSING = re.compile(r"^Object missing required field `(\w+)`$")


def _path_value(name: str, text: str) -> Any:
    try:
        return msgspec.convert(text, PATH_PARAMETERS[name], strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidInput.field(f"$.{name}", f"{exc} (path parameter)", text) from None


def decode_query(request: Request, query_type: type) -> Any:
    """The query string as ``query_type``: a list parameter may repeat (``?a=1&a=2``, as the SDK
    sends it) or be comma-separated; any other parameter takes its last value."""
    lists = _list_parameters(query_type)
    raw: dict[str, Any] = {}
    for name, value in request.query_params.multi_items():
        if name in lists:
            raw.setdefault(name, []).extend(part for part in value.split(",") if part)
        else:
            raw[name] = value
    try:
        return msgspec.convert(raw, query_type, strict=False)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(" - at `$.")
        missing = _MISSING.match(message)
        if missing:
            raise InvalidInput.field(f"$.{missing[1]}", "is required (query parameter)") from None
        name = where.rstrip("`").split(".")[0].split("[")[0]
        raise InvalidInput.field(f"$.{name}", f"{message} (query parameter)", raw.get(name)) from None


@functools.cache
def _list_parameters(query_type: type) -> frozenset[str]:
    """The query's list parameters (computed once: msgspec reads a Struct's annotations anew on
    every call to structs.fields)."""
    return frozenset(f.encode_name for f in msgspec.structs.fields(query_type) if "list" in str(f.type))


async def _decode_body(request: Request, operation: PublicOperation, limit: int) -> Any:
    refuse_declared_oversize(request.headers.get("content-length"), limit)
    body = await read_body(request.receive, limit)
    form = request.headers.get("content-type", "").split(";")[0].strip() == FORM
    if form and operation.form and not body.lstrip().startswith(b"{"):
        # an OAuth client sends its credentials as a form: the same fields, as JSON (elsewhere a
        # body is JSON whatever its Content-Type says, as in the Configuration API: `curl -d`)
        body = msgspec.json.encode(dict(urllib.parse.parse_qsl(body.decode(errors="replace"))))
    return decode_body(body, operation.body)


def _linked(result: Any, request: Request) -> Any:
    """A page's ``next``/``previous`` query strings, as URLs of the path it was asked at."""
    links = {}
    for name in ("next", "previous"):
        query = getattr(result, name, None)
        if isinstance(query, str):
            links[name] = str(request.url.replace(query=query))
    return msgspec.structs.replace(result, **links) if links else result


def _subject(operation: PublicOperation, args: list[Any]) -> SimpleNamespace:
    """What a request is about, for access.authorize: its path ids (``jobId`` as ``job_id``) and
    its body's or query's fields."""
    fields = {_snake(name): value for name, value in zip(operation.path_parameters, args, strict=False)}
    extra = args[len(operation.path_parameters) :]
    if extra and isinstance(extra[0], msgspec.Struct):
        fields.update({name: getattr(extra[0], name) for name in extra[0].__struct_fields__ if name not in fields})
    return SimpleNamespace(**fields)


def _lists_workspaces(operation: PublicOperation) -> bool:
    """A list that takes ``workspaceIds`` (sources, destinations, connections, jobs, workspaces)."""
    return operation.query is not None and any(f.name == "workspace_ids" for f in msgspec.structs.fields(operation.query))


def _snake(name: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m[1].lower(), name)


def endpoint_for(operation: PublicOperation, max_body_bytes: int) -> Any:
    lists_workspaces = _lists_workspaces(operation)
    inline = operation.operation_id in INLINE

    async def endpoint(request: Request) -> Response:
        who = principal.current()
        limited = operation.secured and who.scopes is not principal.EVERYTHING  # a key: its scopes must cover this request
        if limited:
            access.require_level(who, operation.scope)
        args = [_path_value(name, request.path_params[name]) for name in operation.path_parameters]
        if operation.query is not None:
            args.append(decode_query(request, operation.query))
        if operation.body is not None:
            args.append(await _decode_body(request, operation, max_body_bytes))
        if limited and who.workspaces_for(operation.scope) is not None:
            if lists_workspaces:  # narrowed to the key's workspaces rather than refused
                at = len(operation.path_parameters)
                args[at] = await run_in_threadpool(call_service, access.narrow_list, who, operation.scope, args[at])
            else:
                subject = _subject(operation, args)
                await run_in_threadpool(call_service, access.authorize, who, operation.scope, operation.tag, subject)
        if inline:
            result = call_on_loop(operation.service, *args)
        elif operation.database:
            result = await run_in_threadpool(call_service, operation.service, *args)
        else:
            result = await run_in_threadpool(operation.service, *args)
        if operation.response is None:
            return Response(status_code=204)
        return MsgspecResponse(_linked(result, request), status_code=getattr(result, "http_status", 200))

    return endpoint


def public_routes(max_body_bytes: int) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    for operation in PUBLIC_OPERATIONS:
        endpoint = endpoint_for(operation, max_body_bytes)
        paths = [PREFIX + operation.path]
        if operation.operation_id == "createAccessToken":
            paths += TOKEN_ALIASES
        routes += [Route(path, endpoint, methods=[operation.method], name=f"public.{operation.operation_id}") for path in paths]
    return routes


#: the paths answered without credentials, for the auth middleware
OPEN_PUBLIC_PATHS = frozenset(
    [PREFIX + o.path for o in PUBLIC_OPERATIONS if not o.secured] + TOKEN_ALIASES,
)
