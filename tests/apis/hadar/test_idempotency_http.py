"""Hadar idempotency over real HTTP (issue 17 point 1): the first response of every request that reached
the handler is stored and replayed, 2xx and 4xx alike; validation errors and 5xx are not stored; the
request hash is over the canonical JSON, so whitespace and key order do not make another payload."""

from __future__ import annotations

import httpx
from conftest import AISHA, MARINA, MARINA_SEEDED_LEADS

PHONE = "+971501112233"


def _key(response: httpx.Response) -> bool:
    return response.headers.get("Idempotent-Replayed") == "true"


def test_business_422_is_replayed_even_after_the_state_changed(client: httpx.Client, control: httpx.Client, runtime):
    lead = client.post("/leads", json={"name": "Layla Haddad", "phone": PHONE}).json()["data"]
    message = {"lead_id": lead["id"], "text": "Hello!"}
    headers = {"Idempotency-Key": "wa-outside-window"}
    first = client.post("/whatsapp/messages", json=message, headers=headers)
    assert first.status_code == 422, first.text
    assert first.json()["error"]["code"] == "outside_24h_window"
    # the lead writes in: the window opens, so the same request would now succeed...
    inbound = control.post("/hadar/whatsapp/inbound", json={"tenant": MARINA, "lead_id": lead["id"], "text": "Hi"})
    assert inbound.status_code == 201, inbound.text
    # ...but the key already has its response (the Hadar page: "return the original response")
    again = client.post("/whatsapp/messages", json=message, headers=headers)
    assert again.status_code == 422 and _key(again)
    assert again.json() == first.json()
    outbox = control.get("/outbox", params={"api": "hadar", "tenant": MARINA, "channel": "whatsapp"}).json()["data"]
    assert not [entry for entry in outbox if entry.get("body") == "Hello!" or entry.get("text") == "Hello!"]
    # a new key sends it
    assert client.post("/whatsapp/messages", json=message, headers={"Idempotency-Key": "wa-new"}).status_code == 201


def test_404_from_the_handler_is_replayed(client: httpx.Client):
    headers = {"Idempotency-Key": "cancel-missing"}
    first = client.post("/bookings/bkg_missing/cancel", json={}, headers=headers)
    assert first.status_code == 404, first.text
    again = client.post("/bookings/bkg_missing/cancel", json={}, headers=headers)
    assert again.status_code == 404 and _key(again)
    assert again.json() == first.json()


def test_validation_error_is_not_stored(client: httpx.Client, runtime):
    headers = {"Idempotency-Key": "fix-and-retry"}
    bad = client.post("/leads", json={**AISHA, "email": 5}, headers=headers)
    assert bad.status_code == 400, bad.text
    # the request never reached the handler: the corrected request with the same key runs
    fixed = client.post("/leads", json=AISHA, headers=headers)
    assert fixed.status_code == 201 and not _key(fixed)
    assert runtime.store.collection("hadar", MARINA, "leads").count() == MARINA_SEEDED_LEADS + 1


def test_same_json_with_other_whitespace_and_key_order_is_the_same_request(client: httpx.Client, runtime):
    headers = {"Idempotency-Key": "canonical", "Content-Type": "application/json"}
    body = {"name": "Canon Buyer", "email": "canon@example.com", "budget_aed": 1800000}
    compact = httpx.Request("POST", "/", json=body).content
    first = client.post("/leads", content=compact, headers=headers)
    assert first.status_code == 201, first.text
    pretty = b'{\n  "budget_aed":   1800000,\n  "email": "canon@example.com",\n  "name": "Canon Buyer"\n}'
    again = client.post("/leads", content=pretty, headers=headers)
    assert again.status_code == 201 and _key(again), again.text
    assert again.json() == first.json()
    assert runtime.store.collection("hadar", MARINA, "leads").count() == MARINA_SEEDED_LEADS + 1
    other = client.post("/leads", content=pretty.replace(b"Canon Buyer", b"Other Buyer"), headers=headers)
    assert other.status_code == 409


def test_a_write_and_its_webhook_job_commit_with_the_key(client: httpx.Client, runtime, receiver):
    assert client.post("/webhooks", json={"url": receiver.url, "events": ["lead.created"]}).status_code == 201
    response = client.post("/leads", json={**AISHA, "email": "unit@example.com"}, headers={"Idempotency-Key": "unit"})
    assert response.status_code == 201
    deliveries = runtime.store.collection("hadar", MARINA, "webhook_deliveries").all()
    assert [d["event_type"] for d in deliveries] == ["lead.created"]
    replay = client.post("/leads", json={**AISHA, "email": "unit@example.com"}, headers={"Idempotency-Key": "unit"})
    assert _key(replay)
    assert len(runtime.store.collection("hadar", MARINA, "webhook_deliveries").all()) == 1
