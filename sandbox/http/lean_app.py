"""`LeanAsyncApp`: Connexion's AsyncApp, minus the work it redoes on every request.

Connexion 3.3's `AsyncOperation.fn` builds a new `StarletteDecorator` per request, and that decorator's
wrapper calls `decorate()` per request again: `inspect.signature` of the handler, three `functools.wraps`
and a new URI parser per call. None of it depends on the request (the wrappers read the current
operation, scope and receive from Connexion's context variables when they run), so here it is built
once per operation. Measured with py-spy under `make bench`: about 10% of the CPU of a GET went there.
Behaviour is unchanged: the same decorators run in the same order.

The handler's request also reuses the JSON body the validator already parsed (`spec.PARSED_BODY`) instead
of decoding it a second time, and skips form parsing for requests that carry no form.

Request validation likewise builds its URI parser, parameter validator and body validators once per
operation (and media type) instead of per request; they hold configuration only.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from connexion import AsyncApp
from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp, AsyncOperation
from connexion.context import operation, receive, scope
from connexion.decorators import StarletteDecorator
from connexion.lifecycle import ConnexionRequest
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.operations import AbstractOperation
from connexion.utils import is_nullable
from starlette.types import Receive, Scope, Send

from sandbox.core.errors import UnsupportedMediaType
from sandbox.spec import PARSED_BODY

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


def _memoize_body_lookups(op: Any) -> None:
    """The parameter decorator asks the operation for its body definition, schema and name on every
    request; each answer is a pure function of the spec and the content type (`body_definition` builds a
    MediaTypeDict per call). Cached on the operation object, bounded: the content type is the client's."""
    for name in ("body_definition", "body_schema", "body_name"):
        method = getattr(op, name, None)
        if method is not None and not hasattr(method, "cache_info"):
            setattr(op, name, functools.lru_cache(maxsize=8)(method))


class _DecorateOnce(StarletteDecorator):
    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        decorated = self.decorate(function)
        parsers: dict[int, tuple[Any, Any]] = {}  # id(operation) -> (operation, its URI parser)

        @functools.wraps(function)
        async def wrapper(*_args: Any, **_kwargs: Any) -> Any:
            current = operation._get_current_object()  # type: ignore[attr-defined]
            cached = parsers.get(id(current))
            if cached is None or cached[0] is not current:
                # One parser per operation object (a handler may serve several mounts of one spec).
                _memoize_body_lookups(current)
                parser_class = self.uri_parser_class or current.uri_parser_class
                cached = parsers[id(current)] = (current, parser_class(current.parameters, current.body_definition()))
            request = _Request(scope._get_current_object(), receive._get_current_object(), uri_parser=cached[1])
            return await decorated(request)

        return wrapper


class _LeanOperation(AsyncOperation):
    @functools.cached_property
    def fn(self) -> Callable[..., Any]:  # type: ignore[override]
        return _DecorateOnce(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)(self._fn)


class _LeanApi(AsyncApi):
    def make_operation(self, op: AbstractOperation) -> AsyncOperation:
        return _LeanOperation.from_operation(op, pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)


class _LeanASGIApp(AsyncASGIApp):
    api_cls = _LeanApi


_NO_VALIDATOR = object()


