"""The only reader of `openapi/`: loads the specs and owns the OpenAPI 3.1 adaptation of Connexion.

Connexion 3.3 checks every spec against the 3.0 meta-schema and validates with Draft 4, so under 3.1
`const`, numeric `exclusiveMinimum` and type arrays silently misbehave (notes §1). Here:
- the 3.0 meta-schema check is skipped for 3.1 specs (tests meta-validate every spec instead, which
  also keeps start-up fast);
- parameters, request bodies and responses are validated with compiled JSON Schema 2020-12 validators
  (jsonschema-rs), built once per schema, raising our own `ValidationFailed` with a `field` path.
"""

from __future__ import annotations

import copy
import functools
import logging
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

import connexion.spec as connexion_spec
import jsonschema_rs
import orjson
import yaml
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import NonConformingResponseBody
from connexion.validators import (
    FormDataValidator,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
    TextResponseBodyValidator,
)
from starlette.types import Scope

from sandbox.config import SPEC_DIR
from sandbox.core import jsonio
from sandbox.core.errors import ValidationFailed, Violation

log = logging.getLogger(__name__)

_YamlLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def _parsed(path: Path, mtime: float) -> dict[str, Any]:
    with path.open("rb") as handle:
        return yaml.load(handle, Loader=_YamlLoader)


def spec_path(name: str) -> Path:
    return SPEC_DIR / name


def load_spec(name: str) -> dict[str, Any]:
    """A private deep copy of `openapi/<name>` (Connexion resolves `$ref`s in place)."""
    path = spec_path(name)
    return copy.deepcopy(_parsed(path, path.stat().st_mtime))


# --- Connexion: accept 3.1 -----------------------------------------------------------------------
_original_validate_spec = connexion_spec.OpenAPISpecification._validate_spec.__func__  # type: ignore[attr-defined]


@classmethod  # type: ignore[misc]
def _validate_spec(cls: type, spec: dict[str, Any]) -> None:
    if str(spec.get("openapi", "")).startswith("3.1"):
        return  # meta-validated by tests/test_specs.py with openapi-spec-validator
    _original_validate_spec(cls, spec)


# Class-level, because clone()/with_base_path() re-validate.
connexion_spec.OpenAPISpecification._validate_spec = _validate_spec  # type: ignore[method-assign]


# --- compiled validators ---------------------------------------------------------------------------
_compiled: dict[int, tuple[dict[str, Any], Any]] = {}


def compiled(schema: dict[str, Any]) -> Any:
    """One compiled 2020-12 validator per schema object (Connexion's own rebuilds one per request)."""
    entry = _compiled.get(id(schema))
    if entry is None or entry[0] is not schema:
        # Keep a reference to the schema so its id cannot be reused by another object.
        # Connexion attaches the spec's `components` to schemas it hands out; every `$ref` is already
        # resolved in place, and an inline response schema under `components` would make it circular.
        bare = {key: value for key, value in schema.items() if key != "components"}
        entry = (schema, jsonschema_rs.Draft202012Validator(bare, validate_formats=True))
        _compiled[id(schema)] = entry
    return entry[1]


def _join(prefix: str | None, path: list[Any]) -> str | None:
    parts = [prefix] if prefix else []
    for item in path:
        if isinstance(item, int) and parts:
            parts[-1] = f"{parts[-1]}[{item}]"
        else:
            parts.append(str(item))
    return ".".join(parts) or None


def _anyof_required(kind: Any) -> list[str] | None:
    """For `anyOf: [{required: [a]}, {required: [b]}]`, the alternatives' names."""
    names: list[str] = []
    for branch in getattr(kind, "context", []) or []:
        if not branch or any(err.kind.name != "required" for err in branch):
            return None
        names.extend(err.kind.property for err in branch)
    return names or None


