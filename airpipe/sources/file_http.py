"""The File source's http(s) GET, which reaches only public addresses unless told otherwise.

A URL is the user's input, and the connector runs on airpipe's network: without a check,
``http://169.254.169.254/...`` (a cloud's metadata service), ``http://localhost:8000/...`` or
``http://10.0.0.5/...`` would be read and shown back as records. So the host is resolved once,
every address it resolves to is checked (``refusal``), and the connection goes to the checked
address, the request still naming the host (``Host`` header, TLS SNI and certificate check): a
name that resolves to a public address for the check and to a private one for the connection (DNS
rebinding) gets no second lookup. Each redirect is checked the same way.

``AIRPIPE_ALLOW_PRIVATE_URLS=1`` (passed on by airpipe's settings) lets every address through,
for deployments that read files from their own network.

``HTTP_PROXY``/``HTTPS_PROXY`` are not used (urllib, used before, did use them): through a proxy
the connection would go wherever the proxy resolves the name, not to the checked address.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import socket
import ssl
import urllib.parse
from typing import IO

from airpipe.connectors.entrypoint import ConfigError

ALLOW_ENV = "AIRPIPE_ALLOW_PRIVATE_URLS"
MAX_REDIRECTS = 10
REDIRECTS = (301, 302, 303, 307, 308)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def private_allowed() -> bool:
    return os.environ.get(ALLOW_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def refusal(address: Address) -> str | None:
    """What kind of non-public address ``address`` is ("loopback", "private"...), or None if public."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    if address.is_unspecified:
        return "unspecified"
    if address.is_loopback:
        return "loopback"
    if address.is_link_local:
        return "link-local"
    if address.is_multicast:
        return "multicast"
    if address.is_reserved:
        return "reserved"
    if address.is_private:
        return "private"
    if not address.is_global:
        return "non-public"  # shared (100.64.0.0/10) and other special-purpose ranges
    return None


def vet(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for ``host``: resolved once, every address it has checked.

    ConfigError when the name does not resolve, or when any of its addresses is not public and
    ``allow_private`` is false (one bad address is enough: the system could pick any of them).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise ConfigError(f"url: cannot resolve {host}: {exc.strerror or exc}") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
    if not addresses:
        raise ConfigError(f"url: cannot resolve {host}: no addresses")
    if not allow_private:
        for address in addresses:
            kind = refusal(address)
            if kind is not None:
                raise ConfigError(
                    f"url: {host} resolves to {address}, a {kind} address; set {ALLOW_ENV}=1 to allow private addresses"
                )
    return str(addresses[0])


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to ``address`` while the request names ``host``."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to ``address``; TLS names ``host`` (SNI) and verifies the certificate against it."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)


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
        kind = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
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
