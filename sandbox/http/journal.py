"""`JournalMiddleware` (outermost): hands each request's raw parts to the request journal.

Only appends to a list on the request path; masking, decoding and writing happen in the journal's
background flush (sandbox/core/journal.py)."""

from __future__ import annotations

import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.core.journal import BODY_LIMIT, Captured, violations_of
from sandbox.http.context import state_of
from sandbox.runtime import Runtime

#: The inspector's own plumbing is not journaled: its polling would bury the requests worth reading.
_SKIP_EXACT = frozenset({"/", "/favicon.ico", "/_sandbox/requests"})
_SKIP_PREFIXES = ("/_sandbox/ui/", "/_sandbox/ui")


class JournalMiddleware:
    def __init__(self, app: ASGIApp, runtime: Runtime, skip_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.runtime = runtime
        self.skip_prefixes = _SKIP_PREFIXES + tuple(skip_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path in _SKIP_EXACT or path.startswith(self.skip_prefixes):
            await self.app(scope, receive, send)
            return
        journal = self.runtime.journal
        journal.ensure_started()
        started = journal.wall()
        t0 = time.perf_counter()
        scope.setdefault("state", {})  # shared with the layers inside, where the edge puts the request's state
        request_chunks: list[bytes] = []
        request_size = 0
        response: dict[str, Any] = {"status": 500, "headers": (), "size": 0}
        response_chunks: list[bytes] = []

        async def receive_capturing() -> Message:
            nonlocal request_size
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                if body:
                    if request_size < BODY_LIMIT:
                        request_chunks.append(body[: BODY_LIMIT - request_size + 1])
                    request_size += len(body)
            return message

        async def send_capturing(message: Message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
                response["headers"] = message.get("headers", ())
            elif message["type"] == "http.response.body":
                body = message.get("body", b"")
                if body:
                    if response["size"] < BODY_LIMIT:
                        response_chunks.append(body[: BODY_LIMIT - response["size"] + 1])
                    response["size"] += len(body)
            await send(message)

        try:
            await self.app(scope, receive_capturing, send_capturing)
        finally:
            state = state_of(scope)  # set by the edge, inside
            mount = state.mount if state is not None else None
            principal = state.principal if state is not None else None
            error = state.error if state is not None else None
            status = response["status"]
            journal.record(
                Captured(
                    started=started,
                    duration_ms=(time.perf_counter() - t0) * 1000,
                    api=mount.api.name if mount is not None else None,
                    tenant=principal.tenant if principal is not None else state.addressed_tenant if state else None,
                    method=scope["method"],
                    path=path,
                    query=scope.get("query_string", b""),
                    status=status,
                    trace_id=state.trace_id if state is not None else "",
                    key_last4=_key_last4(scope, mount),
                    request_headers=scope["headers"],
                    request_body=b"".join(request_chunks),
                    request_size=request_size,
                    response_headers=response["headers"],
                    response_body=b"".join(response_chunks),
                    response_size=response["size"],
                    violations=violations_of(error) if error is not None and status >= 400 else [],
                )
            )


def _key_last4(scope: Scope, mount: Any) -> str | None:
    auth = mount.api.auth if mount is not None else None
    if auth is None:
        return None
    name = auth.header.encode()
    for key, value in scope["headers"]:
        if key == name:
            token = value.decode("latin-1").strip()
            if auth.scheme:
                token = token.partition(" ")[2].strip()
            return token[-4:] if len(token) >= 8 else None
    return None
