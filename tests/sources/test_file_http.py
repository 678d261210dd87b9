"""The File source's address check (issue 9, item 9): which addresses an http(s) URL may reach,
and that redirects are checked hop by hop. No test here leaves this machine."""

from __future__ import annotations

import http.server
import ipaddress
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from airpipe.connectors import addresses
from airpipe.connectors.entrypoint import ConfigError
from airpipe.errors import SettingsError
from airpipe.settings import Settings
from airpipe.sources import file_http

ALLOW = "set AIRPIPE_ALLOW_PRIVATE_URLS=1 to allow private addresses"


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fc00::1", "private"),
        ("fd12:3456::1", "private"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("100.64.0.1", "non-public"),
        ("93.184.215.14", None),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_what_kind_of_address(address: str, kind: str | None) -> None:
    assert addresses.refusal(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    ("host", "address", "kind"),
    [
        ("127.0.0.1", "127.0.0.1", "loopback"),
        ("::1", "::1", "loopback"),
        ("10.0.0.5", "10.0.0.5", "private"),
        ("169.254.169.254", "169.254.169.254", "link-local"),
        ("192.168.0.10", "192.168.0.10", "private"),
        ("fc00::5", "fc00::5", "private"),
    ],
)
def test_private_hosts_are_refused(host: str, address: str, kind: str) -> None:
    with pytest.raises(ConfigError) as info:
        file_http.vet(host, 80, allow_private=False)
    assert str(info.value) == f"url: {host} resolves to {address}, a {kind} address; {ALLOW}"
    assert file_http.vet(host, 80, allow_private=True) == address


def test_a_name_is_refused_when_any_of_its_addresses_is_private() -> None:
    with pytest.raises(ConfigError, match=rf"^url: localhost resolves to (127\.0\.0\.1|::1), a loopback address; {ALLOW}$"):
        file_http.vet("localhost", 80, allow_private=False)


def test_a_name_is_checked_once_and_the_checked_address_is_the_one_used(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = [["93.184.215.14", "10.0.0.1"], ["93.184.215.14"]]
    calls: list[str] = []

    def getaddrinfo(host: str, port: int, **kwargs: Any) -> list[Any]:
        calls.append(host)
        return [(2, 1, 6, "", (address, port)) for address in answers[len(calls) - 1]]

    monkeypatch.setattr(addresses.socket, "getaddrinfo", getaddrinfo)
    with pytest.raises(ConfigError, match=f"^url: files.example resolves to 10.0.0.1, a private address; {ALLOW}$"):
        file_http.vet("files.example", 443, allow_private=False)
    assert file_http.vet("files.example", 443, allow_private=False) == "93.184.215.14"
    assert calls == ["files.example", "files.example"]


def test_a_public_ip_literal_is_allowed_without_any_lookup() -> None:
    assert file_http.vet("93.184.215.14", 443, allow_private=False) == "93.184.215.14"
    assert file_http.vet("2606:4700:4700::1111", 443, allow_private=False) == "2606:4700:4700::1111"


class _Redirect(http.server.BaseHTTPRequestHandler):
    target = ""

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        if self.path == "/data.jsonl":
            body = b'{"a": 1}\n'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(302)
        self.send_header("Location", self.target.format(port=self.server.server_address[1]))
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def redirecting() -> Iterator[tuple[str, type[_Redirect]]]:
    handler = type("Handler", (_Redirect,), {})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_redirects_are_followed_and_every_hop_is_checked(
    redirecting: tuple[str, type[_Redirect]], monkeypatch: pytest.MonkeyPatch
) -> None:
    base, handler = redirecting
    checked = addresses.refusal
    # 127.0.0.1 plays a public address here; any other address keeps its real kind
    monkeypatch.setattr(addresses, "refusal", lambda a: None if str(a) == "127.0.0.1" else checked(a))
    handler.target = "/data.jsonl"
    with file_http.get(f"{base}/start", timeout=5, headers={}, allow_private=False) as body:
        assert body.read() == b'{"a": 1}\n'
    handler.target = "http://127.0.0.2:{port}/data.jsonl"
    with pytest.raises(ConfigError, match=f"^url: 127.0.0.2 resolves to 127.0.0.2, a loopback address; {ALLOW}$"):
        file_http.get(f"{base}/start", timeout=5, headers={}, allow_private=False)
    handler.target = "/loop"
    with pytest.raises(ConfigError, match=r"redirected more than 10 times$"):
        file_http.get(f"{base}/start", timeout=5, headers={}, allow_private=False)
    handler.target = "file:///etc/passwd"
    with pytest.raises(ConfigError, match=r"^url: cannot follow a redirect to file://; only http\(s\) URLs are read$"):
        file_http.get(f"{base}/start", timeout=5, headers={}, allow_private=False)


def test_the_setting_reaches_connectors_only_when_set() -> None:
    assert "AIRPIPE_ALLOW_PRIVATE_URLS" not in Settings.from_env({}).connector_env()
    assert Settings.from_env({"AIRPIPE_ALLOW_PRIVATE_URLS": "0"}).allow_private_urls is False
    assert Settings.from_env({"AIRPIPE_ALLOW_PRIVATE_URLS": "1"}).connector_env()["AIRPIPE_ALLOW_PRIVATE_URLS"] == "1"
    with pytest.raises(SettingsError, match="AIRPIPE_ALLOW_PRIVATE_URLS"):
        Settings.from_env({"AIRPIPE_ALLOW_PRIVATE_URLS": "maybe"})
