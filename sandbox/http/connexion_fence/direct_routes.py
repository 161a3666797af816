"""`DirectRoutes`: a routed request goes straight through its operation's own chain.

Connexion 3.3 routes every request three times (the Swagger UI middleware's router, the routing
middleware's router, the application's router: a regex per route of the API, tried in order) and then
has each routed middleware look its operation up again by id (`RoutedMiddleware.__call__`). Under
`make bench` that plumbing was about a seventh of a GET's CPU. None of it depends on the request beyond
(base path, method, path): so here, once, for every operation of every API, the per-operation objects
Connexion built (security, request validation, response validation, context, the handler) and the
sandbox's own middlewares between them are linked into one chain per operation, in the stack's order,
and a request is matched once, against the routes of its method only.

Behaviour is Connexion's: the same route wins (Starlette's rule: the first route of the API whose path
and method both match), the scope carries what Connexion's routing and the application's router put there
(`path_params`, the routing extension, `root_path`), and the same per-operation objects run in the same
order. Anything else goes the long way, unchanged: a path no route matches (404/405, trailing-slash
redirects), the documentation routes, an operation some middleware has no object for, or a stack with a
middleware this module does not know (a later Connexion release, say), for which nothing is linked at all.

Seams: `ConnexionMiddleware.middleware_stack` (the built stack, `scope["app"]`), `RoutedMiddleware.apis`
and their operations' `next_app`, the routing middleware's `router` of `Mount`s of `Route`s (their
`path_regex` and `param_convertors`), `LifespanMiddleware`, and `ROUTING_CONTEXT`."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from connexion.middleware.abstract import ROUTING_CONTEXT, RoutedMiddleware
from connexion.middleware.lifespan import LifespanMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

#: paths under an API's base path that Connexion's Swagger UI middleware serves (they are never direct)
_DOCS = re.compile(r"^/(?:openapi\.json|openapi\.yaml|swagger\.json|ui(?:/.*)?)$")


@dataclass(slots=True)
class _Route:
    regex: re.Pattern[str]
    convertors: dict[str, Any]
    operation_id: str
    chain: ASGIApp
    endpoint: Any


@dataclass(slots=True)
class _Api:
    base_path: str
    regex: re.Pattern[str]  # the Mount's
    by_method: dict[str, list[_Route]] = field(default_factory=dict)


class DirectRoutes:
    """Placed just before Connexion's Swagger UI middleware (`self.app`, where everything else goes)."""

    def __init__(self, app: ASGIApp, passthrough: Iterable[type] = ()) -> None:
        self.app = app
        #: middlewares of the sandbox's own between routing and the handler: linked by copying each with
        #: `.app` pointing at the next link (they keep no per-request state on themselves)
        self.passthrough = tuple(passthrough)
        self._apis: list[_Api] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self._apis is None:
            self._apis = self._link(scope["app"].middleware_stack)
        found = self.match(scope)
        if found is None:
            await self.app(scope, receive, send)
            return
        api, route, params = found
        # What Connexion's routing hands on: a copy of the scope with the path parameters and the routing
        # extension (the extensions dict shared with the original, as upstream's setdefault shares it).
        routed = dict(scope)
        routed.setdefault("path_params", {}).update(params)
        routed.setdefault("extensions", {}).setdefault(ROUTING_CONTEXT, {}).update(
            {"api_base_path": api.base_path, "operation_id": route.operation_id}
        )
        await route.chain(routed, receive, send)

    def match(self, scope: Scope) -> tuple[_Api, _Route, dict[str, Any]] | None:
        """The route Starlette's routers would pick for this request, with its converted path parameters;
        None for whatever must go the long way."""
        method = scope["method"]
        if not self._apis or scope.get("root_path") or method == "HEAD":  # a root path, HEAD: the long way
            return None
        for api in self._apis:
            mount = api.regex.match(scope["path"])
            if mount is None:
                continue
            rest = "/" + mount.group("path")
            if _DOCS.match(rest):
                return None
            for route in api.by_method.get(method, ()):
                found = route.regex.match(rest)
                if found is not None:
                    params = {name: route.convertors[name].convert(value) for name, value in found.groupdict().items()}
                    return api, route, params
            return None  # Starlette's first matching mount decides; none of its routes: 404/405 the long way
        return None

    def _link(self, stack: list[Any]) -> list[_Api]:
        """One chain per operation, from the built stack; [] (everything the long way) when the stack is
        not what this was written against."""
        try:
            start = next(i for i, m in enumerate(stack) if m is self)
            swagger, routing, *inner = stack[start + 1:]
        except (StopIteration, ValueError):
            return []
        if not isinstance(swagger, SwaggerUIMiddleware) or not isinstance(routing, RoutingMiddleware):
            return []
        final = inner[-1]
        for middleware in inner[:-1]:
            if not isinstance(middleware, (RoutedMiddleware, LifespanMiddleware, *self.passthrough)):
                return []
        if not isinstance(final, RoutedMiddleware):
            return []
        apis: list[_Api] = []
        for mount in routing.router.routes:
            if not isinstance(mount, Mount):
                return []
            base_path = mount.path
            if set(mount.path_regex.groupindex) != {"path"}:
                return []  # a base path with parameters of its own
            api = _Api(base_path, mount.path_regex)
            for route in getattr(mount.app, "routes", ()):
                if not isinstance(route, Route) or not route.methods:
                    continue
                operation_id = getattr(route.endpoint, "operation_id", None)
                if operation_id is None:
                    continue
                linked = _chain(inner, base_path, operation_id)
                if linked is None:
                    continue  # this operation goes the long way
                chain, endpoint = linked
                for method in route.methods:
                    if method != "HEAD":
                        api.by_method.setdefault(method, []).append(
                            _Route(route.path_regex, route.param_convertors, operation_id,
                                   chain, endpoint)
                        )
            apis.append(api)
        return apis


def _operation(middleware: RoutedMiddleware, base_path: str, operation_id: str) -> Any | None:
    for api in middleware.apis.get(base_path, ()):
        found = api.operations.get(operation_id)
        if found is not None:
            return found
    return None


def _chain(inner: list[Any], base_path: str, operation_id: str) -> tuple[ASGIApp, Any] | None:
    """The operation's chain, built from the handler outwards; None when a routed middleware that serves
    this base path has no object for the operation (upstream would raise there: leave it to upstream)."""
    final = _operation(inner[-1], base_path, operation_id)
    if final is None:
        return None
    link: ASGIApp = _Endpoint(final, base_path)
    for middleware in reversed(inner[:-1]):
        if isinstance(middleware, LifespanMiddleware):
            continue  # passes HTTP requests on untouched
        if isinstance(middleware, RoutedMiddleware):
            if base_path not in middleware.apis:
                continue  # upstream passes requests of an API it was not given straight on
            operation = _operation(middleware, base_path, operation_id)
            if operation is None or not hasattr(operation, "next_app"):
                return None
            operation = copy.copy(operation)
            operation.next_app = link
            link = operation
        else:
            own = copy.copy(middleware)
            own.app = link
            link = own
    return link, final


class _Endpoint:
    """What the application's router does before calling the operation: the child scope of its Mount and
    Route (root path, path parameters, endpoint), updated in place as Starlette's router does."""

    __slots__ = ("operation", "base_path")

    def __init__(self, operation: Any, base_path: str) -> None:
        self.operation = operation
        self.base_path = base_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = scope.get("root_path", "")
        scope["app_root_path"] = scope.get("app_root_path", root)
        scope["root_path"] = root + self.base_path
        scope["endpoint"] = self.operation
        await self.operation(scope, receive, send)
