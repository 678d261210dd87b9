"""Credentials, checked whenever a password is configured: HTTP Basic, as Airbyte deployments
use it, or a bearer token an application got from the public API's ``applications/token``
(which dagster-airbyte and the airbyte-api SDK send to both APIs)."""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from airpipe.api.errors import airpipe_error
from airpipe.api.public_routing import OPEN_PUBLIC_PATHS
from airpipe.api.routing import call_service
from airpipe.errors import Unauthorized
from airpipe.services.applications import token_is_valid

#: load balancers probe health without credentials; an application trades its credentials for a token
OPEN_PATHS = frozenset({"/api/v1/health", "/v1/health", "/api/v1/health/", "/v1/health/"}) | OPEN_PUBLIC_PATHS


class AuthMiddleware:
    def __init__(self, app: ASGIApp, *, user: str, password: str) -> None:
        self.app = app
        self.expected = f"{user}:{password}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or await self._authorized(scope):
            await self.app(scope, receive, send)
            return
        message = "Authentication required: send HTTP Basic credentials or an application's bearer token"
        await airpipe_error(None, Unauthorized(message))(scope, receive, send)

    async def _authorized(self, scope: Scope) -> bool:
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, encoded = header.partition(b" ")
        if scheme.lower() == b"bearer" and encoded.strip():
            token = encoded.strip().decode("latin-1")
            return bool(await run_in_threadpool(call_service, token_is_valid, token))
        if scheme.lower() != b"basic":
            return False
        try:
            credentials = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(credentials, self.expected)
