"""HREF lead intake: every POST makes a new lead (no idempotency, as documented).

Business rules: consent recorded, `utm_*` fields gathered into one `utm`, status `new`; the new record
itself is `sandbox.apis.generic.records.create`."""

from __future__ import annotations

from typing import Any

from sandbox.apis.generic import records
from sandbox.core.workspace import Workspace

UTM = ("source", "medium", "campaign", "term", "content")


def intake(ws: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    return records.create(ws, "leads", records.prefixed("lead"), {
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
    }, stamps=("created_at",))
