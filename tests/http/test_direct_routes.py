"""`DirectRoutes` (sandbox/http/connexion_fence/direct_routes.py): a routed request skips Connexion's three
routers and its per-middleware lookups, and must still reach exactly what they would have reached."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from connexion.middleware.routing import RoutingMiddleware
from starlette.routing import Match, Mount, Route

from sandbox.app import create_app
from sandbox.config import Config
from sandbox.http.connexion_fence import DirectRoutes
from sandbox.http.middleware import GateMiddleware
from sandbox.serving import serve_in_thread

HADAR_KEY = "hdr_test_marina_growth_admin_4f9c2a7b"


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Any, str]]:
    app = create_app(Config(db="memory"))  # every API, so every spec's routes are compared
    with serve_in_thread(app) as origin:
        with httpx.Client(base_url=origin, timeout=10, trust_env=False) as client:
            assert client.get("/hadar/v1/leads", headers={"Authorization": f"Bearer {HADAR_KEY}"}).status_code == 200
        yield app, origin


def _layers(app: Any) -> tuple[DirectRoutes, RoutingMiddleware, list[Any]]:
    stack = list(app.middleware.middleware_stack or [])
    direct = next(layer for layer in stack if isinstance(layer, DirectRoutes))
    routing = next(layer for layer in stack if isinstance(layer, RoutingMiddleware))
    return direct, routing, stack


def _starlette_pick(routing: RoutingMiddleware, scope: dict[str, Any]) -> str | None:
    """The operation Connexion's own routing reaches: Starlette's first FULL match, mount then route."""
    for mount in routing.router.routes:
        match, child = mount.matches(scope)
        if match is not Match.FULL:
            continue
        inner = {**scope, **child}
        for route in mount.app.routes:
            route_match, _ = route.matches(inner)
            if route_match is Match.FULL:
                return route.endpoint.operation_id  # type: ignore[no-any-return]
        return None
    return None


def _sample_paths(routing: RoutingMiddleware) -> set[tuple[str, str]]:
    """(method, path) for every route, its parameters filled with ordinary values and with every static
    segment of the same API (`/leads/search` against `/leads/{id}`), so route order matters."""
    samples: set[tuple[str, str]] = set()
    for mount in routing.router.routes:
        assert isinstance(mount, Mount)
        routes = [route for route in mount.app.routes if isinstance(route, Route) and route.methods]
        statics = {segment for route in routes for segment in route.path.split("/") if segment and "{" not in segment}
        for route in routes:
            for value in {"lead_01KRH25A3SV10FE43RKWT01BD9", "42", *statics}:
                path = mount.path + re.sub(r"\{[^}]+\}", value, route.path)
                for method in route.methods or ():
                    samples.add((method, path))
                    samples.add(("DELETE" if method != "DELETE" else "GET", path))  # often a 405
    return samples


def test_every_request_reaches_the_operation_connexions_routers_would(served: tuple[Any, str]) -> None:
    app, _ = served
    direct, routing, _ = _layers(app)
    samples = _sample_paths(routing)
    assert len(samples) > 100
    direct_count = 0
    for method, path in sorted(samples):
        scope = {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}
        expected = _starlette_pick(routing, dict(scope))
        found = direct.match(dict(scope))
        picked = found[1].operation_id if found else None
        if method == "HEAD" or picked is None:
            # the long way: Connexion's own routing decides (and gets what it would have got)
            continue
        direct_count += 1
        assert picked == expected, (method, path)
    assert direct_count > 80  # the direct routes really serve the operations


def test_a_routed_request_runs_its_chain_once_and_anything_else_goes_the_long_way(
    served: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    app, origin = served
    direct, _, _ = _layers(app)
    scope = {"type": "http", "method": "GET", "path": "/hadar/v1/leads/lead_01KRH25A3SV10FE43RKWT01BD9", "root_path": ""}
    found = direct.match(scope)
    assert found is not None and found[1].operation_id == "getLead"
    assert found[2] == {"lead_id": "lead_01KRH25A3SV10FE43RKWT01BD9"}
    route = found[1]
    calls: list[str] = []
    chain = route.chain

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        calls.append(scope["path"])
        await chain(scope, receive, send)

    monkeypatch.setattr(route, "chain", counting)
    headers = {"Authorization": f"Bearer {HADAR_KEY}"}
    with httpx.Client(base_url=origin, timeout=10, trust_env=False) as client:
        one = client.get("/hadar/v1/leads/lead_01KRH25A3SV10FE43RKWT01BD9", headers=headers)
        missing = client.get("/hadar/v1/leads/lead_nope", headers=headers)
        nowhere = client.get("/hadar/v1/nope", headers=headers)
        wrong_method = client.put("/hadar/v1/leads/lead_01KRH25A3SV10FE43RKWT01BD9", headers=headers)
        unauthenticated = client.get("/hadar/v1/leads/lead_01KRH25A3SV10FE43RKWT01BD9")
        spec = client.get("/hadar/v1/openapi.json")
    assert one.status_code == 200 and one.json()["data"]["id"] == "lead_01KRH25A3SV10FE43RKWT01BD9"
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert unauthenticated.status_code == 401  # the gate runs inside the direct chain
    known, unknown = "/hadar/v1/leads/lead_01KRH25A3SV10FE43RKWT01BD9", "/hadar/v1/leads/lead_nope"
    assert calls == [known, unknown, known]  # the PUT (405), /nope and the spec never entered it
    # not routed: Connexion's own routing answers, in the vendor's error shape
    assert nowhere.status_code == 404 and "error" in nowhere.json()
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["allow"]
    assert spec.status_code == 200 and spec.json()["openapi"].startswith("3.1")


def test_a_stack_holding_a_middleware_it_does_not_know_is_never_short_cut(served: tuple[Any, str]) -> None:
    app, _ = served
    direct, _, stack = _layers(app)
    assert direct._link(stack), "the real stack is linked"
    blind = DirectRoutes(direct.app, passthrough=[cls for cls in direct.passthrough if cls is not GateMiddleware])
    stack_with_blind = [blind if layer is direct else layer for layer in stack]
    assert blind._link(stack_with_blind) == []  # the gate is unknown to it: every request the long way


# --- the handler's arguments from a plan (sandbox/http/connexion_fence/arguments.py) ---------------------
def _planned_operations(app: Any) -> dict[str, bool]:
    """Whether each operation of each API (as the context middleware hands it to the handler) has a plan."""
    from connexion.decorators.parameter import (
        inspect_function_arguments,
        pythonic,
        sanitized,
        unwrap_decorators,
    )
    from connexion.middleware.context import ContextMiddleware

    from sandbox.http.connexion_fence.arguments import plan_for

    context = next(layer for layer in app.middleware.middleware_stack if isinstance(layer, ContextMiddleware))
    planned: dict[str, bool] = {}
    for apis in context.apis.values():
        for api in apis:
            for routed in api.operations.values():
                op = routed.operation
                arguments, has_kwargs = inspect_function_arguments(unwrap_decorators(op.function))
                sanitize = pythonic if app.middleware.options.pythonic_params else sanitized
                planned[f"{api.base_path} {op.operation_id}"] = plan_for(op, arguments, has_kwargs, sanitize) is not None
    return planned


def test_the_hot_operations_have_a_plan_and_the_suite_checks_every_planned_call(served: tuple[Any, str]) -> None:
    from sandbox.http.connexion_fence.lean_operation import PlannedArguments

    app, _ = served
    planned = _planned_operations(app)
    for name in ("/hadar/v1 getLead", "/hadar/v1 listLeads", "/hadar/v1 createLead", "/hadar/v1 listConversations"):
        assert planned[name], name
    assert sum(planned.values()) > len(planned) // 2  # most operations: scalars and a JSON body
    assert PlannedArguments.verify  # tests/conftest.py: every planned call is compared with upstream's


def test_a_plan_that_disagrees_with_upstream_fails_loudly(served: tuple[Any, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from sandbox.http.connexion_fence import arguments

    app, origin = served
    honest = arguments.Plan.kwargs

    def off_by_one(self: Any, scope: Any) -> dict[str, Any]:
        kwargs = honest(self, scope)
        if "limit" in kwargs:
            kwargs["limit"] += 1
        return kwargs

    monkeypatch.setattr(arguments.Plan, "kwargs", off_by_one)
    with httpx.Client(base_url=origin, timeout=10, trust_env=False) as client:
        response = client.get("/hadar/v1/leads", params={"limit": 3}, headers={"Authorization": f"Bearer {HADAR_KEY}"})
    assert response.status_code == 500  # the verification's AssertionError, never a silently wrong page
