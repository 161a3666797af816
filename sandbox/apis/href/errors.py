"""HREF's error vocabulary and wire shape: `{error, message}`, plus `details: [{field, message}]` on
invalid_request, one entry per violation."""

from __future__ import annotations

from typing import Any

from sandbox.core import errors as E

CODES = {
    "validation": "invalid_request",
    "unauthorized": "invalid_api_key",
    "invalid_api_key": "invalid_api_key",
    "live_key": "invalid_api_key",
    "forbidden": "invalid_api_key",
    "not_found": "not_found",
    "tenant_not_found": "tenant_not_found",
    "method_not_allowed": "method_not_allowed",
    "payload_too_large": "payload_too_large",
    "unsupported_media_type": "unsupported_media_type",
    "unprocessable": "invalid_request",
    "conflict": "invalid_request",
    "rate_limited": "internal_error",
    "internal": "internal_error",
    "service_unavailable": "internal_error",  # the vendor documents one code for every 5xx
}
KEY_MESSAGE = "API key is missing or does not match."


def render(error: E.SandboxError, trace_id: str) -> dict[str, Any]:
    code = CODES.get(error.kind, "internal_error")
    if code == "invalid_request":
        return {
            "error": code,
            "message": "The body did not pass validation.",
            "details": [
                {"field": field or "body", "message": message}
                for field, message in getattr(error, "violations", None) or [(error.field, error.message)]
            ],
        }
    message = KEY_MESSAGE if code == "invalid_api_key" else error.message
    return {"error": code, "message": message}
