"""The default error shape of a scaffolded API, in one place: `{error: {code, message, field?}}` with
the snake_case codes several vendors share (`invalid_request`, `unauthorized`, `not_found`...). A vendor
whose real shape differs gets its own `render` in its package, as the five hand-written APIs have."""

from __future__ import annotations

from typing import Any

from sandbox.core import errors as E

CODES = {**E.SNAKE_CASE_CODES, "not_implemented": "not_implemented"}


class NotImplementedRule(E.SandboxError):
    """An operation the generic behaviour cannot guess (an action, not create/read/list/update/delete)."""

    status, kind, default_message = 501, "not_implemented", "This operation has no behaviour in the sandbox yet"


def render(error: E.SandboxError, trace_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code or CODES.get(error.kind, "internal_error"), "message": error.message}
    if error.field:
        body["field"] = error.field
    return {"error": body}
