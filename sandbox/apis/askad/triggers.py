"""`stripe trigger` for AskAd's outbound events, with realistic data."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.apis.askad import models
from sandbox.apis.triggering import newest, triggers
from sandbox.core.store import Condition
from sandbox.core.workspace import Workspace

if TYPE_CHECKING:
    from sandbox.runtime import Runtime


def _convert(runtime: Runtime, ws: Workspace) -> dict[str, Any]:
    """The newest contact converts: a deal opens for it."""
    contact = newest(ws, "contacts", "This workspace has no contact to convert")
    _, now = ws.now()
    # metadata is free-form: use deal_value when it is a usable amount, else a typical one
    raw = (contact.get("metadata") or {}).get("deal_value")
    value = int(raw) if isinstance(raw, (int, float)) and not isinstance(raw, bool) and 0 <= raw < 10**12 else 2500
    deal = {"id": ws.ids.uuid4(), "title": f"{contact.get('first_name') or contact.get('email')} - new business",
            "contact_id": contact["id"], "value": value, "currency": "USD", "stage": "qualified",
            "created_at": now, "updated_at": now, "closed_at": None}
    ws.collection("deals").insert(deal["id"], now, deal)
    ws.emit("lead.converted", {"contact": models.contact_view(contact), "deal": models.deal_view(deal)})
    return deal


def _close(runtime: Runtime, ws: Workspace) -> dict[str, Any]:
    open_deals = ws.collection("deals").all([Condition("stage", "in", ["qualified", "proposal", "negotiation"])])
    deal = open_deals[-1] if open_deals else _convert(runtime, ws)
    _, now = ws.now()
    deal = {**deal, "stage": "closed_won", "updated_at": now, "closed_at": now}
    ws.collection("deals").replace(deal["id"], deal)
    ws.emit("deal.closed", models.deal_view(deal))
    return deal


def _spend(runtime: Runtime, ws: Workspace) -> None:
    _, now = ws.now()
    ws.emit("campaign.spend_threshold", {
        "campaign_id": ws.ids.uuid4(), "name": "Spring retargeting", "channel": "meta_ads",
        "spend": 1050, "threshold": 1000, "currency": "USD", "reached_at": now,
    })


TRIGGERS = triggers("askad", {"lead.converted": _convert, "deal.closed": _close, "campaign.spend_threshold": _spend})
