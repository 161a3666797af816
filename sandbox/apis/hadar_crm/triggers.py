"""`stripe trigger` for Hadar CRM: the state change behind each documented event, with Faker data."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sandbox.apis.hadar_crm import models
from sandbox.apis.hadar_crm.factories import lead_body, property_body
from sandbox.apis.triggering import newest, triggers
from sandbox.core.clock import utc_iso
from sandbox.core.workspace import Workspace
from sandbox.seeding import later_context

if TYPE_CHECKING:
    from sandbox.runtime import Runtime


def _latest(ws: Workspace, kind: str) -> dict[str, Any]:
    return newest(ws, kind, f"This tenant has no {kind} to trigger the event on")


def _new_lead(runtime: Runtime, ws: Workspace) -> dict[str, Any]:
    return models.create_lead(ws, lead_body(later_context(runtime, ws, "trg")))


def _update(ws: Workspace, kind: str, event: str, change: Callable[[dict[str, Any]], dict[str, Any]]) -> None:
    record = _latest(ws, kind)
    _, now = ws.now()
    record = {**change(record), "updated_at": now}
    ws.collection(kind).replace(record["id"], record)
    ws.emit(event, models.lead_view(record) if kind == "leads" else record)


def _new_property(runtime: Runtime, ws: Workspace) -> dict[str, Any]:
    return models.create_property(ws, property_body(later_context(runtime, ws, "trg")))


def _appointment(runtime: Runtime, ws: Workspace) -> dict[str, Any]:
    start = ws.clock.now() + timedelta(days=1)
    return models.schedule_appointment(
        ws, {"type": "viewing", "lead_id": _latest(ws, "leads")["id"], "scheduled_at": utc_iso(start)}
    )


ACTIONS: dict[str, Callable[[Runtime, Workspace], Any]] = {
    "lead.created": _new_lead,
    "lead.updated": lambda runtime, ws: _update(ws, "leads", "lead.updated", lambda r: {**r, "status": "contacted"}),
    "property.created": _new_property,
    "property.updated": lambda runtime, ws: _update(
        ws, "properties", "property.updated", lambda r: {**r, "price_aed": int(r["price_aed"] * 0.95)}
    ),
    "appointment.scheduled": _appointment,
    "appointment.completed": lambda runtime, ws: models.complete_appointment(ws, _appointment(runtime, ws)["id"]),
}

TRIGGERS = triggers("hadar-crm", ACTIONS)
