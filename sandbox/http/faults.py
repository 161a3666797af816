"""`FaultMiddleware` (just inside the gate): the control plane's injected faults (`/_sandbox/faults`).

A fault set for an operation makes its next N calls wait `latency_ms`, then fail with the status asked
for (503 or 500), in the API's own error shape. It runs after the gate, so only a request the gate let
through (authenticated, within its rate limit) takes one of the N, and before Connexion's security and
validation, so a fault answers whatever the request's body."""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Receive, Scope, Send

from sandbox.core import errors as E
from sandbox.http.connexion_fence import routed_operation_id
from sandbox.http.context import state_of
from sandbox.runtime import Runtime


class FaultMiddleware:
    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        state = state_of(scope) if scope["type"] == "http" else None
        if state is not None and state.mount is not None:
            await self._inject(state.mount.api.name, routed_operation_id(scope))
        await self.app(scope, receive, send)

    async def _inject(self, api: str, operation_id: str | None) -> None:
        """Wait, then fail, for the next N calls of an operation."""
        fault = self.runtime.store.take_fault(api, operation_id)
        if fault is None:
            return
        if fault.latency_ms:
            await asyncio.sleep(fault.latency_ms / 1000)
        if fault.status == 503:
            raise E.ServiceUnavailable("Injected fault: a downstream provider is degraded (sandbox fault injection)")
        if fault.status == 500:
            raise E.InternalError("Injected fault: internal error (sandbox fault injection)")
