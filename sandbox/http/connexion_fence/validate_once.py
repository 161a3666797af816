"""Request validation with what Connexion builds per request built once per operation.

`RequestValidationOperation.__call__` builds a parameter validator and a body validator on every request
(from its `_validator_map`) and checks the media type against the operation's list; all of that depends
on the operation (and the media type and charset) only. Here upstream's `__call__` runs as it is
(`super()`, so upstream fixes are inherited), handed a validator map whose entries return validators
built once, and a media-type check that remembers what it accepted. The operation's body lookups it asks
for on every request are memoized on the operation (`memoize_body_lookups`).

Before upstream's steps, `normalise_content_type` makes the body's media type unambiguous
(sandbox.http.content_type).

Seams: `RequestValidationOperation._operation`/`_validator_map`, the operation's `_uri_parser_class`,
`RequestValidationAPI.make_operation`, `RequestValidationMiddleware.api_cls`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.operations import AbstractOperation
from starlette.types import Receive, Scope, Send

from sandbox.http.connexion_fence.lean_operation import memoize_body_lookups
from sandbox.http.content_type import normalise_content_type

#: the charset (and so the key) is the client's: bound what a client can make an operation keep
_KEPT = 16


class _BodyValidatorsOnce:
    """Stands for the validator map's `body` entry: the same lookup (a KeyError where upstream gets one,
    so it skips validation as before), but each (media type, charset) validator is built once."""

    def __init__(self, classes: Mapping[str, Any]) -> None:
        self._classes = classes
        self._built: dict[tuple[str, str], Any] = {}

    def __getitem__(self, mime_type: str) -> Callable[..., Any]:
        validator_class = self._classes[mime_type]

        def build(**options: Any) -> Any:
            key = (mime_type, options["encoding"])
            validator = self._built.get(key)
            if validator is None:
                validator = validator_class(**options)
                if len(self._built) < _KEPT:
                    self._built[key] = validator
            return validator

        return build


class OneParser:
    """An operation's URI parser class that answers every call with one parser built for that operation.
    Upstream's `__call__` builds a parser per request (and one more for the body validator) from the
    operation's own parameters and body definition, which never change; a parser only reads what it was
    built with, so one serves every request (`make bench`: about 7 % of a GET's CPU went here)."""

    def __init__(self, parser_class: Any, parser: Any) -> None:
        self.parser_class = parser_class
        self.parser = parser

    def __call__(self, *_args: Any, **_kwargs: Any) -> Any:
        return self.parser


def one_parser(op: Any) -> None:
    """Give `op` a `OneParser` in place of its URI parser class (once)."""
    current = op._uri_parser_class
    if current is not None and not isinstance(current, OneParser):
        op._uri_parser_class = OneParser(current, current(op.parameters, op.body_definition()))


class ValidateOnce(RequestValidationOperation):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        op = self._operation
        memoize_body_lookups(op)
        one_parser(op)
        upstream: dict[str, Any] = self._validator_map  # type: ignore[has-type]
        parameters = upstream["parameter"](
            op.parameters,
            uri_parser=op._uri_parser_class(op.parameters, op.body_definition()),
            strict_validation=self.strict_validation,
            security_query_params=self.security_query_params,
        )
        self._validator_map = {
            **upstream,
            "parameter": lambda *_args, **_options: parameters,
            "body": _BodyValidatorsOnce(upstream["body"]),
        }
        self._accepted: set[str] = set()
        self._types: dict[bytes | None, tuple[str, str]] = {}  # Content-Type value -> (media type, charset)
        self._takes_body = bool(op.request_body)

    def extract_content_type(self, headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
        """Upstream's answer, remembered per Content-Type value (a request without one always gets the
        same answer): upstream decodes and lower-cases every header name of every request to find it."""
        raw: bytes | None = None
        for key, value in headers:
            if key.lower() == b"content-type":  # the first, as upstream takes
                raw = value
                break
        known = self._types.get(raw)
        if known is None:
            known = super().extract_content_type(headers)
            if len(self._types) < _KEPT:
                self._types[raw] = known
        return known

    def validate_mime_type(self, mime_type: str) -> None:
        if mime_type in self._accepted:
            return
        super().validate_mime_type(mime_type)  # raises for a media type the operation does not take
        if len(self._accepted) < _KEPT:
            self._accepted.add(mime_type)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._takes_body:  # an operation without a request body ignores any body, whatever its type
            normalise_content_type(scope)  # first: what the body is decides every later step
        await super().__call__(scope, receive, send)


class _ValidateOnceApi(RequestValidationAPI):
    def make_operation(self, op: AbstractOperation) -> RequestValidationOperation:
        return ValidateOnce(
            self.next_app, operation=op, strict_validation=self.strict_validation, validator_map=self.validator_map
        )


class RequestValidation(RequestValidationMiddleware):
    api_cls = _ValidateOnceApi
