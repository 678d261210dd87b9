"""HTTP Basic auth, as Airbyte deployments use it (on whenever a password is configured)."""

from __future__ import annotations

import base64
import binascii
import hmac

from starlette.types import ASGIApp, Receive, Scope, Send

from airpipe.api.errors import airpipe_error
from airpipe.errors import Unauthorized

#: load balancers probe health without credentials
OPEN_PATHS = frozenset({"/api/v1/health", "/v1/health", "/api/v1/health/", "/v1/health/"})


class BasicAuthMiddleware:
    def __init__(self, app: ASGIApp, *, user: str, password: str) -> None:
        self.app = app
        self.expected = f"{user}:{password}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS or self._authorized(scope):
            await self.app(scope, receive, send)
            return
        response = airpipe_error(None, Unauthorized("Authentication required: send HTTP Basic credentials"))
        await response(scope, receive, send)

    def _authorized(self, scope: Scope) -> bool:
        header = dict(scope["headers"]).get(b"authorization", b"")
        scheme, _, encoded = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            credentials = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return False
        return hmac.compare_digest(credentials, self.expected)
