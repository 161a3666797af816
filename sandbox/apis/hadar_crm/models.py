"""Hadar CRM domain rules (no HTTP).

Business rules: numbers echoed the Node way, new leads `new` with score 0 and searchable by name,
e-mail and phone, appointments titled from their lead and completed on the sandbox clock; the wire
shape is `{data, meta}` page/limit pages. The record mechanics are `sandbox.apis.generic.records`."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sandbox.apis.generic import records
from sandbox.apis.generic.records import equal_to, get_or_raise
from sandbox.apis.hadar_crm import errors
from sandbox.apis.hadar_crm.events import crm_id
from sandbox.core import jsonio
from sandbox.core.clock import parse_iso, utc_iso
from sandbox.core.pagination import PageMeta
from sandbox.core.store import Condition, Job
from sandbox.core.workspace import Workspace

COMPLETE_JOB = "hadar-crm.appointment.complete"


def listing(ws: Workspace, kind: str, where: list[Condition], page: int, limit: int, view: Any = None) -> dict[str, Any]:
    """One page in the CRM's envelope."""
    items, total = records.numbered_page(ws, kind, where, page=page, limit=limit)
    meta = PageMeta(total=total, page=page, limit=limit)
    return {
        "data": [view(item) for item in items] if view else items,
        "meta": {
            "total": meta.total,
            "page": meta.page,
            "limit": meta.limit,
            "pages": meta.pages,
            "has_next": meta.has_next,
            "has_prev": meta.has_prev,
        },
    }


def _ts(moment: Any) -> str:
    return utc_iso(moment)


def crm_ids(prefix: str) -> records.NewId:
    """Ids the vendor's way (`events.crm_id`) from the workspace's seeded ULIDs."""
    def new_id(ws: Workspace, moment: datetime) -> str:
        return crm_id(prefix, ws.ids.ulid(moment))
    return new_id