def describe(error: Any, prefix: str | None = None) -> tuple[str | None, str]:
    """(field path, human message) for a jsonschema-rs error, worded like the vendor's
    `lead.email must be a valid email address`."""
    kind = error.kind
    name = kind.name
    path = list(error.instance_path)
    if name == "required":
        field = _join(prefix, [*path, kind.property])
        return field, f"{field} is required"
    if name == "anyOf" and (alternatives := _anyof_required(kind)):
        field = _join(prefix, [*path, alternatives[0]])
        listed = " or ".join(_join(prefix, [*path, alt]) or alt for alt in alternatives)
        return field, f"at least one of {listed} is required"
    if name == "additionalProperties":
        field = _join(prefix, [*path, kind.unexpected[0]])
        return field, f"{field} is not a known field"
    field = _join(prefix, path)
    subject = field or "body"
    messages = {
        "format": lambda: {
            "email": f"{subject} must be a valid email address",
            "date-time": f"{subject} must be an RFC 3339 date-time, e.g. 2026-05-15T08:42:11Z",
            "date": f"{subject} must be an ISO 8601 date, e.g. 2026-05-01",
            "uri": f"{subject} must be an absolute URL",
            "uuid": f"{subject} must be a UUID",
        }.get(kind.format, f"{subject} must be a valid {kind.format}"),
        "type": lambda: f"{subject} must be of type {' or '.join(kind.types)}",
        "enum": lambda: f"{subject} must be one of: {', '.join(map(str, kind.options))}",
        "constant": lambda: f"{subject} must be {orjson.dumps(kind.value).decode()}",
        "pattern": lambda: f"{subject} has an invalid format (expected pattern {kind.pattern})",
        "minLength": lambda: f"{subject} must be at least {kind.limit} characters",
        "maxLength": lambda: f"{subject} must be at most {kind.limit} characters",
        "minimum": lambda: f"{subject} must be at least {kind.limit}",
        "maximum": lambda: f"{subject} must be at most {kind.limit}",
        "exclusiveMinimum": lambda: f"{subject} must be greater than {kind.limit}",
        "exclusiveMaximum": lambda: f"{subject} must be less than {kind.limit}",
        "minItems": lambda: f"{subject} must have at least {kind.limit} items",
        "maxItems": lambda: f"{subject} must have at most {kind.limit} items",
        "minProperties": lambda: f"{subject} must have at least {kind.limit} fields",
        "maxProperties": lambda: f"{subject} must have at most {kind.limit} fields",
        "uniqueItems": lambda: f"{subject} must not repeat items",
    }
    maker = messages.get(name)
    try:
        return field, maker() if maker else f"{subject}: {_short(error.message)}"
    except AttributeError:
        return field, f"{subject}: {_short(error.message)}"


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def all_errors(schema: dict[str, Any], instance: Any) -> list[Any]:
    """Every error of `instance`, shallowest first (so `lead` comes before `lead.utm.source`); among
    equals, in the validator's own (deterministic) order."""
    validator = compiled(schema)
    if validator.is_valid(instance):
        return []
    return sorted(validator.iter_errors(instance), key=lambda err: len(list(err.instance_path)))


def first_error(schema: dict[str, Any], instance: Any) -> Any | None:
    errors = all_errors(schema, instance)
    return errors[0] if errors else None


def violations(schema: dict[str, Any], instance: Any, prefix: str | None = None) -> list[Violation]:
    """Every violation of `instance`, worded for the client, one per distinct (field, message)."""
    found: dict[Violation, None] = {}
    for error in all_errors(schema, instance):
        found.setdefault(Violation(*describe(error, prefix)), None)
    return list(found)


_JSON_NULL = object()  # a body that is literally `null`, unlike an absent body (None)


#: where the validated JSON body waits for the handler (`sandbox.http.lean_app`), so it is parsed once
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
        if body is None:
            if self._nullable or not self._required:
                return None
            raise ValidationFailed("Request body must not be empty", field="body")
        if body is _JSON_NULL:
            body = None
        found = violations(self._schema, body, self._schema.get("x-error-prefix"))
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


# --- response headers added outside Connexion --------------------------------------------------
#: `EdgeMiddleware` adds these around Connexion (so error responses carry them too); Connexion's
#: response validator runs inside and cannot see them. Schemathesis checks them end to end.
EDGE_HEADERS = frozenset({"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-trace-id", "retry-after"})

from connexion.middleware import response_validation as _response_validation

_original_required_headers = _response_validation.ResponseValidationOperation.validate_required_headers


def _validate_required_headers(headers: list[tuple], response_definition: dict) -> None:
    definition = dict(response_definition)
    definition["headers"] = {
        name: value
        for name, value in response_definition.get("headers", {}).items()
        if name.lower() not in EDGE_HEADERS
    }
    _original_required_headers(headers, definition)


_response_validation.ResponseValidationOperation.validate_required_headers = staticmethod(  # type: ignore[method-assign]
    _validate_required_headers
)
