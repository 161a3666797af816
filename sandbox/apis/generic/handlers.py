"""Handlers made from a spec: one per operationId, each translating HTTP to a generic model call.

A scaffolded API's `handlers.py` sets `__getattr__ = handlers_for(...)`: Connexion's resolver asks the
module for a function per operationId, a function written in that module wins (a hand-written rule), and
every other operationId gets the generic one made here."""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from starlette.responses import Response

from sandbox.apis.generic import models
from sandbox.apis.generic.errors import NotImplementedRule
from sandbox.apis.generic.resources import Operation, operations_of, sanitized
from sandbox.http.context import tenant_workspace
from sandbox.http.responses import empty_response, json_response

Handler = Callable[..., Awaitable[Response]]


def _snake(operation_id: str) -> str:
    """The function name the resolver asks for (`sandbox.app`: camelCase -> snake_case)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def make_handler(api: str, op: Operation) -> Handler:
    """The generic handler of one operation. `**params`: Connexion passes every path and query
    parameter, declared or not (the default pagination parameters need not be in the spec), and `body`."""

    async def handler(**params: Any) -> Response:
        resource = op.resource
        if op.action is None or resource is None:
            raise NotImplementedRule(
                f"{op.method.upper()} {op.path} is not create/read/list/update/delete: define "
                f"`{_snake(op.operation_id)}` in sandbox/apis/{api.replace('-', '_')}/handlers.py"
            )
        ws = tenant_workspace(api)
        place = resource.place(params)
        body = params.get("body")
        record_id = params.get(op.id_param) if op.id_param else None
        if op.action == "list":
            body, next_query = models.listing_page(ws, resource, place, params)
            headers = {"Link": f'<?{urlencode(next_query)}>; rel="next"'} if next_query else None
            return json_response(body, op.status, headers)
        if op.action == "create":
            result = models.create(ws, resource, place, body if isinstance(body, dict) else {})
        elif op.action == "read":
            result = models.read(ws, resource, place, record_id)
        elif op.action in ("update", "replace"):
            result = models.update(ws, resource, place, record_id, body if isinstance(body, dict) else {},
                                   replace=op.action == "replace")
        else:
            result = models.delete(ws, resource, place, record_id)
            if op.status == 204:
                return empty_response(204)
        return json_response(models.shaped(resource.item, result), op.status)

    handler.__name__ = handler.__qualname__ = _snake(op.operation_id)
    paging = op.resource.pagination if op.resource is not None and op.action == "list" else None
    if paging is None or {sanitized(paging.limit), sanitized(paging.position)} <= set(op.params):
        # Only what the spec declares: with `**params`, Connexion would pass (and log) every unknown query
        # parameter. A list paged by the default, undeclared `limit` and `cursor` keeps `**params`.
        names = [*op.params, *(["body"] if op.body else [])]
        handler.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=None) for name in names],
            return_annotation=Response,
        )
    return handler


def handlers_for(api: str, spec_file: str) -> Callable[[str], Handler]:
    """A module `__getattr__`: snake_case operationId -> the generic handler of that operation."""

    @functools.cache
    def by_name() -> dict[str, Operation]:
        return {_snake(op.operation_id): op for op in operations_of(spec_file).values()}

    @functools.cache
    def lookup(name: str) -> Handler:
        if name.startswith("__") or name not in by_name():
            raise AttributeError(name)
        return make_handler(api, by_name()[name])

    return lookup

