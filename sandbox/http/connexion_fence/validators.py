"""Connexion's validators with JSON Schema 2020-12 inside (jsonschema-rs, compiled once per schema).

Seams: the request/response body validators' `_parse` and `_validate` hooks and `MUTABLE_VALIDATION`, the
parameter validator's `validate_parameter`/`validate_request`, and the response validation operation's
`validate_required_headers`. All are handed to Connexion per app (`validator_map=`, the middleware list);
nothing is replaced on Connexion's own classes."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Any

import orjson
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import NonConformingResponseBody
from connexion.middleware.response_validation import (
    ResponseValidationAPI,
    ResponseValidationMiddleware,
    ResponseValidationOperation,
)
from connexion.operations import AbstractOperation
from connexion.validators import (
    FormDataValidator,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
    TextResponseBodyValidator,
)
from starlette.types import ASGIApp, Scope

from sandbox.core import jsonio
from sandbox.core.errors import ValidationFailed, Violation
from sandbox.spec import EDGE_HEADERS, describe, first_error, violations

log = logging.getLogger(__name__)

_JSON_NULL = object()  # a body that is literally `null`, unlike an absent body (None)

#: where the validated JSON body waits for the handler (`lean_operation`), so it is parsed once. Private to the
#: fence: `Body2020` sets it and `LeanOperation` reads it; the request's own state is `RequestState`.
PARSED_BODY = "sandbox.parsed_json_body"


class Body2020(JSONRequestBodyValidator):
    # Stock Connexion re-encodes the body after validation (validators may fill in defaults). Ours never
    # changes it, so the original bytes are passed on as they came.
    MUTABLE_VALIDATION = False

    async def _parse(self, stream: AsyncGenerator[bytes, None], scope: Scope) -> Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw.strip():
            return None
        try:
            parsed = jsonio.loads(raw)
        except (orjson.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:  # includes bodies that are not UTF-8
            raise ValidationFailed(f"Request body is not valid JSON: {exc}", field="body") from None
        scope.setdefault("state", {})[PARSED_BODY] = parsed
        return _JSON_NULL if parsed is None else parsed

    def _validate(self, body: Any) -> dict | None:
        return validate_body(self._schema, body, nullable=self._nullable, required=self._required)


def validate_body(schema: dict[str, Any], body: Any, *, nullable: bool = False, required: bool = True) -> Any:
    """What `Body2020` does with a parsed body (None: no body; `_JSON_NULL`: a JSON `null`): the body, or
    `ValidationFailed` carrying every violation of the 2020-12 schema."""
    if body is None:
        if nullable or not required:
            return None
        raise ValidationFailed("Request body must not be empty", field="body")
    if body is _JSON_NULL:
        body = None
    found = violations(schema, body, schema.get("x-error-prefix"))
    if found:
        raise ValidationFailed(violations=found)
    return body


class Response2020(JSONResponseBodyValidator):
    def _parse(self, stream: Any) -> Any:
        raw = b"".join(stream)
        if not raw:
            return None
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise NonConformingResponseBody(detail=f"Response is not JSON: {exc}") from None

    def _validate(self, body: Any) -> None:
        error = first_error(self._schema, body)
        if error is not None:
            field, message = describe(error)
            log.error("response does not match the spec: %s (%s)", message, field)
            raise NonConformingResponseBody(detail=f"Response does not match the spec: {message}")


class Params2020(ParameterValidator):
    """Values arrive coerced by Connexion's URI parser; anything that did not coerce fails `type`.
    Every bad parameter is reported, not only the first (Connexion stops at the first)."""

    @staticmethod
    def validate_parameter(
        parameter_type: str, value: Any, param: dict, param_name: str | None = None
    ) -> list[Violation]:
        name = param["name"]
        if value is None:
            if param.get("required"):
                return [Violation(name, f"{name} is a required {parameter_type} parameter")]
            return []
        return [Violation(name, message) for _, message in violations(param.get("schema", param), value, name)]

    def validate_request(self, request: Any) -> None:
        # (strict_validation, Connexion's unknown-parameter check, is never set by the sandbox)
        found: list[Violation] = []
        for kind, check in (
            ("query", self.validate_query_parameter),
            ("path", self.validate_path_parameter),
            ("header", self.validate_header_parameter),
            ("cookie", self.validate_cookie_parameter),
        ):
            for param in self.parameters.get(kind, []):
                found.extend(check(param, request) or [])
        if found:
            raise ValidationFailed(violations=found)


VALIDATOR_MAP: dict[str, Any] = {
    "parameter": Params2020,
    "body": MediaTypeDict(
        {
            "*/*json": Body2020,
            "application/x-www-form-urlencoded": FormDataValidator,
            "multipart/form-data": MultiPartFormDataValidator,
        }
    ),
    "response": MediaTypeDict({"*/*json": Response2020, "text/plain": TextResponseBodyValidator}),
}


# --- response validation: headers added outside Connexion ----------------------------------------
class ResponseOperation(ResponseValidationOperation):
    """`EdgeMiddleware` adds `EDGE_HEADERS` around Connexion (so error responses carry them too); the
    response validator runs inside and cannot see them, so they are not required here. Schemathesis
    checks them end to end."""

    @staticmethod
    def validate_required_headers(headers: list[tuple], response_definition: dict) -> None:
        definition = dict(response_definition)
        definition["headers"] = {
            name: value
            for name, value in response_definition.get("headers", {}).items()
            if name.lower() not in EDGE_HEADERS
        }
        ResponseValidationOperation.validate_required_headers(headers, definition)


class _ResponseValidationApi(ResponseValidationAPI):
    def make_operation(self, operation: AbstractOperation) -> ResponseValidationOperation | ASGIApp:
        if self.validate_responses:
            return ResponseOperation(self.next_app, operation=operation, validator_map=self.validator_map)
        return super().make_operation(operation)


class ResponseValidation(ResponseValidationMiddleware):
    api_cls = _ResponseValidationApi