# --- leads ----------------------------------------------------------------------------------------
def create_lead(ws: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    body = jsonio.js_numbers(body)  # the vendor (Node) echoes 500000.0 as 500000, like its webhooks
    lead = records.create(ws, "leads", crm_ids("lead"), {
        "full_name": body.get("full_name"),
        "email": body.get("email"),
        "phone": body.get("phone"),
        "nationality": body.get("nationality"),
        "status": "new",  # documented: new leads get status new and score 0
        "score": 0,
        "budget_min_aed": body.get("budget_min_aed"),
        "budget_max_aed": body.get("budget_max_aed"),
        "purpose": body.get("purpose"),
        "timeline": body.get("timeline"),
        "notes": body.get("notes"),
        "channel": body.get("channel", "api"),
        "assigned_to": None,
    }, stored=with_search_text)
    ws.emit("lead.created", lead)
    return lead


def get_lead(ws: Workspace, lead_id: str) -> dict[str, Any]:
    return lead_view(get_or_raise(ws, "leads", lead_id, errors.LeadNotFound))


def list_leads(
    ws: Workspace,
    *,
    page: int,
    limit: int,
    status: str | None,
    channel: str | None,
    search: str | None,
    score_min: int | None,
    score_max: int | None,
) -> dict[str, Any]:
    where = [Condition(name, "eq", value) for name, value in (("status", status), ("channel", channel)) if value]
    if score_min is not None:
        where.append(Condition("score", "gte", score_min))
    if score_max is not None:
        where.append(Condition("score", "lte", score_max))
    if search is not None:
        where.append(Condition("search_text", "icontains", search))
    return listing(ws, "leads", where, page, limit, view=lead_view)


def lead_view(lead: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in lead.items() if k != "search_text"}


def with_search_text(lead: dict[str, Any]) -> dict[str, Any]:
    """Stored leads carry one lower-cased field the `search` filter scans (name, email, phone)."""
    text = " ".join(str(lead.get(k) or "") for k in ("full_name", "email", "phone")).lower()
    return {**lead, "search_text": text}


# --- properties ----------------------------------------------------------------------------------
def create_property(ws: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    body = jsonio.js_numbers(body)  # the vendor (Node) echoes 500000.0 as 500000, like its webhooks
    listing_ = records.create(ws, "properties", crm_ids("prop"), {
        "title": body["title"].strip(),
        "type": body["type"],
        "listing_type": body["listing_type"],
        "status": body.get("status", "available"),
        "community": body["community"],
        "bedrooms": body.get("bedrooms", 0),
        "bathrooms": body.get("bathrooms"),
        "size_sqft": body.get("size_sqft"),
        "price_aed": body["price_aed"],
    })
    ws.emit("property.created", listing_)
    return listing_


def list_properties(
    ws: Workspace,
    *,
    page: int,
    limit: int,
    type: str | None,
    status: str | None,
    min_price: int | None,
    max_price: int | None,
    bedrooms: int | None,
    community: str | None,
) -> dict[str, Any]:
    where = equal_to(type=type, status=status, bedrooms=bedrooms)
    if min_price is not None:
        where.append(Condition("price_aed", "gte", min_price))
    if max_price is not None:
        where.append(Condition("price_aed", "lte", max_price))
    if community is not None:
        where.append(Condition("community", "icontains", community))
    return listing(ws, "properties", where, page, limit)


# --- appointments --------------------------------------------------------------------------------
def schedule_appointment(ws: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    body = jsonio.js_numbers(body)  # the vendor (Node) echoes 500000.0 as 500000, like its webhooks
    lead = get_or_raise(ws, "leads", body["lead_id"], partial(errors.LeadNotFound, field="lead_id"))
    property_id = body.get("property_id")
    if property_id is not None:
        get_or_raise(ws, "properties", property_id, partial(errors.PropertyNotFound, field="property_id"))
    moment, now = ws.now()
    try:
        start = parse_iso(body["scheduled_at"])
        scheduled_at = _ts(start)
    except ValueError:  # an instant UTC cannot hold (year 1 or 9999 with an offset): kept as sent
        start, scheduled_at = None, body["scheduled_at"]
    duration = body.get("duration_minutes", 60)
    title = body.get("title") or f"{body['type'].replace('_', ' ').title()} with {lead.get('full_name') or lead['id']}"
    appointment = records.create(ws, "appointments", crm_ids("appt"), {
        "title": title,
        "type": body["type"],
        "lead_id": lead["id"],
        "property_id": property_id,
        "scheduled_at": scheduled_at,
        "duration_minutes": duration,
        "status": "scheduled",
        "notes": body.get("notes"),
    }, stamps=("created_at",), at=(moment, now))
    ws.emit("appointment.scheduled", appointment)
    end = _end(start, duration)
    if end is not None:
        end = max(end, moment)
        ws.store.add_job(
            Job(ws.ids.new("job", moment), ws.api, ws.tenant, COMPLETE_JOB, _ts(end), {"appointment_id": appointment["id"]})
        )
    return appointment


def _end(start: datetime | None, duration: int) -> datetime | None:
    """When an appointment ends; None when UTC cannot hold it (it then stays scheduled, never a 500)."""
    try:
        return start + timedelta(minutes=duration) if start is not None else None
    except OverflowError:
        return None


def complete_appointment(ws: Workspace, appointment_id: str) -> dict[str, Any] | None:
    appointment = records.transition(ws, "appointments", appointment_id, "scheduled", "completed")
    if appointment is not None:
        ws.emit("appointment.completed", appointment)
    return appointment


def list_appointments(
    ws: Workspace, *, page: int, limit: int, type: str | None, status: str | None, lead_id: str | None
) -> dict[str, Any]:
    return listing(ws, "appointments", equal_to(type=type, status=status, lead_id=lead_id), page, limit)


# --- webhooks -------------------------------------------------------------------------------------
def _webhook_view(endpoint: dict[str, Any]) -> dict[str, Any]:
    return {k: endpoint[k] for k in ("id", "url", "events", "status", "created_at")}


def list_webhooks(ws: Workspace, *, page: int, limit: int) -> dict[str, Any]:
    return listing(ws, "webhook_endpoints", [], page, limit, view=_webhook_view)


async def complete_job(runtime: Any, job: Job) -> None:
    """Job: an appointment's end has passed on the sandbox clock."""
    complete_appointment(runtime.workspace(job.api, job.tenant), job.payload["appointment_id"])
