"""Leaditio webhooks: `{event, timestamp, lead, contact}` signed in `X-Leaditio-Signature`, the hex
HMAC-SHA256 of the raw body with the secret the buyer registered."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from sandbox.core.webhooks import WebhookStyle, hmac_hex


def envelope(event_type: str, event_id: str, created_at: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event": event_type, "timestamp": created_at[:19] + "Z", "lead": data["lead"], "contact": data["contact"]}


def sign(secret: str, body: bytes, timestamp: int, event_type: str, delivery_id: str) -> dict[str, str]:
    return {"X-Leaditio-Signature": hmac_hex(secret, body), "X-Leaditio-Event": event_type,
            "X-Leaditio-Delivery": delivery_id}


def verify(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    return hmac.compare_digest(hmac_hex(secret, body), headers.get("x-leaditio-signature", ""))


STYLE = WebhookStyle(
    envelope=envelope,
    sign=sign,
    verify=verify,
    schedule=(timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2)),
    endpoint_id=lambda ids, moment: f"wh_{ids.ulid(moment).lower()}",
)
