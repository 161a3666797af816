"""What a Hadar lead does on WhatsApp, played by a test through the control plane
(`POST /_sandbox/hadar/whatsapp/inbound` and `/opt-out`, openapi/sandbox.yaml): the lead's side of a
conversation, which Hadar's own API has no operation for. Each is (runtime, tenant, request body) -> the
record made; the control plane checks the tenant, calls it and runs the jobs it made due."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandbox.apis.hadar import whatsapp
from sandbox.apis.hadar.events import workspace_for

if TYPE_CHECKING:
    from sandbox.runtime import Runtime


def whatsapp_inbound(runtime: Runtime, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
    """A lead writes: opens the 24-hour window and emits whatsapp.message.received."""
    return whatsapp.receive(workspace_for(runtime, tenant), body["lead_id"], body.get("text") or "Hi!")


def whatsapp_opt_out(runtime: Runtime, tenant: str, body: dict[str, Any]) -> dict[str, Any]:
    """A lead opts out: later sends to them answer 422 do_not_contact."""
    return whatsapp.opt_out(workspace_for(runtime, tenant), body["lead_id"])


SIMULATIONS = {"whatsapp.inbound": whatsapp_inbound, "whatsapp.opt_out": whatsapp_opt_out}
