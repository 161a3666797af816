"""Hadar CRM webhooks as documented: `{event, timestamp, data}`, `x-webhook-signature` = hex
HMAC-SHA256 of the body. The vendor's Node snippet recomputes over `JSON.stringify(req.body)`, so our
bytes are exactly that serialisation: compact, key order kept, UTF-8 unescaped, and no float that
JavaScript would print differently. Retried 3 times with exponential backoff (1, 5, 25 minutes)."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from sandbox.core import jsonio
from sandbox.core.webhooks import WebhookStyle, hmac_hex


def envelope(event_type: str, event_id: str, created_at: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event": event_type, "timestamp": created_at[:19] + "Z", "data": data}


def encode(body: dict[str, Any]) -> bytes:
    return jsonio.dumps(jsonio.js_numbers(body))


def sign(secret: str, body: bytes, timestamp: int, event_type: str, delivery_id: str) -> dict[str, str]:
    return {
        "x-webhook-signature": hmac_hex(secret, body),
        "x-webhook-event": event_type,
        "x-webhook-delivery": delivery_id,
    }


def verify(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    return hmac.compare_digest(hmac_hex(secret, body), headers.get("x-webhook-signature", ""))


def crm_id(prefix: str, ulid: str) -> str:
    """The vendor's ids look like `lead-abc123`: a prefix, a hyphen, lower-case characters."""
    return f"{prefix}-{ulid.lower()}"


STYLE = WebhookStyle(
    envelope=envelope,
    sign=sign,
    verify=verify,
    encode=encode,
    schedule=(timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=25)),
    endpoint_id=lambda ids, moment: crm_id("wh", ids.ulid(moment)),
)
