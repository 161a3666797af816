"""Vendor-neutral error classes. Each carries an HTTP status and a *kind*; each API's `errors.py`
maps kinds to its own wire codes and envelope, in one place."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, NamedTuple


class SandboxError(Exception):
    """Base of every error the sandbox answers with. Models raise these; one renderer per API writes them."""

    status: ClassVar[int] = 500
    kind: ClassVar[str] = "internal"
    default_message: ClassVar[str] = "Internal error"
    #: A vendor-specific wire code that bypasses the kind -> code map (e.g. `outside_24h_window`).
    code: ClassVar[str | None] = None

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.field = field
        self.details = details
        self.headers: dict[str, str] = dict(headers or {})
        super().__init__(self.message)


class Violation(NamedTuple):
    """One bad field of a request: its path (None: the whole body) and what is wrong with it."""

    field: str | None
    message: str


class ValidationFailed(SandboxError):
    """A request that breaks one or more rules. `message` and `field` are the first violation (the
    vendors with a single-error shape show that one); `violations` lists all of them, for the vendors
    whose shape lists every field (Hadar CRM `details.fieldErrors`, HREF `details[]`) and the request log."""

    status, kind, default_message = 400, "validation", "The request is invalid"

    def __init__(
        self,
        message: str | None = None,
        *,
        field: str | None = None,
        violations: Sequence[Violation] | None = None,
        details: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if violations and message is None:
            field, message = violations[0]
        super().__init__(message, field=field, details=details, headers=headers)
        self.violations: list[Violation] = list(violations) if violations else [Violation(self.field, self.message)]


class Unauthorized(SandboxError):
    status, kind, default_message = 401, "unauthorized", "Missing or malformed credentials"


class InvalidApiKey(SandboxError):
    status, kind, default_message = 401, "invalid_api_key", "The API key is not valid"


class LiveKeyRefused(InvalidApiKey):
    """A live-looking key: the sandbox takes test keys only, whatever the vendor's 401 code is."""

    kind = "live_key"


class Forbidden(SandboxError):
    status, kind, default_message = 403, "forbidden", "This key is not allowed to do that"


class NotFound(SandboxError):
    status, kind, default_message = 404, "not_found", "Resource not found"


class TenantNotFound(SandboxError):
    status, kind, default_message = 404, "tenant_not_found", "No tenant answers at this address"


class MethodNotAllowed(SandboxError):
    status, kind, default_message = 405, "method_not_allowed", "Method not allowed on this path"


class Conflict(SandboxError):
    status, kind, default_message = 409, "conflict", "Conflict"


class PayloadTooLarge(SandboxError):
    status, kind, default_message = 413, "payload_too_large", "Request body is larger than 1 MiB"


class UnsupportedMediaType(SandboxError):
    status, kind, default_message = 415, "unsupported_media_type", "Send the body as application/json"


class Unprocessable(SandboxError):
    status, kind, default_message = 422, "unprocessable", "The request cannot be processed"


class RateLimited(SandboxError):
    status, kind, default_message = 429, "rate_limited", "Too many requests; honour Retry-After"


class InternalError(SandboxError):
    status, kind, default_message = 500, "internal", "Internal error"


class ServiceUnavailable(SandboxError):
    status, kind, default_message = 503, "service_unavailable", "A downstream provider is degraded"


#: The snake_case wire codes several vendors share (Leaditio, AskAd): kind -> code. A vendor's
#: `errors.py` uses it as is or overrides the kinds it names differently.
SNAKE_CASE_CODES = {
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
