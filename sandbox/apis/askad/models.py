"""AskAd: leads pushed in from anywhere become contacts (de-duplicated), deals are read-only here."""

from __future__ import annotations

from typing import Any

from sandbox.core.store import Condition
from sandbox.core.workspace import Workspace

CONTACT_FIELDS = ("id", "email", "first_name", "last_name", "phone", "sources", "lead_count", "metadata",
                  "last_page_url", "created_at", "updated_at")


def dedupe_key(email: str | None, phone: str | None) -> str:
    """Contacts are one per e-mail (case-insensitive), else one per phone."""
    return f"email:{email.strip().lower()}" if email else f"phone:{phone}"


def _upsert_contact(ws: Workspace, fields: dict[str, Any], source: str | None, now: str) -> dict[str, Any]:
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
    contact = {
        "id": ws.ids.uuid4(),
        "email": fields.get("email"),
        "first_name": fields.get("first_name"),
        "last_name": fields.get("last_name"),
        "phone": fields.get("phone"),
        "sources": [source] if source else [],
        "lead_count": 1,
        "metadata": dict(fields.get("metadata") or {}),
        "last_page_url": fields.get("last_page_url"),
        "created_at": now,
        "updated_at": now,
        "dedupe_key": key,
    }
    contacts.insert(contact["id"], now, contact)
    return contact


def _lead(ws: Workspace, kind: str, body: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    _, now = ws.now()
    contact = _upsert_contact(ws, fields, body.get("source"), now)
    lead = {"id": ws.ids.uuid4(), "kind": kind, "contact_id": contact["id"], "source": body.get("source"),
            "payload": body, "created_at": now}
    ws.collection("leads").insert(lead["id"], now, lead)
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
    items, total = ws.collection(kind).offset_page(where, offset=(page - 1) * limit, limit=limit)
    return {"data": [{k: item[k] for k in keys} for item in items], "page": page, "limit": limit, "total": total,
            "has_more": page * limit < total}


def list_contacts(ws: Workspace, *, page: int, limit: int) -> dict[str, Any]:
    return _page(ws, "contacts", [], page, limit, CONTACT_FIELDS)


DEAL_FIELDS = ("id", "title", "contact_id", "value", "currency", "stage", "created_at", "updated_at", "closed_at")


def list_deals(ws: Workspace, *, page: int, limit: int, stage: str | None) -> dict[str, Any]:
    where = [Condition("stage", "eq", stage)] if stage else []
    return _page(ws, "deals", where, page, limit, DEAL_FIELDS)


def contact_view(contact: dict[str, Any]) -> dict[str, Any]:
    return {k: contact[k] for k in CONTACT_FIELDS}


def deal_view(deal: dict[str, Any]) -> dict[str, Any]:
    return {k: deal[k] for k in DEAL_FIELDS}
