"""The handler call, built once per operation instead of per request.

Connexion 3.3's `AsyncOperation.fn` builds a new `StarletteDecorator` per request, and that decorator's
wrapper calls `decorate()` per request again: `inspect.signature` of the handler, three `functools.wraps`
and a new URI parser per call. None of it depends on the request (the wrappers read the current
operation, scope and receive from Connexion's context variables when they run), so here it is built
once per operation. Measured with py-spy under `make bench`: about 10% of the CPU of a GET went there.
Behaviour is unchanged: the same decorators run in the same order.

The handler's request also reuses the JSON body the validator already parsed (`PARSED_BODY`) instead of
decoding it a second time, and skips form parsing for requests that carry no form.

Seams: `AsyncOperation.fn`/`_fn`, `StarletteDecorator._parameter_decorator_cls`, the parameter decorator's
`sanitize_fn`, `AsyncApi.make_operation`, `AsyncASGIApp.api_cls`,
`StarletteDecorator.decorate`/`uri_parser_class`, the context proxies' `_get_current_object`, and the
operation's `body_definition`/`body_schema`/`body_name`, memoized on the operation object."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp, AsyncOperation
from connexion.context import operation, receive, scope
from connexion.decorators import StarletteDecorator
from connexion.decorators.parameter import (
    AsyncParameterDecorator,
    inspect_function_arguments,
    unwrap_decorators,
)
from connexion.lifecycle import ConnexionRequest
from connexion.operations import AbstractOperation

from sandbox.http.connexion_fence.arguments import Plan, Unplanned, plan_for
from sandbox.http.connexion_fence.validators import PARSED_BODY

_FORMS = ("multipart/form-data", "application/x-www-form-urlencoded")


class _Request(ConnexionRequest):
    async def json(self) -> Any:
        state = self.scope.get("state") or {}
        if PARSED_BODY in state:
            return state[PARSED_BODY]
        return await super().json()

    async def files(self) -> Any:
        if not (self.content_type or "").startswith(_FORMS):
            return {}
        return await super().files()


def memoize_body_lookups(op: Any) -> None:
    """The parameter decorator asks the operation for its body definition, schema and name on every
    request; each answer is a pure function of the spec and the content type (`body_definition` builds a
    MediaTypeDict per call). Cached on the operation object, bounded: the content type is the client's."""
    for name in ("body_definition", "body_schema", "body_name"):
        method = getattr(op, name, None)
        if method is not None and not hasattr(method, "cache_info"):
            setattr(op, name, functools.lru_cache(maxsize=8)(method))


class PlannedArguments(AsyncParameterDecorator):
    """Upstream's parameter decorator, with the handler's arguments taken from a plan made once per
    operation where the operation allows one (`arguments.plan_for`), and upstream's wrapper for every other
    request. Also: upstream turns every parameter name into its argument name (three regex substitutions,
    or inflection's snake_case) on every request; the answer depends on the name only (bounded: query
    parameter names are the client's)."""

    #: run upstream's decorator beside every planned request and fail when they disagree (tests)
    verify = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.sanitize_fn = functools.lru_cache(maxsize=512)(self.sanitize_fn)  # type: ignore[has-type]

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        upstream = super().__call__(function)
        arguments, has_kwargs = inspect_function_arguments(unwrap_decorators(function))
        plans: dict[int, tuple[Any, Plan | None]] = {}  # id(operation) -> (operation, its plan)

        @functools.wraps(function)  # upstream inspects the handler's signature through __wrapped__
        async def echo(**kwargs: Any) -> dict[str, Any]:
            return kwargs

        upstream_kwargs = super().__call__(echo)  # what upstream would pass, for `verify`

        @functools.wraps(function)
        async def wrapper(request: Any) -> Any:
            current = operation._get_current_object()  # type: ignore[attr-defined]
            cached = plans.get(id(current))
            if cached is None or cached[0] is not current:
                cached = plans[id(current)] = (current, plan_for(current, arguments, has_kwargs, self.sanitize_fn))
            plan = cached[1]
            if plan is None:
                return await upstream(request)
            try:
                kwargs = plan.kwargs(request.scope)
            except Unplanned:
                return await upstream(request)
            if PlannedArguments.verify:
                expected = await upstream_kwargs(request)
                if kwargs != expected or {k: type(v) for k, v in kwargs.items()} != {k: type(v) for k, v in expected.items()}:
                    raise AssertionError(f"planned arguments {kwargs!r} differ from upstream's {expected!r}")
            return await function(**kwargs)

        return wrapper


class _DecorateOnce(StarletteDecorator):
    @property
    def _parameter_decorator_cls(self) -> type[AsyncParameterDecorator]:
        return PlannedArguments

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        decorated = self.decorate(function)
        parsers: dict[int, tuple[Any, Any]] = {}  # id(operation) -> (operation, its URI parser)

        @functools.wraps(function)
        async def wrapper(*_args: Any, **_kwargs: Any) -> Any:
            current = operation._get_current_object()  # type: ignore[attr-defined]
            cached = parsers.get(id(current))
            if cached is None or cached[0] is not current:
                # One parser per operation object (a handler may serve several mounts of one spec).
                memoize_body_lookups(current)
                parser_class = self.uri_parser_class or current.uri_parser_class
                cached = parsers[id(current)] = (current, parser_class(current.parameters, current.body_definition()))
            request = _Request(scope._get_current_object(), receive._get_current_object(), uri_parser=cached[1])  # type: ignore[attr-defined]
            return await decorated(request)

        return wrapper


class LeanOperation(AsyncOperation):
    @functools.cached_property
    def fn(self) -> Callable[..., Any]:  # type: ignore[override]
        return _DecorateOnce(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)(self._fn)


class _LeanApi(AsyncApi):
    def make_operation(self, op: AbstractOperation) -> AsyncOperation:
        return LeanOperation.from_operation(op, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)


class LeanASGIApp(AsyncASGIApp):
    api_cls = _LeanApi
