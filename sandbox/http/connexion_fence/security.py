"""Connexion's security step, reduced to reading what `GateMiddleware` already verified.

The gate runs first so that errors use each vendor's codes (`unauthorized` vs `invalid_api_key`) and so
rate limits apply per key. Connexion's `SecurityMiddleware` still runs for every secured operation, so a
secured operation the gate let through without a principal is refused as before; what it returns is not
read by anything (handlers get the tenant from `sandbox.http.context.current()`).

Seam: `AbstractSecurityHandler.get_fn` (documented for custom handlers, but its signature is not)."""

from __future__ import annotations

from typing import Any

from connexion.security import NO_VALUE, AbstractSecurityHandler

from sandbox.http.context import state_of


class GatePrincipal(AbstractSecurityHandler):
    def get_fn(self, security_scheme: dict[str, Any], required_scopes: Any) -> Any:
        async def verify(request: Any) -> Any:
            state = state_of(request.scope)
            principal = state.principal if state is not None else None
            return NO_VALUE if principal is None else {"sub": principal.tenant}

        return verify


SECURITY_MAP: dict[str, Any] = {"bearer": GatePrincipal, "apiKey": GatePrincipal}