class _ValidateOnce(RequestValidationOperation):
    """RequestValidationOperation.__call__ with what it builds per request built once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        op = self._operation
        self._parameters = self._validator_map["parameter"](
            op.parameters,
            uri_parser=op._uri_parser_class(op.parameters, op.body_definition()),
            strict_validation=self.strict_validation,
            security_query_params=self.security_query_params,
        )
        self._accepted: set[str] = set()
        self._takes_body = bool(op.request_body)
        self._bodies: dict[tuple[str, str], Any] = {}

    def _body_validator(self, mime_type: str, encoding: str) -> Any:
        key = (mime_type, encoding)
        validator = self._bodies.get(key)
        if validator is None:
            op = self._operation
            schema = op.body_schema(mime_type)
            validator = _NO_VALIDATOR
            if schema:
                try:
                    body_validator = self._validator_map["body"][mime_type]
                except KeyError:  # no validator for this media type: Connexion skips validation too
                    pass
                else:
                    validator = body_validator(
                        schema=schema,
                        required=op.request_body.get("required", False),
                        nullable=is_nullable(op.body_definition(mime_type)),
                        encoding=encoding,
                        strict_validation=self.strict_validation,
                        uri_parser=op.uri_parser_class(op.parameters, op.body_definition()),
                    )
            if len(self._bodies) < 16:  # the charset is the client's: bound what a client can make us keep
                self._bodies[key] = validator
        return validator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._takes_body:  # an operation without a request body ignores any body, whatever its type
            normalise_content_type(scope)  # first: what the body is decides every later step
        self._parameters.validate(scope)
        mime_type, encoding = self.extract_content_type(scope["headers"])
        if mime_type not in self._accepted:
            self.validate_mime_type(mime_type)  # raises for a media type the operation does not take
            if len(self._accepted) < 16:
                self._accepted.add(mime_type)
        validator = self._body_validator(mime_type, encoding)
        if validator is not _NO_VALIDATOR:
            receive, scope = await validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)


def normalise_content_type(scope: Scope) -> None:
    """A body must say what it is, and media types are case-insensitive (RFC 9110 §8.3.1).

    Connexion 3.3 guesses the operation's first media type when `Content-Type` is absent, validates the
    body as JSON, and then hands the handler raw bytes because its parameter decorator reads the real
    (absent) header; `APPLICATION/JSON` misses the validator map (case-sensitive), so validation is
    skipped and raw bytes reach the handler too. Both answered 500. Here, before anything reads it: a
    non-empty body without a usable `Content-Type` is a 415 (the status every spec already documents
    for an unsupported media type), and the header is rewritten with its type, subtype and charset in
    lower case, so the validator and the handler see one and the same media type."""
    headers = scope["headers"]
    index, value = -1, None
    length = 0
    for i, (name, raw) in enumerate(headers):
        if name == b"content-type":
            index, value = i, raw.decode("latin-1")
        elif name == b"content-length":
            length = int(raw) if raw.isdigit() else 0
    if value is None or not value.strip():
        if length > 0:
            raise UnsupportedMediaType("The request has a body but no Content-Type: send it as application/json")
        return
    mime, _, params = value.partition(";")
    mime = mime.strip().lower()
    if "/" not in mime:
        raise UnsupportedMediaType(f"Content-Type {value[:100]!r} is not a media type: send application/json")
    parts = [mime]
    for param in params.split(";"):
        name, _, param_value = param.strip().partition("=")
        if not name:
            continue
        if name.lower() == "charset":  # JSON is UTF-8 (RFC 8259): the body is read as UTF-8 whatever it says
            parts.append(f"charset={param_value.strip().strip(chr(34)).lower()}")
        else:
            parts.append(f"{name.strip()}={param_value.strip()}")  # e.g. a multipart boundary: kept as sent
    headers = list(headers)
    headers[index] = (b"content-type", "; ".join(parts).encode("latin-1"))
    scope["headers"] = headers


class _ValidateOnceApi(RequestValidationAPI):
    def make_operation(self, op: AbstractOperation) -> RequestValidationOperation:
        return _ValidateOnce(
            self.next_app, operation=op, strict_validation=self.strict_validation, validator_map=self.validator_map
        )


class _ValidateOnceMiddleware(RequestValidationMiddleware):
    api_cls = _ValidateOnceApi


class LeanAsyncApp(AsyncApp):
    def __init__(self, import_name: str, **kwargs: Any) -> None:
        super().__init__(import_name, **kwargs)
        # AsyncApp.__init__ hard-codes its ASGI app; swap it before any API is added.
        lean = _LeanASGIApp()
        self.middleware.app = lean
        self._middleware_app = lean

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.middleware.middleware_stack is None:
            # Swapped in only now: `add_middleware(position=BEFORE_VALIDATION)` looks for Connexion's class.
            stack = self.middleware.middlewares
            stack[stack.index(RequestValidationMiddleware)] = _ValidateOnceMiddleware
        await super().__call__(scope, receive, send)
