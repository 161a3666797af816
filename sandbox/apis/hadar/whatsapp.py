"""Hadar WhatsApp rules: the 24-hour customer-service window, approved templates, opt-outs, and
message statuses that move on with the sandbox clock. Nothing is ever sent: messages land in the
tenant's outbox and in the lead's conversation."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from sandbox.apis.generic.records import get_or_raise
from sandbox.apis.hadar import errors
from sandbox.apis.hadar.events import workspace_for
from sandbox.core.clock import parse_iso, utc_iso
from sandbox.core.store import Condition, Job
from sandbox.core.workspace import Workspace

if TYPE_CHECKING:
    from sandbox.runtime import Runtime

WINDOW = timedelta(hours=24)
STATUS_JOB = "hadar.whatsapp.status"
#: queued -> sent -> delivered -> read, each after this much sandbox time
PROGRESSION = {"queued": ("sent", timedelta(seconds=1)), "sent": ("delivered", timedelta(seconds=2)),
               "delivered": ("read", timedelta(seconds=30))}
WIRE_FIELDS = ("id", "lead_id", "conversation_id", "type", "text", "template", "variables", "status", "provider",
               "created_at")


def wire(message: dict[str, Any]) -> dict[str, Any]:
    """The API's view of a stored message (seeded history stores only the conversation fields)."""
    view = {name: message.get(name) for name in WIRE_FIELDS}
    view["type"] = message.get("type") or ("template" if message.get("template") else "text")
    view["text"] = message.get("text", message.get("body"))
    view["provider"] = "sandbox"
    return view


def last_inbound_at(ws: Workspace, lead_id: str) -> datetime | None:
    inbound = ws.collection("messages").all(
        [Condition("lead_id", "eq", lead_id), Condition("direction", "eq", "inbound"),
         Condition("channel", "eq", "whatsapp")]
    )
    return max((parse_iso(m["created_at"]) for m in inbound), default=None)


def window_open(ws: Workspace, lead_id: str, now: datetime) -> bool:
    last = last_inbound_at(ws, lead_id)
    # stored times have milliseconds: compare at that precision, so "exactly 24 h later" is still open
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)
    return last is not None and now - last <= WINDOW


def send(ws: Workspace, body: dict[str, Any]) -> dict[str, Any]:
    lead = get_or_raise(ws, "leads", body["lead_id"], partial(errors.LeadNotFound, field="message.lead_id"))
    if not lead.get("phone"):
        raise errors.LeadHasNoPhone(field="message.lead_id")
    if ws.collection("opt_outs").get(lead["id"]) is not None:
        raise errors.DoNotContact("The lead has opted out of WhatsApp messages")
    moment, now = ws.now()
    # Approved templates and their variables are checked by the schema (openapi/hadar.yaml).
    kind = "template" if "template" in body else "text"
    if kind == "text" and not window_open(ws, lead["id"], moment):
        raise errors.OutsideWindow(
            "Free-form text is only allowed within 24 hours of the lead's last inbound message; "
            "send an approved template instead",
            field="message.text",
        )
    conversation = _conversation(ws, lead["id"], moment, now)
    message: dict[str, Any] = {
        "id": ws.ids.new("msg", moment),
        "lead_id": lead["id"],
        "conversation_id": conversation["id"],
        "type": kind,
        "text": body.get("text"),
        "template": body.get("template"),
        "variables": body.get("variables", {}) if kind == "template" else None,
        "status": "queued",
        "provider": "sandbox",
        "created_at": now,
        "direction": "outbound",
        "channel": "whatsapp",
        "body": body.get("text"),
    }
    ws.collection("messages").insert(message["id"], now, message)
    _touch(ws, conversation, now)
    ws.collection("outbox").insert(
        message["id"], now, {"channel": "whatsapp", "to": lead.get("phone"), **wire(message)}
    )
    ws.store.add_job(Job(ws.ids.new("job", moment), "hadar", ws.tenant, STATUS_JOB,
                         utc_iso(moment + PROGRESSION["queued"][1]), {"message_id": message["id"]}))
    ws.emit("whatsapp.message.queued", wire(message))
    return wire(message)


