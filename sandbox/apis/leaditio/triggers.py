"""`stripe trigger` for Leaditio: a new matched lead (`lead.new`), or a re-scored one (`lead.updated`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.apis.leaditio import models
from sandbox.apis.leaditio.matching import new_match
from sandbox.apis.triggering import newest, triggers
from sandbox.core.workspace import Workspace

if TYPE_CHECKING:
    from sandbox.runtime import Runtime


def _rescore(runtime: Runtime, ws: Workspace) -> dict[str, Any]:
    """The page's example of `lead.updated`: a recalculated score. The intent part moves (up to its
    maximum, or down to zero when it is there already), so the event always carries a changed lead."""
    lead = newest(ws, "leads", "This buyer has no lead to update")
    top = models.BREAKDOWN_MAX["intent_score"]
    intent = 0 if lead["score_breakdown"].get("intent_score", 0) >= top else top
    breakdown = {**lead["score_breakdown"], "intent_score": intent}
    lead = models.scored({**lead, "score_breakdown": breakdown})
    ws.collection("leads").replace(lead["id"], lead)
    ws.emit("lead.updated", models.payload(lead))
    return lead


TRIGGERS = triggers("leaditio", {"lead.new": new_match, "lead.updated": _rescore})
