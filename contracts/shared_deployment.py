"""A fresh tenant of a shared sandbox deployment, for one test or one CI job.

`fresh_tenant(origin, "hadar")` asks the deployment's control plane for an ephemeral tenant
(`POST /_sandbox/tenants {"api", "ttl_seconds"}`): seeded like the default tenants, with its own admin
key and its own test clock, deleted with its data after the TTL. Tests on one deployment then never see
each other's records, rate-limit budgets or clock moves. The pytest plugin's fixtures can call this.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class TenantLease:
    origin: str
    api: str
    slug: str
    key: str
    #: the API's base URL on the deployment (e.g. http://host:4010/hadar/v1)
    base_url: str
    expires_at: str | None
    admin_token: str | None = None

    def _control(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.admin_token}"} if self.admin_token else {}
        return httpx.Client(base_url=self.origin + "/_sandbox", headers=headers, timeout=30, trust_env=False)

    def advance_clock(self, seconds: int) -> dict[str, Any]:
        """Move this tenant's clock only (and run what became due for it)."""
        with self._control() as control:
            response = control.post("/clock/advance", json={"seconds": seconds, "api": self.api, "tenant": self.slug})
            response.raise_for_status()
            return dict(response.json()["data"])

    def now(self) -> str:
        with self._control() as control:
            response = control.get("/clock", params={"api": self.api, "tenant": self.slug})
            response.raise_for_status()
            return str(response.json()["data"]["now"])


def fresh_tenant(
    origin: str, api: str, *, ttl_seconds: int = 3600, admin_token: str | None = None, plan: str | None = None
) -> TenantLease:
    """A new ephemeral tenant of `api` on the deployment at `origin` (http://host:port, no path)."""
    origin = origin.rstrip("/")
    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    body: dict[str, Any] = {"api": api, "ttl_seconds": ttl_seconds}
    if plan is not None:
        body["plan"] = plan
    with httpx.Client(base_url=origin + "/_sandbox", headers=headers, timeout=60, trust_env=False) as control:
        created = control.post("/tenants", json=body)
        created.raise_for_status()
        data = created.json()["data"]
        apis = control.get("/apis")
        apis.raise_for_status()
    bases = next((a["base_paths"] for a in apis.json()["data"] if a["name"] == api), None)
    if not bases:
        raise LookupError(f"the deployment at {origin} does not serve {api}")
    slug = data["tenant"]["slug"]
    base = min(bases, key=len)  # e.g. /hadar/v1 rather than /hadar/api/v1
    if api == "href":  # HREF: the tenant is a path segment when no Host names it
        base = base.replace("/api", f"/{slug}/api", 1)
    return TenantLease(origin, api, slug, data["key"]["key"], origin + base, data.get("expires_at"), admin_token)
