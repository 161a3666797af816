"""The /_sandbox control plane over real HTTP: admin-token guard, APIs, reset, tenants, keys, the
sandbox clock, event triggers, faults and the cross-tenant delivery log."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from conftest import (
    MARINA,
    MARINA_ADMIN,
    MARINA_SEEDED_LEADS,
    PALM,
    PALM_ADMIN,
    PALM_SEEDED_LEADS,
    bearer,
    wait_for,
)

from sandbox.apis import registry
from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.core.clock import parse_iso
from sandbox.spec import load_spec

HADAR_EVENTS = sorted(registry()["hadar"].triggers)


# --- helpers -------------------------------------------------------------------------------------------
def neutral_error(response: httpx.Response, status: int, code: str) -> dict:
    """The control plane's `{error: {code, message, trace_id}}`."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"] and error["trace_id"]
    return error


def hadar(server: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=server + "/hadar/v1", headers=bearer(key), timeout=30)


def count_leads(http: httpx.Client) -> int:
    total, cursor = 0, None
    while True:
        response = http.get("/leads", params={"limit": 100, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        total += len(data["items"])
        cursor = data["pagination"]["next_cursor"]
        if cursor is None:
            return total


def create_lead(http: httpx.Client, name: str = "Control Plane Lead", **headers: str) -> dict:
    response = http.post("/leads", json={"name": name, "phone": "+971500000042"}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["data"]


def clock(control: httpx.Client, action: str | None = None, **body) -> dict:
    response = control.post(f"/clock/{action}", json=body or None) if action else control.get("/clock")
    assert response.status_code == 200, response.text
    return response.json()["data"]


# --- admin token ----------------------------------------------------------------------------------------
@pytest.fixture
def guarded() -> str:
    with running_sandbox(Config(db="memory", admin_token="s3cret")) as origin:
        yield origin + "/_sandbox"


def test_admin_token__missing_is_401(guarded):
    neutral_error(httpx.get(guarded + "/apis"), 401, "unauthorized")
    neutral_error(httpx.post(guarded + "/reset"), 401, "unauthorized")


def test_admin_token__wrong_is_401(guarded):
    neutral_error(httpx.get(guarded + "/apis", headers=bearer("s3cret-not")), 401, "unauthorized")
    neutral_error(httpx.get(guarded + "/clock", headers={"Authorization": "s3cret"}), 401, "unauthorized")


def test_admin_token__right_is_200(guarded):
    response = httpx.get(guarded + "/apis", headers=bearer("s3cret"))
    assert response.status_code == 200, response.text
    assert "hadar" in [api["name"] for api in response.json()["data"]]


def test_control_plane_is_open_without_admin_token(control):
    assert control.get("/apis").status_code == 200
    assert control.get("/clock").status_code == 200


# --- APIs, reset, tenants, keys -------------------------------------------------------------------------
def test_apis_lists_hadar_with_base_paths_and_its_documented_events(control):
    response = control.get("/apis")
    assert response.status_code == 200, response.text
    (api,) = [a for a in response.json()["data"] if a["name"] == "hadar"]
    assert "/hadar/v1" in api["base_paths"]
    assert api["title"]
    documented = load_spec("hadar.yaml")["components"]["schemas"]["EventType"]["enum"]
    assert api["events"] == HADAR_EVENTS == sorted(documented)
    assert "sandbox" not in [a["name"] for a in response.json()["data"]]


def test_reset_one_tenant_restores_its_seed_and_leaves_others_alone(server, control):
    with hadar(server, MARINA_ADMIN) as marina, hadar(server, PALM_ADMIN) as palm:
        marina_lead = create_lead(marina)
        palm_lead = create_lead(palm)
        assert count_leads(marina) == MARINA_SEEDED_LEADS + 1

        response = control.post("/reset", json={"api": "hadar", "tenant": MARINA})
        assert response.status_code == 200, response.text
        assert response.json()["data"]["tenant"] == MARINA

        assert marina.get(f"/leads/{marina_lead['id']}").status_code == 404
        assert count_leads(marina) == MARINA_SEEDED_LEADS
        assert palm.get(f"/leads/{palm_lead['id']}").status_code == 200
        assert count_leads(palm) == PALM_SEEDED_LEADS + 1


def test_create_tenant__seeded_with_a_working_admin_key(server, control):
    response = control.post("/tenants", json={"api": "hadar", "slug": "creek-realty", "name": "Creek Realty"})
    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert data["tenant"]["slug"] == "creek-realty" and data["tenant"]["name"] == "Creek Realty"
    assert data["key"]["role"] == "admin" and data["key"]["tenant"] == "creek-realty"
    with hadar(server, data["key"]["key"]) as creek:
        leads = creek.get("/leads")
        assert leads.status_code == 200, leads.text
        assert leads.json()["data"]["items"]
        lead = create_lead(creek)
    with hadar(server, MARINA_ADMIN) as marina:  # the new tenant's data is its own
        assert marina.get(f"/leads/{lead['id']}").status_code == 404
    slugs = [t["slug"] for t in control.get("/tenants", params={"api": "hadar"}).json()["data"]]
    assert "creek-realty" in slugs


def test_create_tenant__duplicate_slug_is_409(control):
    body = {"api": "hadar", "slug": "creek-realty", "name": "Creek Realty"}
    assert control.post("/tenants", json=body).status_code == 201
    neutral_error(control.post("/tenants", json=body), 409, "conflict")
    neutral_error(control.post("/tenants", json={**body, "slug": MARINA}), 409, "conflict")


def test_hadar_crm__new_keys_and_tenants_default_to_the_standard_tier(server, control):
    """The CRM page: "Standard 60 — Default tier for all API keys", even on a Professional tenant."""
    minted = control.post("/keys", json={"api": "hadar-crm", "tenant": "al-noor-realty"})
    assert minted.status_code == 201, minted.text
    assert minted.json()["data"]["plan"] == "standard"
    with httpx.Client(base_url=server + "/hadar-crm/api/v1", headers={"X-API-Key": minted.json()["data"]["key"]},
                      timeout=30, trust_env=False) as crm:
        assert crm.get("/leads").status_code == 200
    chosen = control.post("/keys", json={"api": "hadar-crm", "tenant": "al-noor-realty", "plan": "professional"})
    assert chosen.json()["data"]["plan"] == "professional"
    created = control.post("/tenants", json={"api": "hadar-crm", "slug": "dune-realty", "name": "Dune Realty"})
    assert created.status_code == 201, created.text
    assert created.json()["data"]["tenant"]["plan"] == "standard"
    assert created.json()["data"]["key"]["plan"] == "standard"
    # Hadar names no default tier: a new key takes the workspace's plan.
    assert control.post("/keys", json={"api": "hadar", "tenant": MARINA}).json()["data"]["plan"] == "growth"


def test_minted_read_only_key_reads_but_cannot_write(server, control):
    response = control.post("/keys", json={"api": "hadar", "tenant": MARINA, "role": "read_only"})
    assert response.status_code == 201, response.text
    key = response.json()["data"]
    assert key["role"] == "read_only" and key["key"].startswith("hdr_test_")
    with hadar(server, key["key"]) as reader:
        assert reader.get("/leads").status_code == 200
        response = reader.post("/leads", json={"name": "Nope", "phone": "+971500000043"})
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "forbidden"


def test_revoked_key_is_401_invalid_api_key_at_once(server, control):
    key = control.post("/keys", json={"api": "hadar", "tenant": MARINA}).json()["data"]
    with hadar(server, key["key"]) as http:
        assert http.get("/leads").status_code == 200
        response = control.delete(f"/keys/{key['id']}")
        assert response.status_code == 200, response.text
        assert response.json()["data"]["revoked_at"] is not None
        revoked = http.get("/leads")
        assert revoked.status_code == 401, revoked.text
        assert revoked.json()["error"]["code"] == "invalid_api_key"
    neutral_error(control.delete("/keys/key_doesnotexist0000"), 404, "not_found")


# --- the clock --------------------------------------------------------------------------------------------
def test_clock_freeze_holds_time_still(control):
    assert clock(control)["frozen"] is False
    frozen = clock(control, "freeze")
    assert frozen["frozen"] is True
    time.sleep(0.05)
    assert clock(control)["now"] == frozen["now"]


def test_clock_advance_moves_now_by_exactly_n_seconds_while_frozen(control):
    before = parse_iso(clock(control, "freeze")["now"])
    after = clock(control, "advance", seconds=3600)
    assert parse_iso(after["now"]) - before == timedelta(hours=1)
    assert isinstance(after["jobs_run"], int)
    assert parse_iso(clock(control)["now"]) - before == timedelta(hours=1)


def test_clock_unfreeze_ticks_on_from_the_frozen_instant(control):
    clock(control, "freeze")
    advanced = parse_iso(clock(control, "advance", seconds=86400)["now"])
    unfrozen = clock(control, "unfreeze")
    assert unfrozen["frozen"] is False
    time.sleep(0.05)
    now = parse_iso(clock(control)["now"])
    assert advanced < now < advanced + timedelta(seconds=5)  # no jump back to wall time


def test_clock_reset_returns_to_wall_time(control):
    clock(control, "freeze")
    clock(control, "advance", seconds=7 * 86400)
    reset = clock(control, "reset")
    assert reset["frozen"] is False
    assert abs(parse_iso(reset["now"]) - datetime.now(UTC)) < timedelta(seconds=5)


def test_clock_freeze_in_the_past_is_400(control):
    past = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    neutral_error(control.post("/clock/freeze", json={"at": past}), 400, "validation")


def test_idempotency_key_expires_after_24h_of_sandbox_time(client, control):
    clock(control, "freeze")
    first = create_lead(client, "Idem Lead", **{"Idempotency-Key": "idem-ctl-1"})
    replay = create_lead(client, "Idem Lead", **{"Idempotency-Key": "idem-ctl-1"})
    assert replay["id"] == first["id"]
    clock(control, "advance", seconds=24 * 3600 + 1)
    fresh = create_lead(client, "Idem Lead", **{"Idempotency-Key": "idem-ctl-1"})
    assert fresh["id"] != first["id"]
    assert client.get(f"/leads/{first['id']}").status_code == 200


# --- events -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("event_type", HADAR_EVENTS)
def test_trigger_every_documented_event_reaches_a_subscribed_receiver(client, control, receiver, event_type):
    assert event_type in listed_events(control)
    response = client.post("/webhooks", json={"url": receiver.url, "events": [event_type]})
    assert response.status_code == 201, response.text
    response = control.post("/events", json={"api": "hadar", "tenant": MARINA, "type": event_type})
    assert response.status_code == 201, response.text
    event = response.json()["data"]
    assert event["type"] == event_type and event["id"].startswith("evt_")

    receiver.wait(1)
    matching = [r for r in receiver.requests if r.headers.get("x-hadar-event") == event_type]
    assert matching, [r.headers.get("x-hadar-event") for r in receiver.requests]
    assert {r.headers["x-hadar-event"] for r in receiver.requests} == {event_type}  # only what it subscribed to
    (payload,) = [json.loads(r.body) for r in matching if json.loads(r.body)["id"] == event["id"]]
    assert payload["type"] == event_type
    assert isinstance(payload["data"], dict) and payload["data"]  # a real record, not an empty shell


def listed_events(control: httpx.Client) -> list[str]:
    """The events GET /_sandbox/apis lists for hadar."""
    (api,) = [a for a in control.get("/apis").json()["data"] if a["name"] == "hadar"]
    return api["events"]


def test_trigger_unknown_event_is_400(control):
    error = neutral_error(
        control.post("/events", json={"api": "hadar", "tenant": MARINA, "type": "lead.exploded"}), 400, "validation"
    )
    assert "lead.exploded" in error["message"]


# --- faults ------------------------------------------------------------------------------------------------
def test_fault_503_count_2_then_200(client, control):
    response = control.post("/faults", json={"api": "hadar", "operation_id": "listLeads", "status": 503, "count": 2})
    assert response.status_code == 201, response.text
    for _ in range(2):
        failed = client.get("/leads")
        assert failed.status_code == 503, failed.text
        body = failed.json()
        assert body["data"] is None
        assert body["error"]["code"] == "service_unavailable" and body["error"]["trace_id"]
    assert client.get("/leads").status_code == 200
    assert control.get("/faults").json()["data"] == []


def test_fault_only_hits_its_operation(client, control):
    control.post("/faults", json={"api": "hadar", "operation_id": "listLeads", "status": 503, "count": 1})
    assert client.get("/properties").status_code == 200
    assert client.get("/leads").status_code == 503


def test_latency_fault_delays_a_call(client, control):
    response = control.post("/faults", json={"api": "hadar", "operation_id": "listLeads", "latency_ms": 400})
    assert response.status_code == 201, response.text
    started = time.monotonic()
    assert client.get("/leads").status_code == 200
    assert time.monotonic() - started >= 0.4


def test_delete_faults_clears_them(client, control):
    control.post("/faults", json={"api": "hadar", "operation_id": "*", "status": 500, "count": 100})
    assert len(control.get("/faults").json()["data"]) == 1
    response = control.delete("/faults")
    assert response.status_code == 200, response.text
    assert response.json()["data"]["cleared"] == 1
    assert control.get("/faults").json()["data"] == []
    assert client.get("/leads").status_code == 200


def test_fault_on_unknown_operation_is_404(control):
    neutral_error(control.post("/faults", json={"api": "hadar", "operation_id": "launchRocket"}), 404, "not_found")


# --- deliveries --------------------------------------------------------------------------------------------
def test_deliveries_lists_every_tenants_deliveries_with_api_and_tenant(server, control, make_receiver):
    for tenant, key in ((MARINA, MARINA_ADMIN), (PALM, PALM_ADMIN)):
        with hadar(server, key) as http:
            response = http.post("/webhooks", json={"url": make_receiver().url, "events": ["lead.created"]})
            assert response.status_code == 201, response.text
        assert control.post("/events", json={"api": "hadar", "tenant": tenant, "type": "lead.created"}).status_code == 201

    def settled() -> list[dict]:  # deliveries run in the background: wait until both were answered
        response = control.get("/deliveries")  # every API, every tenant, newest first
        assert response.status_code == 200, response.text
        items = [d for d in response.json()["data"] if d["api"] == "hadar"]
        return items if len(items) == 2 and all(d["state"] != "pending" for d in items) else []

    items = wait_for(settled)
    assert {(d["api"], d["tenant"]) for d in items} == {("hadar", MARINA), ("hadar", PALM)}
    for delivery in items:
        assert delivery["id"].startswith("dlv_") and delivery["event_type"] == "lead.created"
        assert delivery["state"] == "succeeded" and delivery["attempts"][0]["status_code"] == 200
        assert delivery["payload"]["type"] == "lead.created"

    only_palm = control.get("/deliveries", params={"api": "hadar", "tenant": PALM}).json()["data"]
    assert [d["tenant"] for d in only_palm] == [PALM]


# --- vendor simulations ------------------------------------------------------------------------------
def test_vendor_simulations__come_from_the_vendors_definition():
    """The control plane serves what a vendor's package declares (`ApiDefinition.simulations`)."""
    assert set(registry()["hadar"].simulations) == {"whatsapp.inbound", "whatsapp.opt_out"}
    assert not any(api.simulations for name, api in registry().items() if name != "hadar")


def test_vendor_simulations__of_an_api_not_served_are_404_naming_it():
    with running_sandbox(Config(db="memory", apis=("leaditio",))) as origin:
        response = httpx.post(origin + "/_sandbox/hadar/whatsapp/inbound", json={"tenant": MARINA, "lead_id": "lead_1"})
    error = neutral_error(response, 404, "not_found")
    assert "No API 'hadar'" in error["message"]


def test_vendor_simulations__of_an_unknown_tenant_are_404(control):
    response = control.post("/hadar/whatsapp/opt-out", json={"tenant": "no-such-tenant", "lead_id": "lead_1"})
    error = neutral_error(response, 404, "not_found")
    assert "no-such-tenant" in error["message"]
