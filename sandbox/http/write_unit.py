"""One state-changing request = one transaction: the handler's writes (record, events, queued webhook
jobs) and, under an Idempotency-Key, the key's entry with the response the client will get, commit
together or not at all (see sandbox.core.idempotency for why that makes keys crash-safe).

The handler runs inside the transaction without ever yielding to the event loop: vendor handlers are
`async def` for Connexion but never await anything that suspends (models are synchronous). A handler
that does suspend would let another request's statements into this transaction, so it is refused loudly
(`HandlerSuspended`), never run half inside.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from starlette.responses import Response

from sandbox.core import errors as E
from sandbox.core import idempotency
from sandbox.core.clock import utc_iso
from sandbox.http.context import STATE_KEY, IdempotencyClaim, RequestState, current
from sandbox.http.errors import render

REPLAYED_HEADER = ("Idempotent-Replayed", "true")


class HandlerSuspended(RuntimeError):
    """A write handler awaited something that suspends; it cannot run inside one transaction."""


def transactional(handler: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    """Wrap a vendor handler: a write request runs it as one unit; reads run it as it is."""

    @functools.wraps(handler)  # Connexion reads the handler's parameters through __wrapped__
    async def run(*args: Any, **kwargs: Any) -> Any:
        ctx = current()
        if not ctx.write:
            return await handler(*args, **kwargs)
        return run_unit(ctx, lambda: handler(*args, **kwargs))

    return run


class _RollBack(Exception):
    def __init__(self, response: Any) -> None:
        self.response = response


def run_unit(ctx: RequestState, call: Callable[[], Awaitable[Any]]) -> Any:
    try:
        return _unit(ctx, call)
    except _RollBack as rolled_back:  # a 5xx the handler returned: sent, never stored, writes undone
        return rolled_back.response


def _unit(ctx: RequestState, call: Callable[[], Awaitable[Any]]) -> Any:
    store = ctx.runtime.store
    claim = ctx.idempotency
    error: E.SandboxError | None = None
    with store.transaction():
        if claim is not None:
            now = ctx.clock_for(claim.api, claim.tenant).now()
            existing = store.idempotency_claim(
                claim.api, claim.tenant, claim.key, claim.fingerprint, utc_iso(now),
                utc_iso(now + idempotency.DEFAULT_TTL),
            )
            outcome = idempotency.decide(existing, claim.fingerprint)
            if outcome.decision is idempotency.Decision.CONFLICT:
                raise conflict()  # rolls back: nothing was written
            if outcome.decision is idempotency.Decision.REPLAY:
                assert outcome.entry is not None
                return replay_response(outcome.entry)
        try:
            result = _run_to_completion(call())
        except E.SandboxError as exc:
            if not idempotency.should_store(exc.status):
                raise  # rolls back: a retry of a failed request runs it again
            error = exc
            result = _rendered(ctx, exc) if claim is not None else None
        if claim is not None:
            if not idempotency.should_store(getattr(result, "status_code", 200)):
                raise _RollBack(result)
            _record(store, claim, result)
    if error is not None and claim is None:
        raise error  # rendered by the API's error handler, after the commit (a 4xx keeps its writes, as before)
    return result


def conflict() -> E.Conflict:
    return E.Conflict(
        "Idempotency-Key was already used with a different request payload; use a new key for a new request",
        field="Idempotency-Key",
    )


def replay_response(entry: idempotency.IdempotencyEntry) -> Response:
    headers = dict(entry.headers or {})
    headers[REPLAYED_HEADER[0]] = REPLAYED_HEADER[1]
    return Response(entry.body or b"", status_code=entry.status or 200, headers=headers)


def _run_to_completion(coroutine: Awaitable[Any]) -> Any:
    """Run a coroutine that never suspends, here and now; HandlerSuspended if it tries to."""
    assert isinstance(coroutine, Coroutine)
    try:
        coroutine.send(None)
    except StopIteration as done:
        return done.value
    coroutine.close()
    raise HandlerSuspended("a write handler awaited something that suspends; it must run as one transaction")


def _rendered(ctx: RequestState, exc: E.SandboxError) -> Response:
    """The error exactly as the API's error handler would send it, so that what is stored is what is sent."""
    # A state of its own: what is stored is not this request's error for the journal (it never was).
    status, body, headers = render({"state": {STATE_KEY: RequestState(ctx.runtime, ctx.trace_id, ctx.mount)}}, exc)
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def _record(store: Any, claim: IdempotencyClaim, response: Any) -> None:
    if not isinstance(response, Response) or not hasattr(response, "body"):
        raise TypeError(f"an idempotent handler must return a complete Response, not {type(response).__name__}")
    headers = {
        key.decode("latin-1"): value.decode("latin-1")
        for key, value in response.raw_headers
        if key != b"content-length"
    }
    store.idempotency_record(claim.api, claim.tenant, claim.key, response.status_code, headers, bytes(response.body))
