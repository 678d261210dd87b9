"""The one place exceptions become responses (CONTRACT.md: one JSON shape, never a traceback)."""

from __future__ import annotations

import logging
import uuid

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from airpipe.api.responses import MsgspecResponse
from airpipe.errors import OUTAGES, AirpipeError, InvalidInput, NotFound, NoWorker, PayloadTooLarge, Unauthorized
from airpipe.schemas.base import InternalErrorInfo, InvalidInputExceptionInfo, InvalidInputProperty, KnownExceptionInfo

logger = logging.getLogger("airpipe.api")

#: ends the keep-alive connection after this response (uvicorn closes it)
CLOSE = {"Connection": "close"}


def airpipe_error(request: Request | None, exc: Exception) -> Response:
    """``request`` is None when the error is raised outside a route (the auth middleware)."""
    assert isinstance(exc, AirpipeError)
    headers = None
    if isinstance(exc, Unauthorized):
        headers = {"WWW-Authenticate": 'Basic realm="airpipe"'}
    elif isinstance(exc, PayloadTooLarge):
        headers = CLOSE  # the rest of the body was not read: the connection cannot carry another request
    elif isinstance(exc, NoWorker):
        headers = {"Retry-After": str(RETRY_AFTER)}
    if isinstance(exc, InvalidInput):
        body: object = InvalidInputExceptionInfo(
            message=exc.message,
            validation_errors=[InvalidInputProperty(property_path=e.path, invalid_value=e.value, message=e.message) for e in exc.errors],
        )
    else:
        body = KnownExceptionInfo(message=exc.message, id=exc.id if isinstance(exc, NotFound) else None)
    return MsgspecResponse(body, status_code=exc.status_code, headers=headers)


def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = exc.detail if exc.status_code != 404 else f"No operation at {request.method} {request.url.path}"
    return MsgspecResponse(KnownExceptionInfo(message=message), status_code=exc.status_code, headers=exc.headers)


#: seconds a client is told to wait before retrying after an outage (503)
RETRY_AFTER = 5




def outage_error(request: Request, exc: Exception) -> Response:
    """The database or the queue is down: 503 with Retry-After, never 500 (CONTRACT.md)."""
    what = "the queue (Redis)" if type(exc).__module__.startswith("redis") else "the database"
    logger.warning("request to %s failed: %s is unreachable (%s)", request.url.path, what, exc)
    body = KnownExceptionInfo(message=f"{what} is unreachable; retry later")
    return MsgspecResponse(body, status_code=503, headers={"Retry-After": str(RETRY_AFTER)})


def unexpected_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, OUTAGES):
        return outage_error(request, exc)
    request_id = uuid.uuid4().hex
    logger.error("request %s to %s failed", request_id, request.url.path, exc_info=exc)
    # the request may have failed half-way through its body or its connection: start afresh
    return MsgspecResponse(InternalErrorInfo(message="internal error", request_id=request_id), status_code=500, headers=CLOSE)


EXCEPTION_HANDLERS = {
    AirpipeError: airpipe_error,
    HTTPException: http_error,
    **{outage: outage_error for outage in OUTAGES},
    Exception: unexpected_error,
}
