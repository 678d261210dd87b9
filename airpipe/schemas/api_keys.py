"""API keys: created with a name, scopes and an expiry; the key is in the create answer only."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec

from airpipe.schemas.base import Base, Int64, Name

#: ``read``, ``write`` or ``admin``, for every workspace or, with ``:<workspaceId>``, for one
Scope = Annotated[str, msgspec.Meta(pattern=r"^(read|write|admin)(:[0-9a-fA-F-]{36})?$", examples=["read"])]
#: seconds, or a duration: "90s", "30m", "24h", "7d"
Duration = Annotated[str, msgspec.Meta(pattern=r"^[0-9]+[smhd]?$", examples=["24h"])]


class ApiKeyCreate(Base, kw_only=True):
    name: Name
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1)]
    #: when it stops working (epoch seconds); or ``expiresIn`` from now; neither: never
    expires_at: Int64 | None = None
    expires_in: Duration | None = None


class ApiKeyRead(Base, kw_only=True):
    api_key_id: uuid.UUID
    name: str
    #: the key's first characters and a mask: ``ap_3Fz9****``
    masked_key: str
    scopes: list[str]
    created_at: int
    created_by: str | None = None
    expires_at: int | None = None
    last_used_at: int | None = None


class ApiKeyCreated(ApiKeyRead, kw_only=True):
    #: the key itself: shown this once, stored only as a hash
    key: str


class ApiKeyReadList(Base):
    api_keys: list[ApiKeyRead]


class ApiKeyIdRequestBody(Base):
    api_key_id: uuid.UUID
