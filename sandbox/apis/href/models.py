"""HREF lead intake: every POST makes a new lead (no idempotency, as documented)."""

from __future__ import annotations

from typing import Any

from sandbox.core.workspace import Workspace

UTM = ("source", "medium", "campaign", "term", "content")


def intake(ws: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    moment, now = ws.now()
    lead = {
        "id": ws.ids.new("lead", moment),
        "tenant": ws.tenant,
        "name": body["name"].strip(),
        "email": body.get("email"),
        "phone": body.get("phone"),
        "message": body.get("message"),
        "practice_area": body.get("practice_area"),
        "preferred_contact": body.get("preferred_contact"),
        "consent": True,
        "page_url": body.get("page_url"),
        "utm": {name: body[f"utm_{name}"] for name in UTM if f"utm_{name}" in body},
        "status": "new",
        "created_at": now,
    }
    ws.collection("leads").insert(lead["id"], now, lead)
    return lead
