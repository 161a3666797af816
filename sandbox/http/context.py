"""The request context handlers read: runtime, API, tenant principal, trace id."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.core.errors import Unauthorized

if TYPE_CHECKING:
    from sandbox.core.auth import Principal
    from sandbox.core.workspace import Workspace
    from sandbox.runtime import Mount, Runtime


@dataclass(frozen=True, slots=True)
class IdempotencyClaim:
    """An Idempotency-Key the write unit stores this request's response under."""

    api: str
    tenant: str
    key: str
    fingerprint: str


@dataclass(slots=True)
class RequestContext:
    runtime: Runtime
    trace_id: str
    mount: Mount | None = None
    principal: Principal | None = None
    #: a state-changing request of a vendor API: its handler runs as one write transaction
    write: bool = False
    idempotency: IdempotencyClaim | None = None

    @property
    def tenant(self) -> str:
        if self.principal is None:  # a secured operation always has one; this guards spec mistakes
            raise Unauthorized()
        return self.principal.tenant


_current: ContextVar[RequestContext] = ContextVar("lead_sandbox_request")


def current() -> RequestContext:
    return _current.get()


def bind(context: RequestContext) -> None:
    _current.set(context)


def tenant_workspace(api: str) -> Workspace:
    """The workspace of this request's tenant in `api`: how a vendor handler reaches its records."""
    ctx = current()
    return ctx.runtime.workspace(api, ctx.tenant)
