"""Any header value answers 4xx, never 500; slow headers and stalled bodies are cut off (408); oversized
request headers answer 431; redirects never carry the client's Host (issue 12 point 9). Real sockets
against a real uvicorn: the limits live in the server's protocol, below the ASGI app.

Before the fix a non-ASCII admin bearer token answered 500, a connection that trickled its headers was
held as long as the client liked, 1 MB of headers was parsed, and the trailing-slash redirect built its
`Location` from `Host`."""

from __future__ import annotations

import inspect
import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from contracts.sandbox_server import running_sandbox
from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.http import server_limits
from sandbox.serving import server_options

SAFETY_SECONDS = 60  # a socket read that waits longer than this means the server never answered
ADMIN_TOKEN = "s3cret-admin"
HADAR_KEY = "hdr_test_marina_growth_admin_4f9c2a7b"


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    # short deadlines so the tests do not wait 20 s; the behaviour, not the duration, is asserted
    config = Config(db="memory", admin_token=ADMIN_TOKEN, header_timeout=1.0, body_timeout=1.0, plans={"*": 10**9})
    app = create_app(config)
    try:
        with running_sandbox(config, app=app) as served:
            yield served
    finally:
        runtime_of(app).store.close()


def _exchange(origin: str, data: bytes, *, then_wait: bool = True) -> bytes:
    """Send raw bytes; read until the server closes or SAFETY_SECONDS pass (then: what arrived)."""
    parts = urlsplit(origin)
    with socket.create_connection((parts.hostname, parts.port), timeout=SAFETY_SECONDS) as sock:
        if data:
            sock.sendall(data)
        received = b""
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                received += chunk
                if not then_wait and b"\r\n\r\n" in received:
                    break
        except TimeoutError:
            pytest.fail(f"the server held the connection for {SAFETY_SECONDS} s without answering: {received[:200]!r}")
        return received


def _status(response: bytes) -> int:
    assert response.startswith(b"HTTP/1.1 "), response[:200]
    return int(response[9:12])


def _alive(origin: str) -> None:
    assert httpx.get(origin + "/_sandbox/clock", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                     timeout=30).status_code == 200


# --- header values ------------------------------------------------------------------------------------
ODD_VALUES = [b"Bearer \xc3\xa9\xc3\xa9", b"\xff\xfe", b"Bearer " + "\u0645\u0641\u062a\u0627\u062d".encode(),
              b"Bearer \x01\x02", b"bearer", b"Bearer  ", b"x" * 8000]


@pytest.mark.parametrize("value", ODD_VALUES, ids=range(len(ODD_VALUES)))
def test_odd_authorization_values_are_4xx_everywhere(origin: str, value: bytes):
    for path, header in [("/_sandbox/clock", b"Authorization"), ("/hadar/v1/leads", b"Authorization"),
                         ("/hadar-crm/api/v1/contacts", b"Authorization"), ("/leaditio/api/v1/leads", b"X-API-Key"),
                         ("/askad/api/v1/contacts", b"Authorization"), ("/href/acme/api/leads", b"X-API-Key")]:
        request = b"GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s: %s\r\nConnection: close\r\n\r\n" % (
            path.encode(), header, value)
        status = _status(_exchange(origin, request))
        assert 400 <= status < 500, (path, value, status)
    _alive(origin)


@pytest.mark.parametrize(("name", "value"), [
    (b"Idempotency-Key", "cl\u00e9-\u0645".encode()), (b"Content-Type", "application/json; charset=\u00e9".encode()),
    (b"Host", "h\u00f4te.localhost".encode()), (b"Origin", "http://\u00e9vil.example".encode()),
    (b"X-API-Key", b"\xff"), (b"Sec-Fetch-Site", b"\xff"), (b"Transfer-Encoding", b"gzip"),
])
def test_odd_values_of_other_headers_are_never_5xx(origin: str, name: bytes, value: bytes):
    for path in ("/_sandbox/reset", "/hadar/v1/leads", "/href/acme/api/leads"):
        request = (b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n%s: %s\r\n"
                   b"Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}") % (
            path.encode(), (ADMIN_TOKEN if path.startswith("/_sandbox") else HADAR_KEY).encode(), name, value)
        response = _exchange(origin, request)
        assert _status(response) < 500, (path, name, value, response[:300])
    _alive(origin)


# --- deadlines and sizes --------------------------------------------------------------------------------
def test_headers_that_never_finish_get_408_and_the_connection_closes(origin: str):
    response = _exchange(origin, b"GET /_sandbox/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
    assert _status(response) == 408
    _alive(origin)


def test_a_connection_that_sends_nothing_is_closed(origin: str):
    assert _status(_exchange(origin, b"")) == 408


def test_a_stalled_body_gets_408(origin: str):
    request = (b"POST /hadar/v1/leads HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
               b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\": " % HADAR_KEY.encode())
    assert _status(_exchange(origin, request)) == 408
    _alive(origin)


def test_oversized_headers_get_431(origin: str):
    big = b"GET /_sandbox/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (40 * 1024) + b"\r\n\r\n"
    assert _status(_exchange(origin, big)) == 431
    many = b"GET /_sandbox/clock HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"".join(
        b"X-H%d: v\r\n" % n for n in range(150)) + b"\r\n"
    assert _status(_exchange(origin, many)) == 431
    megabyte = b"GET /_sandbox/clock HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-A: " + b"b" * 1_000_000 + b"\r\n\r\n"
    assert _status(_exchange(origin, megabyte)) == 431
    _alive(origin)


def test_headers_within_the_limit_are_served(origin: str):
    request = (b"GET /_sandbox/clock HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nX-Fill: %s\r\n"
               b"Connection: close\r\n\r\n") % (ADMIN_TOKEN.encode(), b"c" * (16 * 1024))
    assert _status(_exchange(origin, request)) == 200


# --- redirects ------------------------------------------------------------------------------------------
def test_trailing_slash_redirect_never_carries_the_clients_host(origin: str):
    response = httpx.get(origin + "/hadar/v1/leads/", headers={"Host": "evil.example", "Authorization": f"Bearer {HADAR_KEY}"},
                         follow_redirects=False, timeout=30)
    assert response.status_code in (301, 302, 307, 308)
    assert response.headers["location"] == "/hadar/v1/leads"
    followed = httpx.get(origin + "/hadar/v1/leads/", headers={"Authorization": f"Bearer {HADAR_KEY}"},
                         follow_redirects=True, timeout=30)
    assert followed.status_code == 200 and str(followed.url) == origin + "/hadar/v1/leads"


# --- the seam into uvicorn ---------------------------------------------------------------------------------
def test_the_uvicorn_seam_still_holds():
    """Fails loudly when an upgrade of uvicorn renames what server_limits hooks or stops using the class."""
    for name in server_limits.HOOKED:
        assert callable(getattr(HttpToolsProtocol, name, None)), f"uvicorn's HttpToolsProtocol has no {name}()"
    assert "send_400_response" in inspect.getsource(HttpToolsProtocol.data_received), \
        "uvicorn no longer answers parser errors through send_400_response: 431 would be lost"
    config = uvicorn.Config(lambda *_: None, **server_options(Config()))
    config.load()
    assert issubclass(config.http_protocol_class, server_limits.LimitedHttpToolsProtocol)
