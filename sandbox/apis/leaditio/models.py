"""Leaditio domain rules: leads delivered to a buyer, scoring, matching over time, account stats.

Business rules: API access by plan, score = the capped breakdown and its tier, suburb and inclusive
date filters, monthly quota and stats; the wire shape is `{leads, total, page, limit}` of summaries.
The record mechanics are `sandbox.apis.generic.records`."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sandbox.apis.generic import records
from sandbox.apis.generic.records import equal_to, get_or_raise
from sandbox.apis.leaditio import errors
from sandbox.apis.leaditio.events import STYLE
from sandbox.core import webhooks
from sandbox.core.clock import utc_iso
from sandbox.core.store import Condition
from sandbox.core.workspace import Workspace

#: plans that include API access; `basic` buyers receive leads but cannot call the API
API_PLANS = frozenset({"pro", "enterprise"})
MATCH_JOB = "leaditio.match"
MATCH_EVERY = timedelta(hours=1)
BREAKDOWN_MAX = {
    "phone_valid": 10, "email_valid": 10, "suburb_match": 10, "budget_provided": 10, "urgency_high": 15,
    "form_complete": 10, "service_specific": 10, "real_name": 10, "organic_source": 10, "intent_score": 5,
}
SUMMARY = ("id", "vertical", "sub_vertical", "first_name", "suburb", "province", "score_tier", "service_type",
           "delivered_at")
DETAIL = ("id", "vertical", "sub_vertical", "first_name", "suburb", "province", "service_type", "budget_range",
          "urgency", "phone", "email", "score", "score_tier", "score_breakdown", "delivered_at", "created_at")


def require_api_access(plan: str) -> None:
    if plan not in API_PLANS:
        raise errors.NoApiAccess()


def tier(score: int) -> str:
    return "hot" if score >= 80 else "warm" if score >= 60 else "qualified"


def scored(lead: dict[str, Any]) -> dict[str, Any]:
    """Score = the sum of the breakdown; the tier follows from the score."""
    breakdown = {name: max(0, min(limit, int(lead["score_breakdown"].get(name, 0))))
                 for name, limit in BREAKDOWN_MAX.items()}
    score = sum(breakdown.values())
    return {**lead, "score_breakdown": breakdown, "score": score, "score_tier": tier(score)}


def _date(value: str) -> date:
    return date.fromisoformat(value)


def list_leads(
    ws: Workspace,
    *,
    vertical: str | None,
    score_tier: str | None,
    suburb: str | None,
    date_from: str | None,
    date_to: str | None,
    page: int,
    limit: int,
) -> dict[str, Any]:
    where = equal_to(vertical=vertical, score_tier=score_tier)
    if suburb is not None:
        where.append(Condition("suburb_key", "eq", suburb.strip().lower()))
    if date_from is not None:
        where.append(Condition("delivered_at", "gte", _date(date_from).isoformat()))
    if date_to is not None:  # inclusive: everything before the next day
        where.append(Condition("delivered_at", "lt", (_date(date_to) + timedelta(days=1)).isoformat()))
    items, total = records.numbered_page(ws, "leads", where, page=page, limit=limit)
    return {"leads": [{k: item[k] for k in SUMMARY} for item in items], "total": total, "page": page, "limit": limit}


def get_lead(ws: Workspace, lead_id: str) -> dict[str, Any]:
    lead = get_or_raise(ws, "leads", lead_id, errors.LeadNotFound)
    return {k: lead[k] for k in DETAIL}


def register_webhook(ws: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    endpoint = webhooks.create_endpoint(ws, STYLE, body["url"], body["events"], body["secret"])
    return {"webhook_id": endpoint["id"], "url": endpoint["url"], "events": endpoint["events"],
            "created_at": endpoint["created_at"]}


def _month_start(moment: datetime) -> datetime:
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(moment: datetime) -> datetime:
    return (_month_start(moment) + timedelta(days=32)).replace(day=1)


def account_stats(ws: Workspace, plan: str, quota: int) -> dict[str, Any]:
    leads = ws.collection("leads")
    received = leads.count()
    converted = leads.count([Condition("converted", "eq", True)])
    moment = ws.clock.now()
    this_month = leads.count([Condition("delivered_at", "gte", utc_iso(_month_start(moment)))])
    rate = 100 * converted / received if received else 0.0
    return {
        "leads_received": received,
        "leads_converted": converted,
        "conversion_rate": f"{rate:.1f}%",
        "leads_this_month": this_month,
        "quota_this_month": quota,
        "active_plan": plan,
        "plan_renews_at": utc_iso(_next_month(moment)),
    }


def payload(lead: dict[str, Any]) -> dict[str, Any]:
    """The webhook `data`: the lead without contact data, and the contact."""
    keys = ("id", "vertical", "sub_vertical", "first_name", "suburb", "province", "score", "score_tier",
            "service_type", "budget_range", "urgency", "delivered_at")
    return {"lead": {k: lead[k] for k in keys}, "contact": {"phone": lead["phone"], "email": lead["email"]}}


def deliver(ws: Workspace, lead: dict[str, Any]) -> dict[str, Any]:
    """A new lead matched to this buyer: stored as delivered now, `lead.new` emitted."""
    moment, now = ws.now()
    lead = scored({**lead, "delivered_at": now, "created_at": utc_iso(moment - timedelta(seconds=4))})
    ws.collection("leads").insert(lead["id"], now, lead)
    ws.emit("lead.new", payload(lead))
    return lead


def delivered_this_month(ws: Workspace) -> int:
    return ws.collection("leads").count([Condition("delivered_at", "gte", utc_iso(_month_start(ws.clock.now())))])
