"""Request validation with what Connexion builds per request built once per operation.

`RequestValidationOperation.__call__` builds a URI parser, a parameter validator and a body validator on
every request; they hold configuration only. `ValidateOnce.__call__` takes the same steps in the same
order with those built once per operation (and media type). It is the one upstream method mirrored
rather than extended (its steps are not separate hooks); tests/http/test_connexion_fence.py pins the
upstream source it mirrors, so a release that changes that method fails there until this is re-read.

Before the steps, `normalise_content_type` makes the body's media type unambiguous (sandbox.http.content_type).

Seams: `RequestValidationOperation._operation`/`_validator_map`, the operation's `_uri_parser_class`,
`RequestValidationAPI.make_operation`, `RequestValidationMiddleware.api_cls`."""

from __future__ import annotations

from typing import Any

from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.operations import AbstractOperation
from connexion.utils import is_nullable
from starlette.types import Receive, Scope, Send

from sandbox.http.content_type import normalise_content_type

_NO_VALIDATOR = object()


class ValidateOnce(RequestValidationOperation):
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


class _ValidateOnceApi(RequestValidationAPI):
    def make_operation(self, op: AbstractOperation) -> RequestValidationOperation:
        return ValidateOnce(
            self.next_app, operation=op, strict_validation=self.strict_validation, validator_map=self.validator_map
        )


class RequestValidation(RequestValidationMiddleware):
    api_cls = _ValidateOnceApi
