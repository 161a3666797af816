"""`stripe trigger` for Leaditio: a new matched lead (`lead.new`), or a re-scored one (`lead.updated`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.apis.leaditio import models
from sandbox.apis.leaditio.matching import new_match
from sandbox.apis.triggering import triggers
from sandbox.core.errors import NotFound
from sandbox.core.workspace import Workspace

if TYPE_CHECKING:
    from sandbox.runtime import Runtime


def _rescore(runtime: Runtime, ws: Workspace) -> dict[str, Any]:
    page = ws.collection("leads").page(before_seq=None, limit=1)
    if not page.items:
        raise NotFound("This buyer has no lead to update")
    lead = page.items[0]
    breakdown = {**lead["score_breakdown"], "intent_score": models.BREAKDOWN_MAX["intent_score"]}
    lead = models.scored({**lead, "score_breakdown": breakdown})
    ws.collection("leads").replace(lead["id"], lead)
    ws.emit("lead.updated", models.payload(lead))
    return lead


TRIGGERS = triggers("leaditio", {"lead.new": new_match, "lead.updated": _rescore})
