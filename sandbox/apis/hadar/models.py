"""Hadar's domain rules. No HTTP here: handlers call one function each.

Business rules: source normalisation and lead scoring, a lead keeps a phone or an e-mail, bookings
complete on the sandbox clock and cancel once, webhook endpoints with secrets shown once; the wire
shape is `{items, pagination}` cursor pages. The record mechanics are `sandbox.apis.generic.records`."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sandbox.apis.generic import records
from sandbox.apis.generic.records import equal_to, get_or_raise, prefixed
from sandbox.apis.hadar import errors
from sandbox.apis.hadar.events import STYLE
from sandbox.core import webhooks
from sandbox.core.clock import parse_iso, utc_iso
from sandbox.core.errors import ValidationFailed
from sandbox.core.store import Condition, Job
from sandbox.core.workspace import Workspace


# --- listing ---------------------------------------------------------------------------------------
def page(
    ws: Workspace,
    kind: str,
    where: list[Condition],
    cursor: str | None,
    limit: int,
    view: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """One cursor page in Hadar's envelope. Without a `view`, items are the stored JSON, passed to the
    response as it is."""
    result = records.cursor_page(ws, kind, where, cursor, limit, raw=view is None)
    items = result.items if view is None else [view(item) for item in result.items]
    return {
        "items": items,
        "pagination": {"next_cursor": result.next_cursor, "has_more": result.has_more, "limit": limit},
    }


def timestamp(value: str) -> str:
    """A client-sent (schema-valid) date-time, normalised to UTC milliseconds. An instant that UTC
    cannot represent (year 1 with a positive offset, year 9999 with a negative one) is kept as sent."""
    try:
        return utc_iso(parse_iso(value))
    except ValueError:
        return value


# --- leads ------------------------------------------------------------------------------------------
_SOURCE_ALIASES = {
    "bayut": "bayut",
    "bayutcom": "bayut",
    "propertyfinder": "property_finder",
    "propertyfinderae": "property_finder",
    "pf": "property_finder",
    "dubizzle": "dubizzle",
    "dubizzlecom": "dubizzle",
    "web": "website",
    "website": "website",
    "site": "website",
    "whatsapp": "whatsapp",
    "wa": "whatsapp",
    "walkin": "walk_in",
    "referral": "referral",
    "instagram": "instagram",
    "ig": "instagram",
    "facebook": "facebook",
    "fb": "facebook",
    "googleads": "google_ads",
    "google": "google_ads",
}
_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalise_source(raw: str | None) -> str:
    """`Bayut`, `bayut.com` -> bayut; `Property Finder`, `propertyfinder`, `PF` -> property_finder."""
    if raw is None or not raw.strip():
        return "api"
    lowered = raw.strip().lower()
    squashed = _NON_ALNUM.sub("", lowered)
    if squashed in _SOURCE_ALIASES:
        return _SOURCE_ALIASES[squashed]
    snake = _NON_ALNUM.sub("_", lowered).strip("_")
    return snake[:100] or "api"


_SOURCE_POINTS = {
    "bayut": 15,
    "property_finder": 15,
    "referral": 14,
    "walk_in": 12,
    "website": 12,
    "whatsapp": 10,
    "dubizzle": 8,
}


def score_lead(lead: dict[str, Any]) -> int:
    """Deterministic 0-100: reachability, budget, source quality, specificity, readiness."""
    points = 0
    points += 20 if lead.get("phone") else 0
    points += 10 if lead.get("email") else 0
    budget = lead.get("budget_aed") or 0
    points += 30 if budget >= 10_000_000 else 25 if budget >= 3_000_000 else 20 if budget >= 1_000_000 else (
        10 if budget > 0 else 0
    )
    points += _SOURCE_POINTS.get(lead.get("source") or "", 5)
    points += 5 if lead.get("bedrooms") is not None else 0
    points += 5 if lead.get("area") else 0
    horizon = lead.get("handover_horizon") or ""
    if horizon == "ready":
        points += 15
    elif horizon.startswith("off_plan_"):
        points += 10 if int(horizon[-4:]) <= 2027 else 5
    points += 5 if len((lead.get("name") or "").split()) >= 2 else 0
    return max(0, min(100, points))


LEAD_FIELDS = ("phone", "email", "budget_aed", "bedrooms", "area", "handover_horizon", "assigned_to", "notes")


def lead_name(raw: str) -> str:
    """The name without surrounding whitespace. The spec's `pattern: "\\S"` is checked with the Unicode
    definition of whitespace, Python's `strip()` also removes the ASCII separators U+001C-U+001F: a name of
    only those passes the schema but would be stored blank, so it is refused here."""
    name = raw.strip()
    if not name:
        raise ValidationFailed("lead.name must contain at least one visible character", field="lead.name")
    return name


def create_lead(ws: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    lead = records.create(ws, "leads", prefixed("lead"), lambda: _new_lead(body))
    ws.emit("lead.created", lead)
    return lead


def _new_lead(body: dict[str, Any]) -> dict[str, Any]:
    utm = body.get("utm")
    lead: dict[str, Any] = {
        "name": lead_name(body["name"]),
        "phone": None,
        "email": None,
        "source": normalise_source(body.get("source") or (utm or {}).get("source")),
        "utm": utm,
        "budget_aed": None,
        "bedrooms": None,
        "area": None,
        "handover_horizon": None,
        "status": "new",
        "score": 0,
        "assigned_to": None,
        "notes": None,
    }
    for name in LEAD_FIELDS:
        if name in body:
            lead[name] = body[name]
    if lead["email"]:
        lead["email"] = lead["email"].strip()
    lead["score"] = score_lead(lead)
    return lead


def get_lead(ws: Workspace, lead_id: str) -> dict[str, Any]:
    return get_or_raise(ws, "leads", lead_id, errors.LeadNotFound)


def update_lead(ws: Workspace, lead_id: str, patch: dict[str, Any]) -> dict[str, Any]:
    lead = dict(get_lead(ws, lead_id))
    for name, value in patch.items():
        lead[name] = normalise_source(value) if name == "source" else value
    if isinstance(lead.get("name"), str):
        lead["name"] = lead_name(lead["name"])
    if not lead.get("phone") and not lead.get("email"):
        raise ValidationFailed("a lead must keep at least one of lead.phone or lead.email", field="lead.phone")
    lead["score"] = score_lead(lead)
    _, lead["updated_at"] = ws.now()
    ws.collection("leads").replace(lead_id, lead)
    ws.emit("lead.updated", lead)
    return lead


def list_leads(
    ws: Workspace,
    *,
    limit: int,
    cursor: str | None,
    source: str | None,
    score_min: int | None,
    created_after: str | None,
    assigned_to: str | None,
    status: str | None,
) -> dict[str, Any]:
    where = equal_to(source=normalise_source(source) if source is not None else None)
    if score_min is not None:
        where.append(Condition("score", "gte", score_min))
    if created_after is not None:
        where.append(Condition("created_at", "gt", timestamp(created_after)))
    where += equal_to(assigned_to=assigned_to, status=status)
    return page(ws, "leads", where, cursor, limit)


# --- conversations ------------------------------------------------------------------------------
def list_conversations(
    ws: Workspace, *, limit: int, cursor: str | None, lead_id: str | None, channel: str | None, status: str | None
) -> dict[str, Any]:
    return page(ws, "conversations", equal_to(lead_id=lead_id, channel=channel, status=status), cursor, limit)


def get_conversation(ws: Workspace, conversation_id: str) -> dict[str, Any]:
    conversation = get_or_raise(ws, "conversations", conversation_id, errors.ConversationNotFound)
    messages = ws.collection("messages").all([Condition("conversation_id", "eq", conversation_id)])
    return {**conversation, "messages": [_message_view(m) for m in messages]}


def _message_view(message: dict[str, Any]) -> dict[str, Any]:
    return {k: message[k] for k in ("id", "direction", "channel", "body", "template", "status", "created_at")}


# --- properties ---------------------------------------------------------------------------------
def create_property(ws: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    return records.create(ws, "properties", prefixed("prop"), {
        "title": body["title"].strip(),
        "type": body["type"],
        "listing_type": body["listing_type"],
        "community": body["community"],
        "bedrooms": body.get("bedrooms", 0),
        "bathrooms": body.get("bathrooms"),
        "size_sqft": body.get("size_sqft"),
        "price_aed": body["price_aed"],
        "status": body.get("status", "available"),
        "handover_horizon": body.get("handover_horizon"),
    })


def get_property(ws: Workspace, property_id: str) -> dict[str, Any]:
    return get_or_raise(ws, "properties", property_id, errors.PropertyNotFound)


def list_properties(
    ws: Workspace,
    *,
    limit: int,
    cursor: str | None,
    type: str | None,
    status: str | None,
    community: str | None,
    bedrooms: int | None,
) -> dict[str, Any]:
    where = equal_to(type=type, status=status, bedrooms=bedrooms)
    if community is not None:
        where.append(Condition("community", "icontains", community))
    return page(ws, "properties", where, cursor, limit)


# --- bookings -----------------------------------------------------------------------------------
def create_booking(ws: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    get_or_raise(ws, "leads", body["lead_id"], partial(errors.LeadNotFound, field="booking.lead_id"))
    property_id = body.get("property_id")
    if property_id is not None:
        get_or_raise(ws, "properties", property_id, partial(errors.PropertyNotFound, field="booking.property_id"))
    moment, now = ws.now()
    booking = records.create(ws, "bookings", prefixed("bkg"), {
        "lead_id": body["lead_id"],
        "property_id": property_id,
        "type": body.get("type", "viewing"),
        "scheduled_at": timestamp(body["scheduled_at"]),
        "duration_minutes": body.get("duration_minutes", 60),
        "status": "confirmed",
        "agent_name": body.get("agent_name"),
        "notes": body.get("notes"),
        "cancellation_reason": None,
        "cancelled_at": None,
    }, stamps=("created_at",), at=(moment, now))
    schedule_completion(ws.store, ws.api, ws.tenant, booking, ws.ids.new("job", moment), moment)
    ws.emit("booking.created", booking)
    return booking


COMPLETE_BOOKING_JOB = "hadar.booking.complete"


def booking_end(booking: dict[str, Any]) -> datetime | None:
    try:
        return parse_iso(booking["scheduled_at"]) + timedelta(minutes=int(booking.get("duration_minutes") or 0))
    except (ValueError, OverflowError):  # an instant outside what UTC holds: it never ends
        return None


def schedule_completion(store: Any, api: str, tenant: str, booking: dict[str, Any], job_id: str,
                        now: datetime) -> None:
    """A confirmed booking becomes `completed` once its end passes on the sandbox clock."""
    end = booking_end(booking)
    if end is not None:
        store.add_job(Job(job_id, api, tenant, COMPLETE_BOOKING_JOB, utc_iso(max(end, now)),
                          {"booking_id": booking["id"]}))


def complete_booking(ws: Workspace, booking_id: str) -> dict[str, Any] | None:
    """No webhook: the page lists no booking event for it (`booking.created`, `booking.cancelled` only)."""
    return records.transition(ws, "bookings", booking_id, "confirmed", "completed")


async def complete_booking_job(runtime: Any, job: Job) -> None:
    complete_booking(runtime.workspace(job.api, job.tenant), job.payload["booking_id"])


def get_booking(ws: Workspace, booking_id: str) -> dict[str, Any]:
    return get_or_raise(ws, "bookings", booking_id, errors.BookingNotFound)


def cancel_booking(ws: Workspace, booking_id: str, reason: str | None) -> dict[str, Any]:
    booking = dict(get_booking(ws, booking_id))
    if booking["status"] == "cancelled":
        return booking  # cancelling twice is harmless: the first cancellation stands
    _, now = ws.now()
    booking.update(status="cancelled", cancellation_reason=reason, cancelled_at=now)
    ws.collection("bookings").replace(booking_id, booking)
    ws.emit("booking.cancelled", booking)
    return booking


def list_bookings(
    ws: Workspace, *, limit: int, cursor: str | None, lead_id: str | None, status: str | None, type: str | None
) -> dict[str, Any]:
    return page(ws, "bookings", equal_to(lead_id=lead_id, status=status, type=type), cursor, limit)


# --- invoices -----------------------------------------------------------------------------------
def list_invoices(ws: Workspace, *, limit: int, cursor: str | None, status: str | None) -> dict[str, Any]:
    return page(ws, "invoices", equal_to(status=status), cursor, limit)


def get_invoice(ws: Workspace, invoice_id: str) -> dict[str, Any]:
    return get_or_raise(ws, "invoices", invoice_id, errors.InvoiceNotFound)


# --- webhook endpoints --------------------------------------------------------------------------
def _endpoint_view(endpoint: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in endpoint.items() if k != "secret"}


def create_webhook_endpoint(ws: Workspace, body: dict[str, Any], secret: str) -> dict[str, Any]:
    # the only time the secret is shown
    return webhooks.create_endpoint(
        ws, STYLE, body["url"], body["events"], secret, body.get("description"), field="webhook.url"
    )


def get_webhook_endpoint(ws: Workspace, endpoint_id: str) -> dict[str, Any]:
    return _endpoint_view(get_or_raise(ws, "webhook_endpoints", endpoint_id, errors.WebhookEndpointNotFound))


def list_webhook_endpoints(ws: Workspace, *, limit: int, cursor: str | None) -> dict[str, Any]:
    return page(ws, "webhook_endpoints", [], cursor, limit, view=_endpoint_view)


def rotate_webhook_secret(ws: Workspace, endpoint_id: str, secret: str) -> dict[str, Any]:
    """A new secret takes effect at once (later attempts are signed with it); shown this once."""
    endpoints = ws.collection("webhook_endpoints")
    endpoint = dict(get_or_raise(ws, "webhook_endpoints", endpoint_id, errors.WebhookEndpointNotFound))
    endpoint.update(secret=secret, secret_last4=secret[-4:])
    endpoints.replace(endpoint_id, endpoint)
    return endpoint


def list_webhook_deliveries(
    ws: Workspace, endpoint_id: str, *, limit: int, cursor: str | None, state: str | None
) -> dict[str, Any]:
    get_or_raise(ws, "webhook_endpoints", endpoint_id, errors.WebhookEndpointNotFound)
    where = equal_to(endpoint_id=endpoint_id, state=state)
    return page(ws, "webhook_deliveries", where, cursor, limit, view=webhooks.delivery_view)


def redeliver_webhook(ws: Workspace, endpoint_id: str, delivery_id: str) -> dict[str, Any]:
    get_or_raise(ws, "webhook_deliveries", delivery_id, errors.DeliveryNotFound,
                 belongs=lambda delivery: delivery["endpoint_id"] == endpoint_id)
    queued = webhooks.redeliver(ws, delivery_id)
    assert queued is not None
    return webhooks.delivery_view(queued)


def delete_webhook_endpoint(ws: Workspace, endpoint_id: str) -> dict[str, Any]:
    if not ws.collection("webhook_endpoints").delete(endpoint_id):
        raise errors.WebhookEndpointNotFound()
    return {"id": endpoint_id, "deleted": True}
