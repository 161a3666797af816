"""AskAd outbound webhooks (the vendor page names the events, not the format; our choice, documented in
openapi/askad.yaml): `{id, type, created_at, data}`, `X-AskAd-Signature: sha256=<hex HMAC-SHA256>`."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import Any

from sandbox.core.webhooks import WebhookStyle, hmac_hex


def envelope(event_type: str, event_id: str, created_at: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "type": event_type, "created_at": created_at, "data": data}


def sign(secret: str, body: bytes, timestamp: int, event_type: str, delivery_id: str) -> dict[str, str]:
    return {"X-AskAd-Signature": f"sha256={hmac_hex(secret, body)}", "X-AskAd-Event": event_type,
            "X-AskAd-Delivery": delivery_id}


def verify(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    return hmac.compare_digest(f"sha256={hmac_hex(secret, body)}", headers.get("x-askad-signature", ""))


STYLE = WebhookStyle(
    envelope=envelope,
    sign=sign,
    verify=verify,
    schedule=(timedelta(minutes=1), timedelta(minutes=10), timedelta(hours=1)),
    endpoint_id=lambda ids, moment: f"wh_{ids.uuid4()}",
)
