"""The one typed state of a request: `RequestState`, created by `EdgeMiddleware`, completed by the gate.

It lives in the ASGI scope (`scope["state"]`, under `STATE_KEY`), where every middleware sees it; handlers
read the same object with `current()`, through Connexion's documented per-request context
(`connexion.context.scope`), and their tenant's workspace with `tenant_workspace(api)`."""

from __future__ import annotations

from collections.abc import MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from connexion.context import scope as connexion_scope

from sandbox.core.errors import Unauthorized

if TYPE_CHECKING:
    from sandbox.core.auth import Principal
    from sandbox.core.clock import StoredClock
    from sandbox.core.errors import SandboxError
    from sandbox.core.ratelimit import RateState
    from sandbox.core.workspace import Workspace
    from sandbox.runtime import Mount, Runtime

#: where the request's `RequestState` sits in `scope["state"]`
STATE_KEY = "sandbox.request"


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """An Idempotency-Key the write unit stores this request's response under."""

    api: str
    tenant: str
    key: str
    fingerprint: str


@dataclass(slots=True)
class RequestState:
    runtime: Runtime
    trace_id: str
    #: the API mount the path belongs to (None: outside every API, e.g. `/nope`)
    mount: Mount | None = None
    #: the tenant the path (`/href/<slug>/api`) or the Host (`<slug>.localtest.me`) names, before any key
    addressed_tenant: str | None = None
    #: the verified key's holder (the gate); None on public operations and before the gate
    principal: Principal | None = None
    #: the rate-limit counter this request hit (the gate, or the edge for unrouted requests)
    rate: RateState | None = None
    #: a state-changing request of a vendor API: its handler runs as one write transaction
    write: bool = False
    idempotency: IdempotencyClaim | None = None
    #: the error the response renders (`sandbox.http.errors.render`); the request journal lists its violations
    error: SandboxError | None = None
    #: the tenant clocks this request read (`clock_for`)
    _clocks: dict[tuple[str, str], StoredClock] | None = None

    def clock_for(self, api: str, tenant: str) -> StoredClock:
        """`Runtime.clock_for`, read once per request: the idempotency check, the write unit and the
        handler's workspace all see the same clock state (offset or frozen instant; a ticking clock still
        follows wall time), and a write reads the clocks table once, not three times (a query each). The
        state is read when the request first asks, before its write transaction: a clock moved by another
        worker during that request applies from the next request on, as a move during any request does."""
        clocks = self._clocks
        if clocks is None:
            clocks = self._clocks = {}
        clock = clocks.get((api, tenant))
        if clock is None:
            clock = clocks[(api, tenant)] = self.runtime.clock_for(api, tenant)
        return clock

    @property
    def tenant(self) -> str:
        """The verified tenant of a secured operation."""
        if self.principal is None:  # a secured operation always has one; this guards spec mistakes
            raise Unauthorized()
        return self.principal.tenant


def begin(scope: MutableMapping[str, Any], state: RequestState) -> RequestState:
    """Attach a new request's state to its scope (the edge, once per request)."""
    scope.setdefault("state", {})[STATE_KEY] = state
    return state


def state_of(scope: MutableMapping[str, Any]) -> RequestState | None:
    """The request's state, or None where the edge did not run (not an HTTP request of the app)."""
    return (scope.get("state") or {}).get(STATE_KEY)


def current() -> RequestState:
    """The state of the request a handler is serving."""
    state = state_of(connexion_scope)  # type: ignore[arg-type]
    if state is None:
        raise LookupError("no request state: called outside a request served through EdgeMiddleware")
    return state


def tenant_workspace(api: str) -> Workspace:
    """The workspace of this request's verified tenant in `api`: how a vendor handler reaches its records."""
    state = current()
    return state.runtime.workspace(api, state.tenant, state.clock_for(api, state.tenant))
