"""Hadar's error vocabulary and wire shape: `{data: null, error: {code, message, field?, trace_id}}`."""

from __future__ import annotations

from typing import Any

from sandbox.core import errors as E

CODES = {
    "validation": "validation_error",
    "unauthorized": "unauthorized",
    "invalid_api_key": "invalid_api_key",
    "live_key": "invalid_api_key",
    "forbidden": "forbidden",
    "not_found": "not_found",
    "tenant_not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "conflict": "conflict",
    "payload_too_large": "payload_too_large",
    "unsupported_media_type": "unsupported_media_type",
    "unprocessable": "validation_error",
    "rate_limited": "rate_limited",
    "internal": "internal_error",
    "service_unavailable": "service_unavailable",
}


def render(error: E.SandboxError, trace_id: str) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code or CODES.get(error.kind, "internal_error"), "message": error.message}
    if error.field:
        body["field"] = error.field
    body["trace_id"] = trace_id
    return {"data": None, "error": body}


class LeadNotFound(E.NotFound):
    default_message = "No lead with this id in this workspace"


class ConversationNotFound(E.NotFound):
    default_message = "No conversation with this id in this workspace"


class PropertyNotFound(E.NotFound):
    default_message = "No property with this id in this workspace"


class BookingNotFound(E.NotFound):
    default_message = "No booking with this id in this workspace"


class InvoiceNotFound(E.NotFound):
    default_message = "No invoice with this id in this workspace"


class WebhookEndpointNotFound(E.NotFound):
    default_message = "No webhook endpoint with this id in this workspace"


class DeliveryNotFound(E.NotFound):
    default_message = "No delivery with this id for this webhook endpoint"


class MessageNotFound(E.NotFound):
    default_message = "No WhatsApp message with this id in this workspace"


class LeadHasNoPhone(E.Unprocessable):
    """WhatsApp needs a number. The page's catalogue has no code of its own for this; of its two WhatsApp
    rules (422), `do_not_contact` is the one that means "this lead cannot be reached on this channel".
    Not a 400: the request itself is well-formed, the lead's state refuses it (like the 24-hour window)."""

    code = "do_not_contact"
    default_message = "The lead has no phone number, so it cannot be contacted on WhatsApp"


class OutsideWindow(E.Unprocessable):
    code = "outside_24h_window"
    default_message = "Free-form WhatsApp text is only allowed within 24 hours of the lead's last message"


class DoNotContact(E.Unprocessable):
    code = "do_not_contact"
    default_message = "The lead has opted out of this channel"
