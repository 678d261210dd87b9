"""API keys: create (the key shown once), list (masked), delete (revoked at once), and the
lookup that turns a presented key into the principal it stands for."""

from __future__ import annotations

import secrets
import uuid

from airpipe import principal
from airpipe.errors import InvalidInput, NotFound
from airpipe.models import ApiKey, api_key_by_hash, by_id, now, transaction
from airpipe.schemas.api_keys import ApiKeyCreate, ApiKeyCreated, ApiKeyIdRequestBody, ApiKeyRead, ApiKeyReadList
from airpipe.schemas.lists import ListRequestBody
from airpipe.services.secrets import digest

PREFIX = "ap_"
#: a key's use is written at most this often: not a database write per request
LAST_USED_EVERY = 60
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _read(row: ApiKey) -> ApiKeyRead:
    return ApiKeyRead(
        api_key_id=row.id,
        name=row.name,
        masked_key=f"{row.prefix}****",
        scopes=row.scopes,
        created_at=row.created_at,
        created_by=row.created_by,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
    )


def create_api_key(request: ApiKeyCreate) -> ApiKeyCreated:
    if request.expires_at is not None and request.expires_in is not None:
        raise InvalidInput.field("$.expiresIn", "give expiresAt or expiresIn, not both", request.expires_in)
    try:
        principal.parse_scopes(request.scopes)
    except ValueError as exc:
        raise InvalidInput.field("$.scopes", str(exc), request.scopes) from None
    expires_at = request.expires_at
    if request.expires_in is not None:
        text = request.expires_in
        seconds = int(text[:-1]) * _UNITS[text[-1]] if text[-1] in _UNITS else int(text)
        expires_at = now() + seconds
    if expires_at is not None and expires_at <= now():
        raise InvalidInput.field("$.expiresAt", "is in the past", expires_at)
    key = PREFIX + secrets.token_urlsafe(32)
    with transaction():
        row = ApiKey.create(
            name=request.name,
            prefix=key[:8],
            key_hash=digest(key),
            scopes=list(request.scopes),
            expires_at=expires_at,
            created_by=principal.current().name,
        )
    read = _read(row)
    return ApiKeyCreated(**{f: getattr(read, f) for f in read.__struct_fields__}, key=key)


def list_api_keys(request: ListRequestBody | None = None) -> ApiKeyReadList:
    return ApiKeyReadList(api_keys=[_read(row) for row in ApiKey.select().order_by(ApiKey.created_at, ApiKey.id)])


def delete_api_key(request: ApiKeyIdRequestBody) -> None:
    with transaction():
        row = by_id(ApiKey, request.api_key_id)
        if row is None:
            raise NotFound("api_key", request.api_key_id)
        row.delete_instance()


def authenticate(key: str) -> tuple[principal.Principal, uuid.UUID | None] | None:
    """The principal a presented key stands for, with the key's id when its use is due to be
    noted (``note_use``); None for an unknown, revoked or expired key. It only reads (one lookup),
    so the API runs it on its event loop; the write is ``note_use``'s, on a worker thread."""
    found = api_key_by_hash(digest(key))
    timestamp = now()
    if not found or (found[0].expires_at is not None and found[0].expires_at <= timestamp):
        return None
    row = found[0]
    due = row.last_used_at is None or row.last_used_at < timestamp - LAST_USED_EVERY
    return principal.Principal(row.name, principal.parse_scopes(row.scopes)), row.id if due else None


def note_use(key_id: uuid.UUID) -> None:
    """Write that the key was used now (at most every LAST_USED_EVERY seconds: see authenticate)."""
    ApiKey.update(last_used_at=now()).where(ApiKey.id == key_id).execute()
