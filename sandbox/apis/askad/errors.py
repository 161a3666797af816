"""AskAd's error shape (undocumented by the vendor; chosen and documented in openapi/askad.yaml):
`{error: {code, message, field?}}`."""

from __future__ import annotations

from typing import Any

from sandbox.core import errors as E

CODES = {
    "validation": "invalid_request",
    "unauthorized": "unauthorized",
    "invalid_api_key": "unauthorized",
    "live_key": "unauthorized",
    "forbidden": "forbidden",
    "not_found": "not_found",
    "tenant_not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "payload_too_large": "payload_too_large",
    "unsupported_media_type": "unsupported_media_type",
    "unprocessable": "invalid_request",
    "conflict": "invalid_request",
    "rate_limited": "rate_limited",
    "internal": "internal_error",
    "service_unavailable": "service_unavailable",
}


def render(error: E.SandboxError, trace_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"code": CODES.get(error.kind, "internal_error"), "message": error.message}
    if error.field:
        body["field"] = error.field
    return {"error": body}
