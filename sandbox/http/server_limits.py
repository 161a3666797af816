"""Connection limits uvicorn does not set on its own, as production servers set them (nginx, Apache
mod_reqtimeout, gunicorn): a deadline for the request headers, an idle deadline between body chunks, and
a cap on the size of the request line and headers (431). Without them, 500 connections that trickle
their headers were held for minutes and 1 MB of headers was parsed (issue 12 point 9).

uvicorn 0.x offers `timeout_keep_alive` (idle between requests) and, for h11 only, a maximum incomplete
event size; httptools, which it prefers, accepts headers of any size and any slowness. This module is
the one place that reaches into uvicorn's protocol class (`HttpToolsProtocol`): it subclasses it and
hooks its parser callbacks. `tests/reliability/test_server_limits.py` checks, over real sockets and
against the names hooked here, that an upgrade of uvicorn has not bypassed it."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: nginx: client_header_timeout / client_body_timeout 60 s; Apache mod_reqtimeout: 20-40 s. A sandbox
#: on loopback needs less patience than the internet: 20 s each.
HEADER_TIMEOUT_SECONDS = 20.0
BODY_TIMEOUT_SECONDS = 20.0
#: nginx: large_client_header_buffers 4 x 8k; gunicorn: 8190 per field, 100 fields. Request line and
#: headers together; above it, 431 Request Header Fields Too Large (RFC 6585).
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADER_COUNT = 100

#: uvicorn's methods this class overrides or calls; the upgrade test checks they still exist.
HOOKED = ("connection_made", "connection_lost", "on_message_begin", "on_url", "on_header", "on_headers_complete",
          "on_body", "on_message_complete", "send_400_response", "data_received")


class _Refused(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


_STATUS_TEXT = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    header_timeout = HEADER_TIMEOUT_SECONDS
    body_timeout = BODY_TIMEOUT_SECONDS
    max_header_bytes = MAX_HEADER_BYTES
    max_header_count = MAX_HEADER_COUNT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deadline: asyncio.TimerHandle | None = None
        self._header_bytes = 0

    # -- deadlines ----------------------------------------------------------------------------------------
    def _arm(self, seconds: float, status: int, reason: str) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(seconds, self._expire, status, reason)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self, status: int, reason: str) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # a response is on its way: nothing else can be said on this connection
        else:
            self._refuse(status, reason)

    def _refuse(self, status: int, reason: str) -> None:
        body = reason.encode()
        self.transport.write(
            b"HTTP/1.1 %d %s\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: %d\r\n"
            b"connection: close\r\n\r\n%s" % (status, _STATUS_TEXT[status], len(body), body)
        )
        self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_timeout, 408, "The request headers did not arrive in time")

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    # -- parser callbacks ---------------------------------------------------------------------------------
    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._arm(self.header_timeout, 408, "The request headers did not arrive in time")

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > self.max_header_bytes:
            raise _Refused(431, f"Request line and headers exceed {self.max_header_bytes} bytes")

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)
        if len(self.headers) > self.max_header_count:
            raise _Refused(431, f"More than {self.max_header_count} request headers")

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.more_body:
            self._arm(self.body_timeout, 408, "The request body stalled")

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._arm(self.body_timeout, 408, "The request body stalled")

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    # -- errors ---------------------------------------------------------------------------------------------
    def send_400_response(self, msg: str) -> None:
        # httptools wraps an exception raised in a callback; uvicorn answers every parser error with 400
        refusal = self._refusal_of_parser_error()
        if refusal is None:
            super().send_400_response(msg)
        else:
            self._disarm()
            self._refuse(refusal.status, refusal.reason)

    @staticmethod
    def _refusal_of_parser_error() -> _Refused | None:
        """uvicorn calls send_400_response inside `except HttpParserError` (data_received): the error
        httptools raised carries the callback's exception as its context."""
        error = sys.exc_info()[1]
        context = error.__context__ if error is not None else None
        return context if isinstance(context, _Refused) else None


def protocol_class(header_timeout: float = HEADER_TIMEOUT_SECONDS, body_timeout: float = BODY_TIMEOUT_SECONDS,
                   max_header_bytes: int = MAX_HEADER_BYTES) -> type[LimitedHttpToolsProtocol]:
    """The protocol class with these limits (uvicorn takes a class, and builds one instance per connection)."""
    if (header_timeout, body_timeout, max_header_bytes) == (HEADER_TIMEOUT_SECONDS, BODY_TIMEOUT_SECONDS,
                                                            MAX_HEADER_BYTES):
        return LimitedHttpToolsProtocol
    return type("LimitedHttpToolsProtocol", (LimitedHttpToolsProtocol,), {
        "header_timeout": header_timeout, "body_timeout": body_timeout, "max_header_bytes": max_header_bytes,
    })


def uvicorn_options(header_timeout: float = HEADER_TIMEOUT_SECONDS, body_timeout: float = BODY_TIMEOUT_SECONDS,
                    max_header_bytes: int = MAX_HEADER_BYTES) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.Config` that every server of the sandbox uses."""
    return {
        "http": protocol_class(header_timeout, body_timeout, max_header_bytes),
        "timeout_keep_alive": 5,  # uvicorn's default, stated: idle keep-alive connections close after 5 s
        "h11_max_incomplete_event_size": max_header_bytes,  # were h11 ever chosen instead
    }
