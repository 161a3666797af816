"""Hadar WhatsApp rules over real HTTP: the 24-hour customer-service window (opened by an inbound
message through the control plane), approved templates with exactly their variables, opt-outs, and
statuses that move on with the sandbox clock."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from conftest import MARINA

from sandbox.core.clock import parse_iso

PHONE = "+971501112233"
VIEWING = {
    "template": "viewing_confirmation_en",
    "variables": {"agent_name": "Sara", "property_name": "Marina Vista 2BR", "viewing_time": "Saturday 11:00 GST"},
}


# --- helpers -------------------------------------------------------------------------------------------
@pytest.fixture
def lead(client: httpx.Client) -> dict:
    response = client.post("/leads", json={"name": "Layla Haddad", "phone": PHONE})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def send(client: httpx.Client, lead: dict, **message) -> httpx.Response:
    return client.post("/whatsapp/messages", json={"lead_id": lead["id"], **message})


def inbound(control: httpx.Client, lead: dict, text: str = "Hi, is it still available?") -> dict:
    response = control.post("/hadar/whatsapp/inbound", json={"tenant": MARINA, "lead_id": lead["id"], "text": text})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def advance(control: httpx.Client, seconds: int) -> dict:
    response = control.post("/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def freeze(control: httpx.Client) -> None:
    assert control.post("/clock/freeze").status_code == 200


def error_of(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["data"] is None
    assert body["error"]["code"] == code, body
    assert body["error"]["trace_id"]
    return body["error"]


# --- the 24-hour window ------------------------------------------------------------------------------------
def test_free_text_without_inbound_is_422_outside_24h_window(client, lead):
    error = error_of(send(client, lead, text="Hello!"), 422, "outside_24h_window")
    assert error["field"] == "message.text"


def test_free_text_after_inbound_is_201(client, control, lead):
    inbound(control, lead)
    response = send(client, lead, text="Yes, it is. When would you like to view it?")
    assert response.status_code == 201, response.text
    message = response.json()["data"]
    assert message["type"] == "text" and message["status"] == "queued" and message["lead_id"] == lead["id"]


def test_window_closes_after_24h_1s__text_422_but_template_201(client, control, lead):
    freeze(control)
    inbound(control, lead)
    advance(control, 24 * 3600 - 1)
    assert send(client, lead, text="Still inside the window").status_code == 201
    advance(control, 2)  # 24 h + 1 s after the inbound message
    error = error_of(send(client, lead, text="Too late"), 422, "outside_24h_window")
    assert error["field"] == "message.text"
    response = send(client, lead, **VIEWING)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["type"] == "template"


# --- templates ------------------------------------------------------------------------------------------------
def test_unapproved_template_is_400_naming_message_template(client, lead):
    response = send(client, lead, template="summer_promo_en", variables={"agent_name": "Sara"})
    error = error_of(response, 400, "validation_error")
    assert error["field"] == "message.template"


def test_template_missing_variable_is_400_naming_it(client, lead):
    variables = {k: v for k, v in VIEWING["variables"].items() if k != "viewing_time"}
    response = send(client, lead, template=VIEWING["template"], variables=variables)
    error = error_of(response, 400, "validation_error")
    assert error["field"] == "message.variables.viewing_time"


def test_template_extra_variable_is_400_naming_it(client, lead):
    variables = {**VIEWING["variables"], "discount": "10%"}
    response = send(client, lead, template=VIEWING["template"], variables=variables)
    error = error_of(response, 400, "validation_error")
    assert error["field"] == "message.variables.discount"


# --- opt-outs -------------------------------------------------------------------------------------------------
def test_opted_out_lead_gets_422_do_not_contact_for_template_and_text(client, control, lead):
    inbound(control, lead)  # the window is open: only the opt-out can refuse the text
    response = control.post("/hadar/whatsapp/opt-out", json={"tenant": MARINA, "lead_id": lead["id"]})
    assert response.status_code == 201, response.text
    assert response.json()["data"]["lead_id"] == lead["id"]
    error_of(send(client, lead, **VIEWING), 422, "do_not_contact")
    error_of(send(client, lead, text="Are you still interested?"), 422, "do_not_contact")


# --- statuses, outbox, conversation --------------------------------------------------------------------------
def test_status_moves_queued_sent_delivered_read_with_the_clock(client, control, lead):
    freeze(control)
    response = send(client, lead, **VIEWING)
    assert response.status_code == 201, response.text
    message_id = response.json()["data"]["id"]

    def status() -> str:
        got = client.get(f"/whatsapp/messages/{message_id}")
        assert got.status_code == 200, got.text
        return got.json()["data"]["status"]

    assert status() == "queued"
    advance(control, 1)
    assert status() == "sent"
    advance(control, 1)
    assert status() == "sent"  # delivered comes 2 s after sent
    advance(control, 1)
    assert status() == "delivered"
    advance(control, 29)
    assert status() == "delivered"  # read comes 30 s after delivered
    advance(control, 1)
    assert status() == "read"
    advance(control, 3600)
    assert status() == "read"


def test_sent_message_is_in_outbox_and_in_the_leads_conversation(client, control, lead):
    response = send(client, lead, **VIEWING)
    assert response.status_code == 201, response.text
    message = response.json()["data"]

    outbox = control.get("/outbox", params={"api": "hadar", "tenant": MARINA, "channel": "whatsapp"})
    assert outbox.status_code == 200, outbox.text
    (entry,) = [e for e in outbox.json()["data"] if e["id"] == message["id"]]
    assert entry["channel"] == "whatsapp"
    assert entry["to"] == PHONE == lead["phone"]
    assert entry["template"] == VIEWING["template"] and entry["variables"] == VIEWING["variables"]

    conversation = client.get(f"/conversations/{message['conversation_id']}")
    assert conversation.status_code == 200, conversation.text
    data = conversation.json()["data"]
    assert data["lead_id"] == lead["id"] and data["channel"] == "whatsapp"
    assert message["id"] in [m["id"] for m in data["messages"]]


def test_inbound_emits_whatsapp_message_received_with_window_closes_at(client, control, lead, receiver):
    response = client.post("/webhooks", json={"url": receiver.url, "events": ["whatsapp.message.received"]})
    assert response.status_code == 201, response.text
    message = inbound(control, lead, "مرحبا، هل الشقة متاحة؟")

    (request,) = receiver.wait(1)
    assert request.headers["x-hadar-event"] == "whatsapp.message.received"

    payload = json.loads(request.body)
    assert payload["type"] == "whatsapp.message.received"
    data = payload["data"]
    assert data["id"] == message["id"] and data["lead_id"] == lead["id"]
    assert data["text"] == "مرحبا، هل الشقة متاحة؟"
    assert parse_iso(data["window_closes_at"]) - parse_iso(data["created_at"]) == timedelta(hours=24)
    assert data["window_closes_at"] == message["window_closes_at"]


# --- leads WhatsApp cannot reach -----------------------------------------------------------------------------
def test_lead_without_phone_is_422_do_not_contact_on_lead_id_and_nothing_is_recorded(client, control):
    created = client.post("/leads", json={"name": "Email Only", "email": "email.only@example.com"})
    assert created.status_code == 201, created.text
    no_phone = created.json()["data"]
    for message in (VIEWING, {"text": "Hello"}):
        error = error_of(send(client, no_phone, **message), 422, "do_not_contact")
        assert error["field"] == "message.lead_id"
        assert "phone" in error["message"]
    outbox = control.get("/outbox", params={"api": "hadar", "tenant": MARINA, "channel": "whatsapp"}).json()["data"]
    assert all(entry["lead_id"] != no_phone["id"] for entry in outbox)
    assert all(entry["to"] for entry in outbox)


def test_readme_whatsapp_example_lead_has_a_phone_and_the_send_is_201(client, control):
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    block = readme[readme.index("/hadar/v1/whatsapp/messages"):]
    lead_id = re.search(r'"lead_id": "(lead_[0-9A-Z]{26})"', block)[1]
    lead = client.get(f"/leads/{lead_id}")
    assert lead.status_code == 200, lead.text
    assert lead.json()["data"]["phone"]
    response = client.post("/whatsapp/messages", json={"lead_id": lead_id, **VIEWING})
    assert response.status_code == 201, response.text
    outbox = control.get("/outbox", params={"api": "hadar", "tenant": MARINA, "channel": "whatsapp"}).json()["data"]
    (entry,) = [e for e in outbox if e["id"] == response.json()["data"]["id"]]
    assert entry["to"] == lead.json()["data"]["phone"]
