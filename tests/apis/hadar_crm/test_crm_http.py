"""Hadar CRM over real HTTP (uvicorn on 127.0.0.1), against the vendor page
(shared/seeds/hadar-crm-api.txt) and openapi/hadar-crm.yaml: X-API-Key auth, the {data}/{data, meta}
envelope, validation errors with details.fieldErrors, filters, tenant isolation, appointments completing
on the sandbox clock, and signed webhooks received by a loopback recorder."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from conftest import Recorder

from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.core.clock import parse_iso, utc_iso

BASE = "/hadar-crm/api/v1"
ADMIN = "ak_test_alnoor_professional_admin_7c2e91d4"
READONLY = "ak_test_alnoor_professional_readonly_3b8f06a1"
SKYLINE = "ak_test_skyline_standard_admin_0e6d4a92"
ALNOOR = "al-noor-realty"
ALNOOR_LEADS = 140
UNAUTHORIZED = {"error": {"code": "UNAUTHORIZED", "message": "Missing or invalid API key"}}
#: the createLead body of the vendor page ("Create a new lead")
VENDOR_LEAD = {
    "full_name": "Ahmed Al Mansouri",
    "email": "ahmed@example.com",
    "phone": "+971501234567",
    "nationality": "AE",
    "budget_min_aed": 500000,
    "budget_max_aed": 2000000,
    "purpose": "Investment",
    "timeline": "3 months",
    "notes": "Interested in Downtown villas",
    "channel": "api",
}
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")


# --- helpers ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared() -> Iterator[str]:
    """One sandbox for the read-only tests of this module (nothing here writes to it)."""
    with running_sandbox(Config(db="memory", plans={"*": 10**9}, validate_responses=True)) as origin:
        yield origin


def api(origin: str, key: str | None = ADMIN) -> httpx.Client:
    return httpx.Client(base_url=origin + BASE, headers={"X-API-Key": key} if key else {}, timeout=10, trust_env=False)


@pytest.fixture
def crm(shared: str) -> Iterator[httpx.Client]:
    with api(shared) as client:
        yield client


@pytest.fixture
def writer(server: str) -> Iterator[httpx.Client]:
    """An admin client on a fresh sandbox of its own (tests that create records)."""
    with api(server) as client:
        yield client


def all_leads(client: httpx.Client, **params: Any) -> list[dict]:
    items: list[dict] = []
    page = 1
    while True:
        body = client.get("/leads", params={**params, "page": page, "limit": 100}).json()
        items += body["data"]
        if not body["meta"]["has_next"]:
            return items
        page += 1


def register_endpoint(control: httpx.Client, url: str, events: list[str]) -> dict:
    response = control.post("/webhooks", json={"api": "hadar-crm", "tenant": ALNOOR, "url": url, "events": events})
    assert response.status_code == 201, response.text
    return response.json()["data"]


# --- authentication --------------------------------------------------------------------------------
@pytest.mark.parametrize("key", [None, "ak_test_unknown_key_0000000000", "not-a-key"], ids=["missing", "unknown", "garbage"])
def test_auth__missing_or_unknown_key_is_documented_401(shared: str, key: str | None) -> None:
    with api(shared, key) as client:
        response = client.get("/leads")
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == UNAUTHORIZED


def test_auth__live_key_is_401_saying_test_keys_only(shared: str) -> None:
    with api(shared, "ak_live_xxxxxxxxxxxxxxxxxxxxxxxxxxxx") as client:  # the page's placeholder key
        response = client.get("/leads")
    assert response.status_code == 401
    error = response.json()["error"]
    assert error["code"] == "UNAUTHORIZED"
    assert "test keys" in error["message"]


def test_auth__short_live_key_is_the_live_refusal_in_the_vendor_shape(shared: str) -> None:
    """Live before format: `ak_live_abc123` is too short for a key, and still the "test keys only" refusal."""
    with api(shared, "ak_live_abc123") as client:
        response = client.get("/leads")
    assert response.status_code == 401
    assert set(response.json()) == {"error"} and set(response.json()["error"]) == {"code", "message"}
    assert response.json()["error"]["code"] == "UNAUTHORIZED"
    assert "accepts test keys (ak_test_…) only" in response.json()["error"]["message"]


def test_auth__read_only_key_can_read_but_not_write(shared: str) -> None:
    with api(shared, READONLY) as client:
        assert client.get("/leads").status_code == 200
        response = client.post("/leads", json={"full_name": "Read Only", "phone": "+971501112233"})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "FORBIDDEN"
        assert client.get("/leads", params={"search": "Read Only"}).json()["meta"]["total"] == 0


def test_rate_limit_headers_on_200_and_401(shared: str) -> None:
    with api(shared) as ok_client, api(shared, None) as anonymous:
        for response, status in ((ok_client.get("/leads"), 200), (anonymous.get("/leads"), 401)):
            assert response.status_code == status
            for name in RATE_HEADERS:
                assert response.headers[name].isdigit(), (status, name)
            assert int(response.headers["x-ratelimit-remaining"]) <= int(response.headers["x-ratelimit-limit"])


# --- envelope and pagination -----------------------------------------------------------------------
def test_list_envelope__first_page_default_limit(crm: httpx.Client) -> None:
    body = crm.get("/leads").json()
    assert set(body) == {"data", "meta"}
    assert len(body["data"]) == 20
    assert body["meta"] == {
        "total": ALNOOR_LEADS, "page": 1, "limit": 20, "pages": math.ceil(ALNOOR_LEADS / 20),
        "has_next": True, "has_prev": False,
    }


def test_list_envelope__last_page_and_past_the_end(crm: httpx.Client) -> None:
    pages = math.ceil(ALNOOR_LEADS / 30)  # 5 pages: 4 full, the last holds 20
    last = crm.get("/leads", params={"page": pages, "limit": 30}).json()
    assert len(last["data"]) == ALNOOR_LEADS - 30 * (pages - 1)
    assert last["meta"] == {"total": ALNOOR_LEADS, "page": pages, "limit": 30, "pages": pages,
                            "has_next": False, "has_prev": True}
    beyond = crm.get("/leads", params={"page": pages + 1, "limit": 30})
    assert beyond.status_code == 200
    assert beyond.json() == {"data": [], "meta": {"total": ALNOOR_LEADS, "page": pages + 1, "limit": 30,
                                                  "pages": pages, "has_next": False, "has_prev": True}}


def test_pages_cover_every_lead_once(crm: httpx.Client) -> None:
    ids = [lead["id"] for lead in all_leads(crm)]
    assert len(ids) == len(set(ids)) == ALNOOR_LEADS


def test_single_resource_envelope(crm: httpx.Client) -> None:
    lead = crm.get("/leads", params={"limit": 1}).json()["data"][0]
    body = crm.get(f"/leads/{lead['id']}").json()
    assert body == {"data": lead}


def test_limit_101_is_validation_failed_naming_limit(crm: httpx.Client) -> None:
    response = crm.get("/leads", params={"limit": 101})
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == {"code": "VALIDATION_FAILED", "message": "Validation failed"}
    assert isinstance(body["details"]["fieldErrors"]["limit"], list)
    assert body["details"]["fieldErrors"]["limit"]


# --- lead filters ----------------------------------------------------------------------------------
def test_filter_status(crm: httpx.Client) -> None:
    qualified = all_leads(crm, status="qualified")
    assert qualified and all(lead["status"] == "qualified" for lead in qualified)
    everyone = all_leads(crm)
    assert len(qualified) == sum(lead["status"] == "qualified" for lead in everyone)


def test_filter_channel(crm: httpx.Client) -> None:
    bayut = crm.get("/leads", params={"channel": "bayut", "limit": 100}).json()
    assert bayut["data"] and all(lead["channel"] == "bayut" for lead in bayut["data"])
    assert bayut["meta"]["total"] == sum(lead["channel"] == "bayut" for lead in all_leads(crm))


def test_filter_search_is_case_insensitive_on_name_email_phone(crm: httpx.Client) -> None:
    target = next(lead for lead in all_leads(crm) if lead["email"])
    surname = target["full_name"].split()[-1]
    for term in (surname.upper(), target["email"], target["phone"][-7:]):
        found = crm.get("/leads", params={"search": term, "limit": 100}).json()["data"]
        assert target["id"] in [lead["id"] for lead in found], term
        for lead in found:
            haystack = " ".join(str(lead[k] or "") for k in ("full_name", "email", "phone")).lower()
            assert term.lower() in haystack, (term, lead)


def test_filter_score_min(crm: httpx.Client) -> None:
    high = all_leads(crm, score_min=70)
    assert high and all(lead["score"] >= 70 for lead in high)
    assert len(high) == sum(lead["score"] >= 70 for lead in all_leads(crm))


def test_filters_combine(crm: httpx.Client) -> None:
    found = all_leads(crm, status="qualified", score_min=50)
    assert all(lead["status"] == "qualified" and lead["score"] >= 50 for lead in found)


# --- creating leads, tenant isolation --------------------------------------------------------------
def test_create_lead__vendor_body_is_201_new_with_score_0(writer: httpx.Client) -> None:
    response = writer.post("/leads", json=VENDOR_LEAD)
    assert response.status_code == 201, response.text
    lead = response.json()["data"]
    assert set(response.json()) == {"data"}
    assert lead["id"].startswith("lead-")
    assert lead["status"] == "new" and lead["score"] == 0
    for name, value in VENDOR_LEAD.items():
        assert lead[name] == value, name
    assert writer.get(f"/leads/{lead['id']}").json()["data"] == lead
    assert writer.get("/leads").json()["meta"]["total"] == ALNOOR_LEADS + 1


def test_create_lead__without_email_and_phone_is_400_with_field_errors(writer: httpx.Client) -> None:
    response = writer.post("/leads", json={"full_name": "No Contact", "channel": "api"})
    assert response.status_code == 400
    body = response.json()
    assert body["error"]["code"] == "VALIDATION_FAILED"
    field_errors = body["details"]["fieldErrors"]
    assert field_errors and all(isinstance(v, list) and v for v in field_errors.values())
    assert writer.get("/leads").json()["meta"]["total"] == ALNOOR_LEADS


def test_create_lead__bad_email_names_email(writer: httpx.Client) -> None:
    response = writer.post("/leads", json={"full_name": "Bad Email", "email": "not-an-email"})
    assert response.status_code == 400
    assert "email" in response.json()["details"]["fieldErrors"]


def test_other_tenants_lead_is_404(shared: str) -> None:
    with api(shared, SKYLINE) as skyline, api(shared) as alnoor:
        foreign = skyline.get("/leads", params={"limit": 1}).json()["data"][0]["id"]
        response = alnoor.get(f"/leads/{foreign}")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
        assert skyline.get(f"/leads/{foreign}").status_code == 200
        assert alnoor.get("/leads/lead-00000000000000000000000000").status_code == 404


# --- properties ------------------------------------------------------------------------------------
def test_properties_filters(crm: httpx.Client) -> None:
    every = crm.get("/properties", params={"limit": 100}).json()["data"]
    assert every
    prices = sorted(p["price_aed"] for p in every)
    low, high = prices[len(prices) // 4], prices[3 * len(prices) // 4]
    cases: list[tuple[dict, Callable[[dict], bool]]] = [
        ({"min_price": low}, lambda p: p["price_aed"] >= low),
        ({"max_price": high}, lambda p: p["price_aed"] <= high),
        ({"min_price": low, "max_price": high}, lambda p: low <= p["price_aed"] <= high),
        ({"type": "apartment"}, lambda p: p["type"] == "apartment"),
        ({"community": every[0]["community"].lower()}, lambda p: p["community"] == every[0]["community"]),
    ]
    for params, keep in cases:
        found = crm.get("/properties", params={**params, "limit": 100}).json()
        assert found["data"], params
        assert all(keep(p) for p in found["data"]), params
        assert found["meta"]["total"] == sum(keep(p) for p in every), params


def test_create_property(writer: httpx.Client) -> None:
    body = {"title": "Downtown Views Villa", "type": "villa", "listing_type": "sale", "community": "Downtown Dubai",
            "bedrooms": 4, "bathrooms": 5, "size_sqft": 4200, "price_aed": 7800000}
    response = writer.post("/properties", json=body)
    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert created["id"].startswith("prop-") and created["status"] == "available"
    assert {k: created[k] for k in body} == body
    found = writer.get("/properties", params={"community": "downtown dubai", "type": "villa",
                                              "min_price": 7800000, "max_price": 7800000}).json()["data"]
    assert created["id"] in [p["id"] for p in found]
    bad = writer.post("/properties", json={**body, "price_aed": -1})
    assert bad.status_code == 400 and "price_aed" in bad.json()["details"]["fieldErrors"]


# --- appointments ----------------------------------------------------------------------------------
def test_schedule_appointment__existing_lead_201_unknown_lead_404(writer: httpx.Client) -> None:
    lead = writer.get("/leads", params={"limit": 1}).json()["data"][0]
    body = {"type": "viewing", "lead_id": lead["id"], "scheduled_at": "2030-06-06T07:00:00Z", "duration_minutes": 45}
    response = writer.post("/appointments", json=body)
    assert response.status_code == 201, response.text
    appointment = response.json()["data"]
    assert appointment["status"] == "scheduled" and appointment["lead_id"] == lead["id"]
    assert appointment["id"].startswith("appt-")
    assert parse_iso(appointment["scheduled_at"]) == parse_iso(body["scheduled_at"])
    listed = writer.get("/appointments", params={"lead_id": lead["id"], "limit": 100}).json()["data"]
    assert appointment["id"] in [a["id"] for a in listed]

    missing = writer.post("/appointments", json={**body, "lead_id": "lead-00000000000000000000000000"})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"


def test_appointment_ending_after_year_9999_is_201_and_never_completes(writer: httpx.Client) -> None:
    """A schema-valid start whose end UTC cannot hold (9999-12-31T23:30Z + 60 min) is no 500: it is kept
    scheduled, as Hadar keeps such a booking confirmed."""
    lead = writer.get("/leads", params={"limit": 1}).json()["data"][0]
    body = {"type": "call", "lead_id": lead["id"], "scheduled_at": "9999-12-31T23:30:00Z", "duration_minutes": 60}
    response = writer.post("/appointments", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["status"] == "scheduled"


def test_appointment_completes_when_its_end_passes_on_the_frozen_clock(
    writer: httpx.Client, control: httpx.Client
) -> None:
    now = parse_iso(control.post("/clock/freeze").json()["data"]["now"])
    lead = writer.get("/leads", params={"limit": 1}).json()["data"][0]
    start = now + timedelta(hours=1)
    appointment = writer.post(
        "/appointments",
        json={"type": "call", "lead_id": lead["id"], "scheduled_at": utc_iso(start), "duration_minutes": 30},
    ).json()["data"]

    def completed_ids() -> list[str]:
        return [a["id"] for a in writer.get("/appointments", params={"status": "completed", "limit": 100}).json()["data"]]

    assert control.post("/clock/advance", json={"seconds": 3600 + 29 * 60}).status_code == 200  # not over yet
    assert appointment["id"] not in completed_ids()
    assert appointment["id"] in [a["id"] for a in writer.get("/appointments", params={"status": "scheduled"}).json()["data"]]
    assert control.post("/clock/advance", json={"seconds": 120}).status_code == 200  # now past its end
    assert appointment["id"] in completed_ids()


# --- webhooks --------------------------------------------------------------------------------------
def test_webhook__non_ascii_lead_is_delivered_signed_as_json_stringify(
    writer: httpx.Client, control: httpx.Client, recorder: Recorder
) -> None:
    endpoint = register_endpoint(control, recorder.url, ["lead.created", "appointment.scheduled", "appointment.completed"])
    secret = endpoint["secret"]
    name = "Zoë عائشة"
    lead = writer.post("/leads", json={"full_name": name, "email": "zoe@example.com", "channel": "website"}).json()["data"]

    headers, raw = recorder.wait_event("lead.created", lambda p: p["data"]["id"] == lead["id"])
    payload = json.loads(raw)
    assert set(payload) == {"event", "timestamp", "data"}
    assert payload["data"]["full_name"] == name
    assert payload["data"]["status"] == "new"
    assert headers["x-webhook-signature"] == hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    # the vendor verifies over JSON.stringify(req.body): the raw bytes must be exactly that
    assert raw == json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    assert name.encode() in raw  # UTF-8, not \u escapes


def test_webhook__appointment_scheduled_and_completed_are_delivered(
    writer: httpx.Client, control: httpx.Client, recorder: Recorder
) -> None:
    endpoint = register_endpoint(control, recorder.url, ["lead.created", "appointment.scheduled", "appointment.completed"])
    now = parse_iso(control.post("/clock/freeze").json()["data"]["now"])
    lead = writer.get("/leads", params={"limit": 1}).json()["data"][0]
    appointment = writer.post(
        "/appointments",
        json={"type": "viewing", "lead_id": lead["id"], "scheduled_at": utc_iso(now + timedelta(minutes=10)),
              "duration_minutes": 15},
    ).json()["data"]
    headers, raw = recorder.wait_event("appointment.scheduled", lambda p: p["data"]["id"] == appointment["id"])
    assert headers["x-webhook-signature"] == hmac.new(endpoint["secret"].encode(), raw, hashlib.sha256).hexdigest()

    control.post("/clock/advance", json={"seconds": 30 * 60})
    headers, raw = recorder.wait_event("appointment.completed", lambda p: p["data"]["id"] == appointment["id"])
    assert json.loads(raw)["data"]["status"] == "completed"
    assert headers["x-webhook-signature"] == hmac.new(endpoint["secret"].encode(), raw, hashlib.sha256).hexdigest()
    # not subscribed: property.created is never sent to this endpoint
    writer.post("/properties", json={"title": "Unsubscribed", "type": "office", "listing_type": "rent",
                                     "community": "Business Bay", "price_aed": 90000})
    assert all(json.loads(body)["event"] != "property.created" for _, body in recorder.received())


def test_list_webhooks_shows_the_subscription_without_its_secret(
    server: str, writer: httpx.Client, control: httpx.Client, recorder: Recorder
) -> None:
    events = ["lead.created", "appointment.scheduled", "appointment.completed"]
    endpoint = register_endpoint(control, recorder.url, events)
    assert endpoint["secret"]
    response = writer.get("/webhooks")
    assert response.status_code == 200
    body = response.json()
    assert body["meta"]["total"] == 1
    [listed] = body["data"]
    assert listed["id"] == endpoint["id"] and listed["url"] == recorder.url
    assert listed["events"] == events
    assert "secret" not in listed
    assert endpoint["secret"] not in response.text
    with api(server, SKYLINE) as other:
        assert other.get("/webhooks").json()["data"] == []  # another tenant's subscriptions are not listed


def test_whole_floats_are_echoed_as_integers_like_the_webhook(
    writer: httpx.Client, control: httpx.Client, recorder: Recorder
) -> None:
    """A client's `500000.0` comes back as `500000` in the response, the stored lead and the webhook alike
    (the vendor is a Node service: JSON.parse/stringify keep no `.0`)."""
    register_endpoint(control, recorder.url, ["lead.created", "property.created"])
    raw_body = b'{"full_name": "Float Budget", "email": "float@example.com", "budget_min_aed": 500000.0, ' \
               b'"budget_max_aed": 2000000.0}'
    response = writer.post("/leads", content=raw_body, headers={"Content-Type": "application/json"})
    assert response.status_code == 201, response.text
    assert b'"budget_min_aed":500000,' in response.content and b'"budget_max_aed":2000000,' in response.content
    lead = response.json()["data"]
    assert b'"budget_min_aed":500000,' in writer.get(f"/leads/{lead['id']}").content
    _, raw = recorder.wait_event("lead.created", lambda p: p["data"]["id"] == lead["id"])
    assert b'"budget_min_aed":500000,' in raw

    listing = writer.post("/properties", content=b'{"title": "Marina 2BR", "type": "apartment", '
                          b'"listing_type": "sale", "community": "Dubai Marina", "bedrooms": 2.0, '
                          b'"price_aed": 1850000.0}', headers={"Content-Type": "application/json"})
    assert listing.status_code == 201, listing.text
    assert b'"price_aed":1850000,' in listing.content and b'"bedrooms":2,' in listing.content
