"""Leaditio's error vocabulary and wire shape: `{code, message}` (plus `field` on invalid_request)."""

from __future__ import annotations

from typing import Any

from sandbox.core import errors as E

CODES = E.SNAKE_CASE_CODES


def render(error: E.SandboxError, trace_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"code": CODES.get(error.kind, "internal_error"), "message": error.message}
    if error.field and body["code"] == "invalid_request":
        body["field"] = error.field
    return body


class LeadNotFound(E.NotFound):
    default_message = "Resource does not exist or does not belong to you"


class NoApiAccess(E.Forbidden):
    default_message = "Your plan does not include API access"
