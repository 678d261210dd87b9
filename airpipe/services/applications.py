"""Applications and their bearer tokens (the public API's client credentials flow).

A token is random, lives ``TOKEN_SECONDS`` and is stored as a hash; deleting an application
revokes its tokens at once (they are rows, not signatures to wait out)."""

from __future__ import annotations

import hmac
import secrets
import uuid

import peewee

from airpipe import principal
from airpipe.errors import NotFound, Unauthorized
from airpipe.models import Application, ApplicationToken, by_id, now, transaction
from airpipe.schemas.public import AccessTokenRequest, AccessTokenResponse, ApplicationCreate, ApplicationRead, ApplicationReadList
from airpipe.services.secrets import digest

#: Airbyte's tokens live three minutes; clients (the SDK) fetch a new one a minute before expiry
TOKEN_SECONDS = 180


def _read(application: Application, secret: str | None = None) -> ApplicationRead:
    return ApplicationRead(
        id=application.id, name=application.name, client_id=application.client_id, created_at=application.created_at, client_secret=secret
    )


def create_application(request: ApplicationCreate) -> ApplicationRead:
    """A new client id and secret; the secret is in this answer only."""
    secret = secrets.token_urlsafe(32)
    with transaction():
        application = Application.create(name=request.name, client_id=str(uuid.uuid4()), secret_hash=digest(secret))
    return _read(application, secret)


def list_applications() -> ApplicationReadList:
    return ApplicationReadList(applications=[_read(a) for a in Application.select().order_by(Application.created_at, Application.id)])


def _application(application_id: uuid.UUID) -> Application:
    application = by_id(Application, application_id)
    if application is None:
        raise NotFound("application", application_id)
    return application


def get_application(application_id: uuid.UUID) -> ApplicationRead:
    return _read(_application(application_id))


def delete_application(application_id: uuid.UUID) -> None:
    with transaction():
        application = _application(application_id)
        ApplicationToken.delete().where(ApplicationToken.application == application.id).execute()
        application.delete_instance()


def issue_token(request: AccessTokenRequest) -> AccessTokenResponse:
    """A bearer token for the application whose credentials these are (401 if none is)."""
    if request.grant_type != "client_credentials":
        raise Unauthorized(f"unsupported grant_type {request.grant_type!r}: only client_credentials is")
    application = Application.get_or_none(Application.client_id == request.client_id)
    if application is None or not hmac.compare_digest(application.secret_hash, digest(request.client_secret)):
        raise Unauthorized("unknown client_id or wrong client_secret")
    token = secrets.token_urlsafe(32)
    timestamp = now()
    with transaction():
        ApplicationToken.delete().where(ApplicationToken.expires_at < timestamp).execute()  # keep the table small
        ApplicationToken.create(token_hash=digest(token), application=application, expires_at=timestamp + TOKEN_SECONDS)
    return AccessTokenResponse(access_token=token, expires_in=TOKEN_SECONDS)


def token_principal(token: str) -> principal.Principal | None:
    """The application a live bearer token was issued to (None: unknown, expired, or its
    application deleted); an application may do everything, as HTTP Basic may."""
    row = by_id(ApplicationToken, digest(token))  # two lookups by primary key: the API runs this on its event loop
    if row is None or row.expires_at <= now():
        return None
    try:
        name = row.application.name
    except peewee.DoesNotExist:  # the application was deleted since the token was read (its tokens go with it)
        return None
    return principal.Principal(f"application {name}", principal.EVERYTHING)
