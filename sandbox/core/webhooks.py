"""Signed webhook deliveries: events from real state changes, an outbox of deliveries that survives
restarts, retries on the vendor's schedule under the sandbox clock, and a log per endpoint.

Vendor specifics (payload shape, signature header, schedule) come from a `WebhookStyle`; this module
moves bytes and keeps the books. Endpoints of every API live in the tenant's `webhook_endpoints`
collection as `{id, url, events, secret, status}`."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from sandbox.core import egress, jsonio
from sandbox.core.clock import parse_iso, utc_iso
from sandbox.core.errors import ValidationFailed
from sandbox.core.ids import IdFactory
from sandbox.core.store import Job
from sandbox.core.workspace import Workspace

DELIVER = "webhook.deliver"


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class WebhookStyle:
    """How one vendor shapes, signs and retries its webhooks."""

    #: event type, event id, created_at, data -> JSON-able body
    envelope: Callable[[str, str, str, dict[str, Any]], dict[str, Any]]
    #: secret, raw body, unix timestamp, event type, delivery id -> headers
    sign: Callable[[str, bytes, int, str, str], dict[str, str]]
    #: waits before the 2nd, 3rd, ... attempt
    schedule: tuple[timedelta, ...]
    give_up_after: timedelta = timedelta(hours=24)
    timeout_seconds: float = 30.0
    #: body bytes; the default is compact UTF-8 JSON (what JSON.stringify gives for our payloads)
    encode: Callable[[dict[str, Any]], bytes] = field(default=jsonio.dumps)
    #: id of a new endpoint (vendors differ: `whe_…`, `wh-…`)
    endpoint_id: Callable[[IdFactory, datetime], str] = lambda ids, moment: ids.new("whe", moment)
    #: secret, raw body, lower-cased headers -> whether the signature verifies (receivers, `listen`)
    verify: Callable[[str, bytes, dict[str, str]], bool] | None = None


def publish(
    ws: Workspace, style: WebhookStyle, event_type: str, data: dict[str, Any], *, always: bool = True
) -> dict[str, Any] | None:
    """Queue one delivery per enabled endpoint of the workspace's tenant subscribed to the event; returns the
    event. The event is kept in its deliveries (their payload), not on its own: an event nobody subscribed
    to costs one read, and with `always=False` (the request path, which ignores the result) nothing more:
    no id, no body."""
    subscribed = [
        endpoint
        for endpoint in ws.collection("webhook_endpoints").all()
        if endpoint.get("status", "enabled") == "enabled"
        and (event_type in endpoint.get("events", []) or "*" in endpoint.get("events", []))
    ]
    if not subscribed and not always:
        return None
    moment = ws.clock.now()
    now = utc_iso(moment)
    event_id = ws.ids.new("evt", moment)
    body = style.envelope(event_type, event_id, now, data)
    event = {"id": event_id, "type": event_type, "created_at": now, "body": body}
    for endpoint in subscribed:
        queue_delivery(ws, endpoint, event_id, event_type, style.encode(body), moment)
    return event


def queue_delivery(
    ws: Workspace, endpoint: dict[str, Any], event_id: str, event_type: str, body: bytes, moment: datetime
) -> dict[str, Any]:
    now = utc_iso(moment)
    delivery = {
        "id": ws.ids.new("dlv", moment),
        "endpoint_id": endpoint["id"],
        "event_id": event_id,
        "event_type": event_type,
        "url": endpoint["url"],
        "body": body.decode(),
        "state": "pending",
        "attempts": [],
        "next_attempt_at": now,
        "created_at": now,
    }
    ws.collection("webhook_deliveries").insert(delivery["id"], now, delivery)
    ws.store.add_job(Job(ws.ids.new("job", moment), ws.api, ws.tenant, DELIVER, now, {"delivery_id": delivery["id"]}))
    return delivery


def create_endpoint(
    ws: Workspace,
    style: WebhookStyle,
    url: str,
    events: list[str],
    secret: str,
    description: str | None = None,
    *,
    field: str = "url",
) -> dict[str, Any]:
    """An endpoint as a vendor dashboard would create it (control plane, for APIs without a create op).
    A URL the workspace's egress policy (`ws.webhook_hosts`) refuses raises ValidationFailed (each API's
    400) on `field`."""
    try:
        egress.check_url(url, ws.webhook_hosts)
    except egress.EgressRefused as exc:
        raise ValidationFailed(f"webhook URL refused: {exc}", field=field) from None
    moment = ws.clock.now()
    now = utc_iso(moment)
    endpoint: dict[str, Any] = {
        "id": style.endpoint_id(ws.ids, moment),
        "url": url,
        "events": events,
        "description": description,
        "status": "enabled",
        "secret_last4": secret[-4:],
        "created_at": now,
        "secret": secret,
    }
    ws.collection("webhook_endpoints").insert(endpoint["id"], now, endpoint)
    return endpoint


def redeliver(ws: Workspace, delivery_id: str) -> dict[str, Any] | None:
    """Attempt a delivery again now, whatever its state; the delivery id stays the same."""
    deliveries = ws.collection("webhook_deliveries")
    delivery = deliveries.get(delivery_id)
    if delivery is None:
        return None
    moment = ws.clock.now()
    delivery = {**delivery, "state": "pending", "next_attempt_at": utc_iso(moment)}
    deliveries.replace(delivery_id, delivery)
    ws.store.add_job(
        Job(ws.ids.new("job", moment), ws.api, ws.tenant, DELIVER, utc_iso(moment),
            {"delivery_id": delivery_id, "manual": True})
    )
    return delivery


def next_attempt(
    style: WebhookStyle, attempts_made: int, first_attempt: datetime, now: datetime
) -> datetime | None:
    """When to try again after `attempts_made` failed attempts, or None to give up."""
    if attempts_made > len(style.schedule):
        return None
    due = now + style.schedule[attempts_made - 1]
    if due - first_attempt > style.give_up_after:
        return None
    return due


async def attempt_delivery(
    ws: Workspace,
    style: WebhookStyle,
    client: httpx.AsyncClient,
    job: Job,
    *,
    timeout_seconds: float | None = None,
) -> dict[str, Any] | None:
    """One HTTP attempt of a queued delivery of the workspace's tenant; records it and schedules the next
    one if needed.

    The workspace's egress policy (`ws.webhook_hosts`, `sandbox.core.egress`) is checked on the resolved
    address; `timeout_seconds` bounds the whole attempt (the vendor's 30 s unless configured shorter)."""
    deliveries = ws.collection("webhook_deliveries")
    delivery = deliveries.get(job.payload["delivery_id"])
    if delivery is None:
        return None
    endpoint = ws.collection("webhook_endpoints").get(delivery["endpoint_id"])
    clock = ws.clock
    moment = clock.now()
    attempt: dict[str, Any] = {"number": len(delivery["attempts"]) + 1, "at": utc_iso(moment)}
    if endpoint is None:
        attempt.update(status_code=None, duration_ms=0, error="endpoint deleted")
        delivery = {**delivery, "attempts": [*delivery["attempts"], attempt], "state": "failed", "next_attempt_at": None}
        deliveries.replace(delivery["id"], delivery)
        return delivery
    timeout = style.timeout_seconds if timeout_seconds is None else min(timeout_seconds, style.timeout_seconds)
    body = delivery["body"].encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "lead-sandbox-webhooks/1",
        # Signed with wall time, as Stripe does under test clocks: receivers check `t` against their own clock
        # (Hadar: "reject any request whose timestamp is more than five minutes old"); payloads keep sandbox time.
        **style.sign(endpoint["secret"], body, int(clock.wall().timestamp()), delivery["event_type"], delivery["id"]),
    }
    started = time.perf_counter()
    try:
        # one deadline for the whole attempt (name lookup included): httpx's own timeout restarts at every
        # read, so a receiver trickling bytes could hold a delivery for ever
        async with asyncio.timeout(timeout):
            target = await egress.pin(endpoint["url"], ws.webhook_hosts)
            request = client.build_request("POST", target.url, content=body, headers={**headers, **target.headers},
                                           timeout=timeout, extensions=target.extensions)
            response = await client.send(request, stream=True)
            try:  # what the receiver answered, for the inspector: its first 500 bytes, never a whole page
                answer = b""
                async for chunk in response.aiter_bytes():
                    answer += chunk
                    if len(answer) >= 500:
                        break
            finally:
                await response.aclose()
        attempt.update(status_code=response.status_code, error=None,
                       response=answer[:500].decode(response.encoding or "utf-8", errors="replace"))
        ok = 200 <= response.status_code < 300
    except egress.EgressRefused as exc:
        attempt.update(status_code=None, duration_ms=0, error=f"blocked: {exc}")
        delivery = {**delivery, "attempts": [*delivery["attempts"], attempt], "state": "failed", "next_attempt_at": None}
        deliveries.replace(delivery["id"], delivery)
        return delivery
    except TimeoutError:
        attempt.update(status_code=None, error=f"timeout: no answer within {timeout:g} s")
        ok = False
    except (httpx.HTTPError, OSError) as exc:  # OSError: a name that does not resolve (egress.Unresolved)
        attempt.update(status_code=None, error=f"{type(exc).__name__}: {exc}"[:300])
        ok = False
    attempt["duration_ms"] = round((time.perf_counter() - started) * 1000, 1)
    attempts = [*delivery["attempts"], attempt]
    if ok:
        delivery = {**delivery, "attempts": attempts, "state": "succeeded", "next_attempt_at": None}
    elif job.payload.get("manual"):
        # a manual redelivery is one attempt; the automatic schedule is not restarted
        delivery = {**delivery, "attempts": attempts, "state": "failed", "next_attempt_at": None}
    else:
        first = parse_iso(attempts[0]["at"])
        due = next_attempt(style, len(attempts), first, clock.now())
        if due is None:
            delivery = {**delivery, "attempts": attempts, "state": "failed", "next_attempt_at": None}
        else:
            delivery = {**delivery, "attempts": attempts, "state": "retrying", "next_attempt_at": utc_iso(due)}
            ws.store.add_job(
                Job(ws.ids.new("job", moment), ws.api, ws.tenant, DELIVER, utc_iso(due), {"delivery_id": delivery["id"]})
            )
    deliveries.replace(delivery["id"], delivery)
    return delivery


def delivery_view(delivery: dict[str, Any], *, with_responses: bool = False) -> dict[str, Any]:
    """A delivery as the APIs and the control plane show it (the body as JSON, not bytes). What the
    receiver answered is only for the inspector (`with_responses`): the vendors' delivery shapes have no
    such field."""
    view = {k: v for k, v in delivery.items() if k != "body"}
    view["payload"] = jsonio.loads(delivery["body"])
    if not with_responses:
        view["attempts"] = [{k: v for k, v in a.items() if k != "response"} for a in delivery.get("attempts", ())]
    return view
