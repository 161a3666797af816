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


#: the answers a generic operation may give besides its own (status -> description), documented in the
#: spec a scaffold writes so clients and contract runs know them
STATUSES = {
    "400": "The request breaks the spec (a parameter, the body) or a cursor is not this list's",
    "401": "No key, a malformed or unknown key, or a live key (the sandbox takes test keys only)",
    "403": "The key may not do this (a read-only key writing)",
    "404": "No such record in this tenant",
    "413": "The body is larger than the sandbox accepts",
    "415": "The body is not JSON",
    "501": "Not a create, read, list, update or delete: needs a hand-written handler",
}

#: the error schema of this shape (OpenAPI), as the scaffold documents it
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["error"],
    "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"}, "field": {"type": "string"}}}},
}


def catalogue() -> dict[str, list[str]]:
    """status -> the codes this shape answers with it (`x-error-codes`, as the vendor specs have)."""
    found: dict[str, set[str]] = {}
    pending: list[type[E.SandboxError]] = [E.SandboxError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.kind in CODES:
            found.setdefault(str(cls.status), set()).add(CODES[cls.kind])
    return {status: sorted(codes) for status, codes in sorted(found.items())}


def render(error: E.SandboxError, trace_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code or CODES.get(error.kind, "internal_error"), "message": error.message}
    if error.field:
        body["field"] = error.field
    return {"error": body}
