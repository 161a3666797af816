"""The tenant as a path segment, in one place. An API that takes its tenant from the Host (HREF:
`<slug>.localtest.me`) also answers the path form of each base, the tenant before the base's last segment
(`/href/api` -> `/href/<slug>/api`), which works without any DNS. The router, the definition, the
inspector, the docs checker and the command line all build or read that form here."""

from __future__ import annotations

import re

#: a tenant slug as a path segment (the slugs tenants are provisioned with)
_SLUG = "[a-z0-9][a-z0-9-]{0,62}"


def tenant_base(base: str, tenant: str) -> str:
    """`/href/api` -> `/href/<tenant>/api`."""
    parent, _, last = base.rpartition("/")
    return f"{parent}/{tenant}/{last}"


def tenant_base_pattern(base: str) -> re.Pattern[str]:
    """Matches a path under the path form of `base`: groups `slug` and `rest` (what follows the base)."""
    parent, _, last = base.rpartition("/")
    return re.compile(rf"^{re.escape(parent)}/(?P<slug>{_SLUG})/{re.escape(last)}(?P<rest>/.*)?$", re.IGNORECASE)


def without_tenant(path: str, base: str) -> str | None:
    """A path under the path form of `base` as the same path under `base` itself; None when it is not one."""
    match = tenant_base_pattern(base).match(path)
    return None if match is None else base + (match["rest"] or "")
