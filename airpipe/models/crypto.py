"""Encryption at rest for what may hold secrets: connector configurations and job configs.

Fernet (from ``cryptography``: AES-128-CBC with an HMAC, a standard, audited construction)
encrypts the whole JSON value, so a secret is protected wherever it sits in a config. The key
comes from settings (``AIRPIPE_SECRET_KEY``, or a key file the embedded default creates).
"""

from __future__ import annotations

from typing import Any

import msgspec
from cryptography.fernet import Fernet, InvalidToken

from airpipe.models.db import JSONField

_encode = msgspec.json.Encoder().encode
_decode = msgspec.json.Decoder().decode

#: every Fernet token starts with its version byte 0x80, base64 "gAAAA"
_TOKEN_PREFIX = "gAAAA"


class _Cipher:
    fernet: Fernet | None = None


_cipher = _Cipher()


def use_key(key: bytes) -> None:
    """Bind the key every EncryptedJSONField uses (once, at start-up)."""
    _cipher.fernet = Fernet(key)


class EncryptedJSONField(JSONField):
    def db_value(self, value: Any) -> str | None:
        if value is None:
            return None
        return _fernet().encrypt(_encode(value)).decode()

    def python_value(self, value: str | None) -> Any:
        if value is None:
            return None
        if not value.startswith(_TOKEN_PREFIX):
            return _decode(value)  # stored before encryption existed: plain JSON, read as is
        try:
            return _decode(_fernet().decrypt(value.encode()))
        except InvalidToken:
            raise RuntimeError("a stored secret cannot be decrypted: AIRPIPE_SECRET_KEY is not the key it was written with") from None


def is_encrypted(stored: str) -> bool:
    """Is ``stored`` (a column's text) a token this module wrote, rather than plain text from before?"""
    return stored.startswith(_TOKEN_PREFIX)


def seal(value: Any) -> str:
    """``value`` as JSON, encrypted: for data that must pass through a store it may not rest in
    readable (a source's sample records on their way back through the queue)."""
    return _fernet().encrypt(_encode(value)).decode()


def unseal(token: str) -> Any:
    return _decode(_fernet().decrypt(token.encode()))


def _fernet() -> Fernet:
    if _cipher.fernet is None:
        raise RuntimeError("no secret key bound: call airpipe.models.crypto.use_key() at start-up")
    return _cipher.fernet
