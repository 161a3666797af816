"""Hadar's webhooks as the vendor page documents them, and the workspace that emits them.

`X-Hadar-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.raw_body">`, `X-Hadar-Event`,
`X-Hadar-Delivery: dlv_…` (stable across retries); retries after 1 s, 5 s, 30 s, 5 min, 30 min,
2 h and 12 h, stopping after 24 h."""

from __future__ import annotations

import hmac
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sandbox.core.webhooks import WebhookStyle, hmac_hex
from sandbox.core.workspace import Workspace

if TYPE_CHECKING:
    from sandbox.runtime import Runtime


def envelope(event_type: str, event_id: str, created_at: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"id": event_id, "type": event_type, "created_at": created_at, "data": data}


def sign(secret: str, body: bytes, timestamp: int, event_type: str, delivery_id: str) -> dict[str, str]:
    signature = hmac_hex(secret, f"{timestamp}.".encode() + body)
    return {
        "X-Hadar-Signature": f"t={timestamp},v1={signature}",
        "X-Hadar-Event": event_type,
        "X-Hadar-Delivery": delivery_id,
    }


def verify(secret: str, body: bytes, headers: dict[str, str]) -> bool:
    """The vendor page's Node snippet, in Python: recompute v1 over `t.raw_body`, compare in constant time."""
    try:
        parts = dict(item.split("=", 1) for item in headers["x-hadar-signature"].split(","))
        expected = hmac_hex(secret, f"{parts['t']}.".encode() + body)
        return hmac.compare_digest(expected, parts["v1"])
    except (KeyError, ValueError):
        return False


STYLE = WebhookStyle(
    envelope=envelope,
    sign=sign,
    verify=verify,
    schedule=(
        timedelta(seconds=1),
        timedelta(seconds=5),
        timedelta(seconds=30),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=12),
    ),
)


def workspace_for(runtime: Runtime, tenant: str) -> Workspace:
    return runtime.workspace("hadar", tenant)
