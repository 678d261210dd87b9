"""The File source's http(s) GET, which reaches only public addresses unless told otherwise.

A URL is the user's input, and the connector runs on airpipe's network: without a check,
``http://169.254.169.254/...`` (a cloud's metadata service), ``http://localhost:8000/...`` or
``http://10.0.0.5/...`` would be read and shown back as records. ``connectors/addresses.py``
resolves the host once, checks every address, and the connection goes to the checked address
(no second lookup for DNS rebinding to answer). Each redirect is checked the same way.

``AIRPIPE_ALLOW_PRIVATE_URLS=1`` (passed on by airpipe's settings) lets every address through,
for deployments that read files from their own network.

``HTTP_PROXY``/``HTTPS_PROXY`` are not used (urllib, used before, did use them): through a proxy
the connection would go wherever the proxy resolves the name, not to the checked address.
"""

from __future__ import annotations

import http.client
import os
import urllib.parse
from typing import IO

from airpipe.connectors import addresses
from airpipe.connectors.addresses import PinnedHTTPConnection, PinnedHTTPSConnection
from airpipe.connectors.entrypoint import ConfigError

ALLOW_ENV = "AIRPIPE_ALLOW_PRIVATE_URLS"
MAX_REDIRECTS = 10
REDIRECTS = (301, 302, 303, 307, 308)


def private_allowed() -> bool:
    return os.environ.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def vet(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for ``host`` (``connectors/addresses.vet``), its refusal a ConfigError."""
    try:
        return addresses.vet(host, port, allow_private=allow_private)
    except addresses.Refused as exc:
        raise ConfigError(f"url: {exc}; set {ALLOW_ENV}=1 to allow private addresses") from None
    except addresses.Unresolvable as exc:
        raise ConfigError(f"url: {exc}") from None


def describe(url: str) -> str:
    """The URL for a message: its query and credentials left out."""
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}{parts.path}"


def get(url: str, *, timeout: float, headers: dict[str, str], allow_private: bool | None = None) -> IO[bytes]:
    """The body of ``GET url``, streamed, redirects followed (each one vetted); ConfigError if the
    address is refused, cannot be reached, or answers an error."""
    allow = private_allowed() if allow_private is None else allow_private
    for _ in range(MAX_REDIRECTS + 1):
        parts = urllib.parse.urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"url: cannot follow a redirect to {scheme}://; only http(s) URLs are read")
        try:
            port = parts.port or (443 if scheme == "https" else 80)
        except ValueError as exc:
            raise ConfigError(f"url: {exc}") from None
        address = vet(parts.hostname, port, allow_private=allow)
        kind = PinnedHTTPSConnection if scheme == "https" else PinnedHTTPConnection
        connection = kind(parts.hostname, port, address, timeout)
        target = urllib.parse.urlunsplit(("", "", parts.path or "/", parts.query, ""))
        try:
            connection.request("GET", target, headers=headers)
            response = connection.getresponse()
        except (OSError, http.client.HTTPException) as exc:
            connection.close()
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            raise ConfigError(f"url: cannot reach {describe(url)}: {reason}") from None
        if response.status in REDIRECTS and response.getheader("Location"):
            location = response.getheader("Location") or ""
            response.close()
            connection.close()
            url = urllib.parse.urljoin(url, location)
            continue
        if response.status >= 400:
            response.close()
            connection.close()
            raise ConfigError(f"url: GET {describe(url)} answered HTTP {response.status} {response.reason}")
        # as urllib does: the response reads on through its own file object once the connection lets go
        if connection.sock is not None:
            connection.sock.close()
            connection.sock = None
        return response
    raise ConfigError(f"url: {describe(url)} redirected more than {MAX_REDIRECTS} times")
