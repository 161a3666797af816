"""What every vendor package declares: one `ApiDefinition`, the same shape for every API.

The bottom layer's shared types (docs/architecture.md): vendor packages, the HTTP layer, the runtime and
the control plane all read an `ApiDefinition`, so it imports nothing above `sandbox.core`."""

from __future__ import annotations

import importlib
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandbox.core.tenant_paths import tenant_base

if TYPE_CHECKING:
    from sandbox.core.errors import SandboxError
    from sandbox.core.seed_context import SeedContext
    from sandbox.core.store import Job
    from sandbox.core.webhooks import WebhookStyle

#: A timed job's handler: (the app's runtime, the job) -> awaitable. The runtime is `sandbox.runtime.Runtime`,
#: a layer above this one, so it is typed loosely here; handlers annotate it exactly.
JobHandler = Callable[[Any, "Job"], Awaitable[Any]]


def lazy(target: str) -> Callable[..., Any]:
    """`module:function`, imported on first call. Seeders (`factories`) import the models they seed and job
    handlers import the API package, so an `ApiDefinition` names them instead of importing them."""
    module, _, name = target.partition(":")

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__qualname__ = call.__name__ = name
    return call


@dataclass(frozen=True)
class KeyAuth:
    """How a vendor sends its key and what its keys look like."""

    header: str  # lower-case header name: "authorization" or "x-api-key"
    scheme: str | None  # "bearer" when the header is `Authorization: Bearer <key>`
    test_prefix: str
    live_prefixes: tuple[str, ...]
    #: A well-formed key of this vendor (test or live); anything else is "malformed".
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class ApiDefinition:
    name: str
    title: str
    spec_file: str
    #: Base paths in a multi-API `serve`, and in `serve --api NAME` (the vendor's own paths).
    mounts: tuple[str, ...]
    solo_mounts: tuple[str, ...]
    handlers_module: str
    auth: KeyAuth | None
    #: wire body of an error: (error, trace_id) -> JSON-able dict
    render_error: Callable[[SandboxError, str], dict[str, Any]]
    #: plan -> requests per minute; empty means not rate limited
    plans: Mapping[str, int] = field(default_factory=dict)
    #: plan whose budget applies to requests without a valid key (per client address)
    anonymous_plan: str | None = None
    #: While the rate-limit counters (Redis) cannot be reached: True answers 503 service_unavailable
    #: (Hadar: "a Redis outage will not let traffic through unmetered"); False serves requests
    #: unmetered, without rate-limit headers.
    rate_limits_fail_closed: bool = False
    #: plan of a new key or tenant when none is named (None: the tenant's plan, or the fixture's)
    default_plan: str | None = None
    idempotency: bool = False
    seed: Callable[[SeedContext], None] | None = None
    #: Swagger UI path relative to the API's first mount's parent (e.g. /hadar + /developers/api-docs)
    docs_path: str | None = None
    #: how this vendor shapes, signs and retries webhooks (None: it sends none)
    webhooks: WebhookStyle | None = None
    #: job kind -> handler, for timed work of this API (e.g. WhatsApp status changes)
    jobs: Mapping[str, JobHandler] = field(default_factory=dict)
    #: event type -> `stripe trigger`-like function (runtime, tenant) -> the published event
    triggers: Mapping[str, Callable[..., dict[str, Any]]] = field(default_factory=dict)
    #: name -> what the vendor's side does that its API has no operation for (a lead writing on WhatsApp):
    #: (runtime, tenant, request body) -> the record made. The control plane serves each under
    #: /_sandbox/<api>/... (openapi/sandbox.yaml), so it needs no import of the vendor's package.
    simulations: Mapping[str, Callable[..., dict[str, Any]]] = field(default_factory=dict)
    #: called when an app starts and after a reset (e.g. schedule recurring jobs)
    on_start: Callable[..., None] | None = None
    #: the tenant comes from the request (Host `<slug>.localtest.me`, or a path segment), not from the key;
    #: a key of another tenant is refused
    tenant_from_host: bool = False
    #: the control plane: guarded by the admin token instead of tenant keys
    admin_only: bool = False
    #: prefixes the vendor has but does not serve to integrations (multi-API, solo) and why: every request
    #: under one answers 404 in this API's own error shape with that reason (Hadar's dashboard-only /api/*)
    unserved: tuple[tuple[str, ...], tuple[str, ...], str] | None = None
    #: (kind, JSON field) looked up by value: each gets an index (`Store.ensure_index`), so the lookup
    #: costs the same in a tenant of a hundred records and of a hundred thousand
    indexes: tuple[tuple[str, str], ...] = ()
    #: rank among the APIs wherever they are listed (keys table, landing page, `serve`): lower first
    order: int = 100

    def bases(self, solo: bool) -> tuple[str, ...]:
        return self.solo_mounts if solo else self.mounts

    def documented_base(self, served: Sequence[str]) -> str:
        """Of the base paths a server mounts (`/_sandbox/apis`), the one the docs use (`/hadar/v1` before
        `/hadar/api/v1`); for an API that takes its tenant from the Host, the path form needs a tenant."""
        return next((path for path in (*self.mounts, *self.solo_mounts) if path in served), served[0])

    def tenant_base(self, base: str, tenant: str) -> str:
        """A tenant's base path: for a Host-tenant API its path form (`/href/api` -> `/href/<slug>/api`),
        which works without any DNS."""
        return tenant_base(base, tenant) if self.tenant_from_host else base

    def unserved_bases(self, solo: bool) -> tuple[str, ...]:
        if self.unserved is None:
            return ()
        return self.unserved[1] if solo else self.unserved[0]
