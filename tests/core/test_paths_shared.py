"""The spec-template regex and the tenant-in-path form, each defined once (sandbox/core/routes.py,
sandbox/core/tenant_paths.py) and used by the router, the 405 lookup, the inspector and the docs checker."""

from __future__ import annotations

from sandbox.core.routes import parameters_in, route_pattern
from sandbox.core.tenant_paths import tenant_base, tenant_base_pattern, without_tenant


def test_route_pattern__a_parameter_is_one_segment() -> None:
    pattern = route_pattern("/leads/{lead_id}/notes")
    assert pattern.fullmatch("/leads/lead_01/notes")
    assert not pattern.fullmatch("/leads/a/b/notes") and not pattern.fullmatch("/leads/lead_01/notes/")
    assert route_pattern("/leads/{lead_id}", trailing_slash=True).match("/leads/lead_01/")


def test_route_pattern__literal_characters_stay_literal() -> None:
    assert not route_pattern("/v1.0/leads").fullmatch("/v1x0/leads")


def test_parameters_in__literal_paths_sort_first() -> None:
    routes = sorted([route_pattern("/leads/{id}"), route_pattern("/leads/webhook")], key=parameters_in)
    assert routes[0].pattern == route_pattern("/leads/webhook").pattern
    assert parameters_in(route_pattern("/a/{b}/c/{d}")) == 2


def test_tenant_base__the_tenant_goes_before_the_last_segment() -> None:
    assert tenant_base("/href/api", "acme") == "/href/acme/api"
    assert tenant_base("/api", "acme") == "/acme/api"


def test_tenant_base_pattern__reads_slug_and_rest() -> None:
    match = tenant_base_pattern("/href/api").match("/href/Acme-Realty/api/leads/intake")
    assert match is not None and match["slug"] == "Acme-Realty" and match["rest"] == "/leads/intake"
    assert tenant_base_pattern("/href/api").match("/href/acme/api")["rest"] is None  # type: ignore[index]
    assert tenant_base_pattern("/href/api").match("/href/acme/apix") is None
    assert tenant_base_pattern("/href/api").match("/href/-acme/api/leads") is None


def test_without_tenant__is_the_inverse_of_tenant_base() -> None:
    assert without_tenant(tenant_base("/href/api", "acme") + "/leads/intake", "/href/api") == "/href/api/leads/intake"
    assert without_tenant("/hadar/api/v1/leads", "/href/api") is None
