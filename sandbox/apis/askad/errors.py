"""AskAd's error shape (undocumented by the vendor; chosen and documented in openapi/askad.yaml):
`{error: {code, message, field?}}`."""

from __future__ import annotations

from typing import Any

from sandbox.core import errors as E

CODES = E.SNAKE_CASE_CODES


def render(error: E.SandboxError, trace_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"code": CODES.get(error.kind, "internal_error"), "message": error.message}
    if error.field:
        body["field"] = error.field
    return {"error": body}
