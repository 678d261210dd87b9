"""Public addresses only: the check an http(s) request to a URL a user gave goes through.

A URL is the user's input and the request leaves from airpipe's network: without a check,
``http://169.254.169.254/...`` (a cloud's metadata service), ``http://localhost:8000/...`` or
``http://10.0.0.5/...`` would be reached on the user's behalf. So the host is resolved once, every
address it resolves to is checked (``refusal``), and the connection goes to the checked address
(``PinnedHTTPConnection``), the request still naming the host (``Host`` header, TLS SNI and
certificate check): a name that resolves to a public address for the check and to a private one
for the connection (DNS rebinding) gets no second lookup.

Used by the File source (``sources/file_http.py``) and by notification webhooks
(``worker/notifications.py``, and ``services/notifications.py`` when a channel is created); each
has its own switch to let private addresses through.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class Unresolvable(ValueError):
    """The host has no address (or the resolver failed)."""


class Refused(ValueError):
    """The host resolves to an address that is not public."""

    def __init__(self, host: str, address: Address, kind: str) -> None:
        super().__init__(f"{host} resolves to {address}, a {kind} address")
        self.host, self.address, self.kind = host, address, kind


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

    Unresolvable when the name does not resolve; Refused when any of its addresses is not public
    and ``allow_private`` is false (one bad address is enough: the system could pick any of them).
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Unresolvable(f"cannot resolve {host}: {exc.strerror or exc}") from None
    addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos))
    if not addresses:
        raise Unresolvable(f"cannot resolve {host}: no addresses")
    if not allow_private:
        for address in addresses:
            kind = refusal(address)
            if kind is not None:
                raise Refused(host, address, kind)
    return str(addresses[0])


class PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to ``address`` while the request names ``host``."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to ``address``; TLS names ``host`` (SNI) and verifies the certificate against it."""

    def __init__(self, host: str, port: int, address: str, timeout: float) -> None:
        self.tls = ssl.create_default_context()
        super().__init__(host, port, timeout=timeout, context=self.tls)
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = self.tls.wrap_socket(sock, server_hostname=self.host)
