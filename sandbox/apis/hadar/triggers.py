"""`stripe trigger` for Hadar: make the state change behind each documented event, with Faker data,
so the webhook that goes out carries a real record."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sandbox.apis.hadar import models, whatsapp
from sandbox.apis.hadar.factories import lead_body
from sandbox.apis.triggering import newest, triggers
from sandbox.core.clock import utc_iso
from sandbox.core.workspace import Workspace
from sandbox.seeding import later_context

if TYPE_CHECKING:
    from sandbox.runtime import Runtime


def _latest_lead(ws: Workspace) -> dict[str, Any]:
    return newest(ws, "leads", "This tenant has no lead to trigger the event on")


def _new_lead(runtime: Runtime, ws: Workspace) -> dict[str, Any]:
    return models.create_lead(ws, lead_body(later_context(runtime, ws, "trg")))


def _lead_updated(runtime: Runtime, ws: Workspace) -> None:
    lead = _latest_lead(ws)
    order = ["new", "contacted", "qualified", "viewing_scheduled", "negotiating", "won"]
    status = order[(order.index(lead["status"]) + 1) % len(order)] if lead["status"] in order else "contacted"
    models.update_lead(ws, lead["id"], {"status": status})


def _booking(runtime: Runtime, ws: Workspace) -> dict[str, Any]:
    moment = ws.clock.now() + timedelta(days=2)
    return models.create_booking(
        ws, {"lead_id": _latest_lead(ws)["id"], "type": "viewing", "scheduled_at": utc_iso(moment), "agent_name": "Sara"}
    )


def _template(ws: Workspace) -> dict[str, Any]:
    return whatsapp.send(
        ws,
        {
            "lead_id": _latest_lead(ws)["id"],
            "template": "viewing_confirmation_en",
            "variables": {"agent_name": "Sara", "property_name": "Marina Vista 2BR", "viewing_time": "Saturday 11:00 GST"},
        },
    )


def _status_event(status: str) -> Callable[[Runtime, Workspace], None]:
    def trigger(runtime: Runtime, ws: Workspace) -> None:
        message = _template(ws)  # queued now; its own status events follow with the clock
        ws.emit(f"whatsapp.message.{status}", {**message, "status": status})

    return trigger


def _invoice(runtime: Runtime, ws: Workspace, paid: bool) -> None:
    moment = ws.clock.now()
    now = utc_iso(moment)
    subtotal = 3990.0
    invoice: dict[str, Any] = {
        "id": ws.ids.new("inv", moment),
        "number": f"HDR-{moment.year}-{int(moment.timestamp()) % 1_000_000:06d}",
        "status": "paid" if paid else "open",
        "currency": "AED",
        "description": f"Hadar plan, {moment.strftime('%B %Y')}",
        "subtotal_aed": subtotal,
        "vat_aed": round(subtotal * 0.05, 2),
        "total_aed": round(subtotal * 1.05, 2),
        "period_start": moment.date().replace(day=1).isoformat(),
        "period_end": (moment.date().replace(day=1) + timedelta(days=32)).replace(day=1).isoformat(),
        "issued_at": now,
        "due_at": utc_iso(moment + timedelta(days=14)),
        "paid_at": now if paid else None,
    }
    ws.collection("invoices").insert(invoice["id"], now, invoice)
    ws.emit("invoice.created", {**invoice, "status": "open", "paid_at": None})
    if paid:
        ws.emit("invoice.paid", invoice)


ACTIONS: dict[str, Callable[[Runtime, Workspace], Any]] = {
    "lead.created": _new_lead,
    "lead.updated": _lead_updated,
    "lead.opted_out": lambda runtime, ws: whatsapp.opt_out(ws, _new_lead(runtime, ws)["id"]),
    "booking.created": _booking,
    "booking.cancelled": lambda runtime, ws: models.cancel_booking(ws, _booking(runtime, ws)["id"], "Client rescheduled"),
    "whatsapp.message.queued": lambda runtime, ws: _template(ws),
    "whatsapp.message.sent": _status_event("sent"),
    "whatsapp.message.delivered": _status_event("delivered"),
    "whatsapp.message.read": _status_event("read"),
    "whatsapp.message.received": lambda runtime, ws: whatsapp.receive(ws, _latest_lead(ws)["id"], "Hi, is this still available?"),
    "invoice.created": lambda runtime, ws: _invoice(runtime, ws, paid=False),
    "invoice.paid": lambda runtime, ws: _invoice(runtime, ws, paid=True),
}


TRIGGERS = triggers("hadar", ACTIONS)
