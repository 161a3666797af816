"""Hadar CRM's error vocabulary and wire shape: `{error: {code, message}}`, plus
`details.fieldErrors` on validation errors (every bad field, each with all its messages)."""

from __future__ import annotations

from typing import Any

from sandbox.core import errors as E

CODES = {
    "validation": "VALIDATION_FAILED",
    "unauthorized": "UNAUTHORIZED",
    "invalid_api_key": "UNAUTHORIZED",
    "live_key": "UNAUTHORIZED",
    "forbidden": "FORBIDDEN",
    "not_found": "NOT_FOUND",
    "tenant_not_found": "NOT_FOUND",
    "method_not_allowed": "METHOD_NOT_ALLOWED",
    "payload_too_large": "PAYLOAD_TOO_LARGE",
    "unsupported_media_type": "UNSUPPORTED_MEDIA_TYPE",
    "unprocessable": "VALIDATION_FAILED",
    "conflict": "VALIDATION_FAILED",
    "rate_limited": "RATE_LIMITED",
    "internal": "INTERNAL_ERROR",
    "service_unavailable": "SERVICE_UNAVAILABLE",
}
#: the vendor's documented 401 message, for missing and unknown keys alike
UNAUTHORIZED_MESSAGE = "Missing or invalid API key"


def render(error: E.SandboxError, trace_id: str) -> dict[str, Any]:
    code = CODES.get(error.kind, "INTERNAL_ERROR")
    if code == "VALIDATION_FAILED":
        field_errors: dict[str, list[str]] = {}
        for field, message in getattr(error, "violations", None) or [(error.field, error.message)]:
            field_errors.setdefault(field or "body", []).append(message)
        return {"error": {"code": code, "message": "Validation failed"}, "details": {"fieldErrors": field_errors}}
    message = UNAUTHORIZED_MESSAGE if error.kind in ("unauthorized", "invalid_api_key") else error.message
    return {"error": {"code": code, "message": message}}


class LeadNotFound(E.NotFound):
    default_message = "Lead not found"


class PropertyNotFound(E.NotFound):
    default_message = "Property not found"
