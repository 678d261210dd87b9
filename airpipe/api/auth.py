"""Who is calling: HTTP Basic, as Airbyte deployments use it; an API key (``X-Api-Key: <key>`` or
``Authorization: Bearer <key>``); or a bearer token an application got from the public API's
``applications/token`` (which dagster-airbyte and the airbyte-api SDK send to both APIs).

The caller becomes the request's principal (airpipe.principal): Basic and applications may do
everything, a key what its scopes say (checked per operation by the routing). Credentials that
are sent are always checked (wrong ones are a 401). Sending none is a 401 when a password is
configured; without one (a server on loopback only, see settings) the caller is ``anonymous``,
who may do everything, as before keys existed.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from airpipe import principal
from airpipe.api.errors import airpipe_error
from airpipe.api.public_routing import OPEN_PUBLIC_PATHS
from airpipe.api.routing import call_on_loop, call_service
from airpipe.errors import Unauthorized
from airpipe.services.api_keys import PREFIX as KEY_PREFIX
from airpipe.services.api_keys import authenticate as key_principal
from airpipe.services.api_keys import note_use as note_key_use
from airpipe.services.applications import token_principal

#: load balancers probe health without credentials; an application trades its credentials for a token
OPEN_PATHS = frozenset({"/api/v1/health", "/v1/health", "/api/v1/health/", "/v1/health/"}) | OPEN_PUBLIC_PATHS

REFUSED = "Authentication required: send HTTP Basic credentials, an API key or an application's bearer token"


class AuthMiddleware:
    def __init__(self, app: ASGIApp, *, user: str, password: str | None) -> None:
        self.app = app
        self.user = user
        self.expected = None if password is None else f"{user}:{password}".encode()
        self.basic = principal.Principal(user, principal.EVERYTHING)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        key = authorization = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value
            elif name == b"x-api-key":
                key = value.strip().decode("latin-1")
        if key is None and authorization is None and self.expected is None:
            # no password and no credentials: anonymous, the context's default (no lookup, nothing to set)
            await self.app(scope, receive, send)
            return
        who = await self._principal(key, authorization)
        if who is None:
            await airpipe_error(None, Unauthorized(REFUSED))(scope, receive, send)
            return
        token = principal.set_current(who)
        try:
            await self.app(scope, receive, send)
        finally:
            principal.reset(token)

    async def _principal(self, key: str | None, authorization: bytes | None) -> principal.Principal | None:
        """The caller, or None to refuse the request (401)."""
        if key is None and authorization is not None:
            scheme, _, credentials = authorization.partition(b" ")
            if scheme.lower() == b"basic":
                return self._basic(credentials)
            if scheme.lower() != b"bearer" or not credentials.strip():
                return None
            key = credentials.strip().decode("latin-1")
        if key is None:
            return principal.ANONYMOUS if self.expected is None else None
        # each lookup is a read or two by primary key, on the event loop like the inline reads
        # (api/operations.INLINE): a hop to a worker thread made a request with a key 3x as slow
        if not key.startswith(KEY_PREFIX):
            application: principal.Principal | None = call_on_loop(token_principal, key)
            return application
        found: tuple[principal.Principal, uuid.UUID | None] | None = call_on_loop(key_principal, key)
        if found is None:
            return None
        who, use_to_note = found
        if use_to_note is not None:  # a write (once a minute per key): never on the loop
            await run_in_threadpool(call_service, note_key_use, use_to_note)
        return who

    def _basic(self, encoded: bytes) -> principal.Principal | None:
        if self.expected is None:  # no password configured: Basic credentials change nothing
            return principal.ANONYMOUS
        try:
            credentials = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return None
        return self.basic if hmac.compare_digest(credentials, self.expected) else None
