"""AskAd: leads pushed in from anywhere become contacts (de-duplicated), deals are read-only here.

Business rules: one contact per e-mail (else phone) that gathers its leads' sources, fields and
metadata; the wire shape is `{data, page, limit, total, has_more}` with fixed field lists. The record
mechanics are `sandbox.apis.generic.records`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sandbox.apis.generic import records
from sandbox.apis.generic.records import equal_to, uuid
from sandbox.core.store import Condition
from sandbox.core.workspace import Workspace

CONTACT_FIELDS = ("id", "email", "first_name", "last_name", "phone", "sources", "lead_count", "metadata",
                  "last_page_url", "created_at", "updated_at")


def dedupe_key(email: str | None, phone: str | None) -> str:
    """Contacts are one per e-mail (case-insensitive), else one per phone."""
    return f"email:{email.strip().lower()}" if email else f"phone:{phone}"


def _upsert_contact(ws: Workspace, fields: dict[str, Any], source: str | None,
                    at: tuple[datetime, str]) -> dict[str, Any]:
    _, now = at
    contacts = ws.collection("contacts")
    key = dedupe_key(fields.get("email"), fields.get("phone"))
    existing = contacts.all([Condition("dedupe_key", "eq", key)])
    if existing:
        contact = dict(existing[0])
        for name in ("email", "first_name", "last_name", "phone", "last_page_url"):
            if fields.get(name) and (not contact.get(name) or name == "last_page_url"):
                contact[name] = fields[name]
        contact["metadata"] = {**contact["metadata"], **(fields.get("metadata") or {})}
        if source and source not in contact["sources"]:
            contact["sources"] = [*contact["sources"], source]
        contact["lead_count"] += 1
        contact["updated_at"] = now
        contacts.replace(contact["id"], contact)
        return contact
    return records.create(ws, "contacts", uuid, {
        "email": fields.get("email"),
        "first_name": fields.get("first_name"),
        "last_name": fields.get("last_name"),
        "phone": fields.get("phone"),
        "sources": [source] if source else [],
        "lead_count": 1,
        "metadata": dict(fields.get("metadata") or {}),
        "last_page_url": fields.get("last_page_url"),
    }, stored=lambda contact: {**contact, "dedupe_key": key}, at=at)


def _lead(ws: Workspace, kind: str, body: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    at = ws.now()
    contact = _upsert_contact(ws, fields, body.get("source"), at)
    lead = records.create(ws, "leads", uuid, {"kind": kind, "contact_id": contact["id"], "source": body.get("source"),
                                              "payload": body}, stamps=("created_at",), at=at)
    return {"id": lead["id"], "status": "created"}


def push_inbound(ws: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    fields = {k: body.get(k) for k in ("email", "first_name", "last_name", "phone", "metadata")}
    return _lead(ws, "inbound", body, fields)


def capture(ws: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    first, _, last = (body.get("name") or "").strip().partition(" ")
    fields = {"email": body["email"], "first_name": first or None, "last_name": last.strip() or None,
              "last_page_url": body.get("page_url")}
    return _lead(ws, "capture", body, fields)


def _page(ws: Workspace, kind: str, where: list[Condition], page: int, limit: int, keys: tuple[str, ...]) -> dict[str, Any]:
    """One page in AskAd's envelope, each item its fixed fields."""
    items, total = records.numbered_page(ws, kind, where, page=page, limit=limit)
    return {"data": [{k: item[k] for k in keys} for item in items], "page": page, "limit": limit, "total": total,
            "has_more": page * limit < total}


def list_contacts(ws: Workspace, *, page: int, limit: int) -> dict[str, Any]:
    return _page(ws, "contacts", [], page, limit, CONTACT_FIELDS)


DEAL_FIELDS = ("id", "title", "contact_id", "value", "currency", "stage", "created_at", "updated_at", "closed_at")


def list_deals(ws: Workspace, *, page: int, limit: int, stage: str | None) -> dict[str, Any]:
    return _page(ws, "deals", equal_to(stage=stage or None), page, limit, DEAL_FIELDS)


def contact_view(contact: dict[str, Any]) -> dict[str, Any]:
    return {k: contact[k] for k in CONTACT_FIELDS}


def deal_view(deal: dict[str, Any]) -> dict[str, Any]:
    return {k: deal[k] for k in DEAL_FIELDS}