def get(ws: Workspace, message_id: str) -> dict[str, Any]:
    message = get_or_raise(ws, "messages", message_id, errors.MessageNotFound, belongs=_sent_on_whatsapp)
    return wire(message)


def _sent_on_whatsapp(message: dict[str, Any]) -> bool:
    return message.get("direction") == "outbound" and message.get("channel") == "whatsapp"


def receive(ws: Workspace, lead_id: str, text: str) -> dict[str, Any]:
    """An inbound message from the lead (control plane): opens the 24-hour window."""
    get_or_raise(ws, "leads", lead_id, partial(errors.LeadNotFound, field="lead_id"))
    moment, now = ws.now()
    conversation = _conversation(ws, lead_id, moment, now)
    message = {
        "id": ws.ids.new("msg", moment), "lead_id": lead_id, "conversation_id": conversation["id"],
        "type": "text", "text": text, "template": None, "variables": None, "status": "received",
        "provider": "sandbox", "created_at": now, "direction": "inbound", "channel": "whatsapp", "body": text,
    }
    ws.collection("messages").insert(message["id"], now, message)
    _touch(ws, conversation, now)
    event = {**wire(message), "window_closes_at": utc_iso(moment + WINDOW)}
    ws.emit("whatsapp.message.received", event)
    return event


def opt_out(ws: Workspace, lead_id: str) -> dict[str, Any]:
    get_or_raise(ws, "leads", lead_id, partial(errors.LeadNotFound, field="lead_id"))
    _, now = ws.now()
    record = {"lead_id": lead_id, "channel": "whatsapp", "opted_out_at": now}
    if ws.collection("opt_outs").get(lead_id) is None:
        ws.collection("opt_outs").insert(lead_id, now, record)
        ws.emit("lead.opted_out", {"lead_id": lead_id, "channel": "whatsapp", "opted_out_at": now})
    return record


def _touch(ws: Workspace, conversation: dict[str, Any], now: str) -> None:
    conversation.update(message_count=conversation["message_count"] + 1, last_message_at=now, status="open")
    ws.collection("conversations").replace(conversation["id"], conversation)


def _conversation(ws: Workspace, lead_id: str, moment: datetime, now: str) -> dict[str, Any]:
    existing = ws.collection("conversations").all(
        [Condition("lead_id", "eq", lead_id), Condition("channel", "eq", "whatsapp")]
    )
    if existing:
        return dict(existing[-1])
    conversation: dict[str, Any] = {
        "id": ws.ids.new("conv", moment), "lead_id": lead_id, "channel": "whatsapp", "status": "open",
        "message_count": 0, "last_message_at": None, "created_at": now,
    }
    ws.collection("conversations").insert(conversation["id"], now, conversation)
    return conversation


async def advance_status(runtime: Runtime, job: Job) -> None:
    """Job: move a message one status on, record it, emit the event, schedule the next step."""
    ws = workspace_for(runtime, job.tenant)
    messages = ws.collection("messages")
    message = messages.get(job.payload["message_id"])
    if message is None or message["status"] not in PROGRESSION:
        return
    status, _ = PROGRESSION[message["status"]]
    message = {**message, "status": status}
    messages.replace(message["id"], message)
    outbox = ws.collection("outbox")
    entry = outbox.get(message["id"])
    if entry is not None:
        outbox.replace(message["id"], {**entry, "status": status})
    ws.emit(f"whatsapp.message.{status}", wire(message))
    if status in PROGRESSION:
        due = parse_iso(job.due_at) + PROGRESSION[status][1]
        ws.store.add_job(Job(ws.ids.new("job", ws.clock.now()), "hadar", job.tenant, STATUS_JOB, utc_iso(due),
                             {"message_id": message["id"]}))
