"""Leaditio buyer API over real HTTP (uvicorn on 127.0.0.1), against the vendor page
(shared/seeds/leaditio-buyer-api.txt) and openapi/leaditio.yaml: Bearer auth and plan access, the bare
`{leads, total, page, limit}` list, filters, lead detail and scoring, webhook registration, account
statistics, and leads matched over sandbox time delivered as signed `lead.new` webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from conftest import Recorder

from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.core.clock import parse_iso, utc_iso

BASE = "/leaditio/api/v1"
SUNVOLT = "ldt_test_sunvolt_pro_9f31c0a7"
CAPECOVER = "ldt_test_capecover_enterprise_64b1e0d9"
KOPANO_BASIC = "ldt_test_kopano_basic_c8a25f13"
SUNVOLT_LEADS = 142
FIXTURES = yaml.safe_load((Path(__file__).resolve().parents[3] / "fixtures" / "leaditio.yaml").read_text())
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")
#: the vendor page's "Register a Webhook" request body
VENDOR_WEBHOOK: dict[str, Any] = {"url": "https://your-crm.com/hooks/leaditio", "secret": "wh_secret_your_secret_here",
                  "events": ["lead.new", "lead.updated"]}


# --- helpers ---------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shared() -> Iterator[str]:
    """One sandbox for the tests of this module that only read (or register unrelated webhooks)."""
    config = Config(db="memory", plans={"*": 10**9}, validate_responses=True, webhook_hosts="loopback")
    with running_sandbox(config) as origin:
        yield origin


def api(origin: str, key: str | None = SUNVOLT, authorization: str | None = None) -> httpx.Client:
    headers = {"Authorization": authorization} if authorization else {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.Client(base_url=origin + BASE, headers=headers, timeout=10, trust_env=False)


@pytest.fixture
def buyer(shared: str) -> Iterator[httpx.Client]:
    with api(shared) as client:
        yield client


def all_leads(client: httpx.Client, **params: Any) -> list[dict]:
    items: list[dict] = []
    page = 1
    while True:
        body = client.get("/leads", params={**params, "page": page, "limit": 100}).json()
        items += body["leads"]
        if page * 100 >= body["total"]:
            return items
        page += 1


def signature(secret: str, raw: bytes) -> str:
    return hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


# --- authentication and plan access ----------------------------------------------------------------
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ldt_test_unknown_key_00000000", "ldt_test_sunvolt_pro_9f31c0a7", "Basic bGR0OnRlc3Q=",
     "Bearer", "Bearer ldt_live_abcdefghijklmnop"],
    ids=["missing", "unknown", "no-scheme", "basic-scheme", "empty-bearer", "live-key"],
)
def test_auth__variants_are_401_unauthorized(shared: str, authorization: str | None) -> None:
    with api(shared, None, authorization) as client:
        response = client.get("/leads")
    assert response.status_code == 401
    body = response.json()
    assert set(body) == {"code", "message"}
    assert body["code"] == "unauthorized" and body["message"]
    for name in RATE_HEADERS:
        assert response.headers[name].isdigit()


def test_auth__live_key_message_says_test_keys_only(shared: str) -> None:
    with api(shared, "ldt_live_abcdefghijklmnop") as client:
        assert "test keys" in client.get("/leads").json()["message"]


def test_auth__x_api_key_header_is_not_accepted(shared: str) -> None:
    with httpx.Client(base_url=shared + BASE, headers={"X-API-Key": SUNVOLT}, trust_env=False) as client:
        assert client.get("/leads").status_code == 401


def test_auth__bearer_scheme_is_case_insensitive(shared: str) -> None:
    with api(shared, None, f"bearer {SUNVOLT}") as client:
        assert client.get("/leads", params={"limit": 1}).status_code == 200


def test_basic_plan_is_403_forbidden_on_every_operation(shared: str) -> None:
    with api(shared) as sunvolt:
        lead_id = sunvolt.get("/leads", params={"limit": 1}).json()["leads"][0]["id"]
    with api(shared, KOPANO_BASIC) as basic:
        responses = [
            basic.get("/leads"),
            basic.get(f"/leads/{lead_id}"),
            basic.post("/leads/webhook", json=VENDOR_WEBHOOK),
            basic.get("/account/stats"),
        ]
    for response in responses:
        assert response.status_code == 403, response.request.url
        assert response.json() == {"code": "forbidden", "message": "Your plan does not include API access"}


# --- list ------------------------------------------------------------------------------------------
def test_list_leads__bare_shape_default_limit_25_no_contact_data(buyer: httpx.Client) -> None:
    response = buyer.get("/leads")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"leads", "total", "page", "limit"}
    assert (body["total"], body["page"], body["limit"]) == (SUNVOLT_LEADS, 1, 25)
    assert len(body["leads"]) == 25
    for lead in body["leads"]:
        assert "phone" not in lead and "email" not in lead and "score_breakdown" not in lead
        assert lead["id"].startswith("lead_")
    delivered = [lead["delivered_at"] for lead in body["leads"]]
    assert delivered == sorted(delivered, reverse=True)  # newest delivered first
    for name in RATE_HEADERS:
        assert response.headers[name].isdigit()


def test_list_leads__pages_cover_every_lead_once(buyer: httpx.Client) -> None:
    ids = [lead["id"] for lead in all_leads(buyer)]
    assert len(ids) == len(set(ids)) == SUNVOLT_LEADS
    last = buyer.get("/leads", params={"page": 2, "limit": 100}).json()
    assert len(last["leads"]) == SUNVOLT_LEADS - 100
    beyond = buyer.get("/leads", params={"page": 3, "limit": 100}).json()
    assert beyond == {"leads": [], "total": SUNVOLT_LEADS, "page": 3, "limit": 100}


def test_list_leads__limit_101_is_invalid_request(buyer: httpx.Client) -> None:
    response = buyer.get("/leads", params={"limit": 101})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_request" and body["message"]
    assert body.get("field") == "limit"


def test_filter_vertical(shared: str) -> None:
    with api(shared, CAPECOVER) as cape:  # a buyer of two verticals
        everyone = all_leads(cape)
        for vertical in ("insurance", "financial"):
            found = all_leads(cape, vertical=vertical)
            assert found and all(lead["vertical"] == vertical for lead in found)
            assert len(found) == sum(lead["vertical"] == vertical for lead in everyone)
        assert cape.get("/leads", params={"vertical": "solar"}).json()["total"] == 0


def test_filter_score_tier(buyer: httpx.Client) -> None:
    everyone = all_leads(buyer)
    for tier in ("hot", "warm", "qualified"):
        found = all_leads(buyer, score_tier=tier)
        assert all(lead["score_tier"] == tier for lead in found)
        assert len(found) == sum(lead["score_tier"] == tier for lead in everyone)
    assert any(lead["score_tier"] == "hot" for lead in everyone)


def test_filter_suburb_is_case_insensitive(buyer: httpx.Client) -> None:
    everyone = all_leads(buyer)
    suburbs = sorted({lead["suburb"] for lead in everyone}, key=lambda name: (" " not in name, name))
    suburb = suburbs[0]  # a two-word one ("Pretoria East") when there is one
    expected = sum(lead["suburb"] == suburb for lead in everyone)
    for spelling in (suburb, suburb.lower(), suburb.upper()):
        body = buyer.get("/leads", params={"suburb": spelling, "limit": 100}).json()
        assert body["total"] == expected, spelling
        assert all(lead["suburb"] == suburb for lead in body["leads"])


def test_filter_dates_are_inclusive(buyer: httpx.Client) -> None:
    everyone = all_leads(buyer)
    days = sorted({lead["delivered_at"][:10] for lead in everyone})
    first, middle, last = days[0], days[len(days) // 2], days[-1]

    def count(lo: str | None, hi: str | None) -> int:
        return sum((lo is None or lead["delivered_at"][:10] >= lo) and (hi is None or lead["delivered_at"][:10] <= hi)
                   for lead in everyone)

    one_day = all_leads(buyer, date_from=middle, date_to=middle)
    assert one_day and all(lead["delivered_at"][:10] == middle for lead in one_day)
    assert len(one_day) == count(middle, middle)
    assert buyer.get("/leads", params={"date_from": first, "date_to": last}).json()["total"] == SUNVOLT_LEADS
    assert buyer.get("/leads", params={"date_from": middle}).json()["total"] == count(middle, None)
    assert buyer.get("/leads", params={"date_to": middle}).json()["total"] == count(None, middle)
    after = (date.fromisoformat(last) + timedelta(days=1)).isoformat()
    assert buyer.get("/leads", params={"date_from": after}).json()["total"] == 0


def test_filter_bad_date_is_invalid_request(buyer: httpx.Client) -> None:
    response = buyer.get("/leads", params={"date_from": "2026-13-01"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"
    assert response.json().get("field") == "date_from"


# --- detail ----------------------------------------------------------------------------------------
def test_get_lead__contact_data_and_consistent_score(buyer: httpx.Client) -> None:
    for summary in buyer.get("/leads", params={"limit": 30}).json()["leads"]:
        response = buyer.get(f"/leads/{summary['id']}")
        assert response.status_code == 200
        lead = response.json()
        assert lead["phone"].startswith("+27") and len(lead["phone"]) == 12 and lead["phone"][1:].isdigit()
        assert "@" in lead["email"]
        assert lead["score"] == sum(lead["score_breakdown"].values())
        expected_tier = "hot" if lead["score"] >= 80 else "warm" if lead["score"] >= 60 else "qualified"
        assert lead["score_tier"] == expected_tier == summary["score_tier"]
        assert {k: lead[k] for k in summary} == summary


def test_get_lead__another_buyers_lead_is_404(shared: str) -> None:
    with api(shared, CAPECOVER) as cape, api(shared) as sunvolt:
        foreign = cape.get("/leads", params={"limit": 1}).json()["leads"][0]["id"]
        assert cape.get(f"/leads/{foreign}").status_code == 200
        response = sunvolt.get(f"/leads/{foreign}")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


# --- webhooks registration -------------------------------------------------------------------------
def test_register_webhook__vendor_example_is_201(buyer: httpx.Client) -> None:
    response = buyer.post("/leads/webhook", json=VENDOR_WEBHOOK)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"webhook_id", "url", "events", "created_at"}
    assert body["webhook_id"].startswith("wh_")
    assert body["url"] == VENDOR_WEBHOOK["url"] and body["events"] == VENDOR_WEBHOOK["events"]
    assert "secret" not in body and VENDOR_WEBHOOK["secret"] not in response.text


@pytest.mark.parametrize("url", ["http://evil.example/hooks", "ftp://your-crm.com/hooks", "not a url"])
def test_register_webhook__non_https_url_is_invalid_request_on_url(buyer: httpx.Client, url: str) -> None:
    response = buyer.post("/leads/webhook", json={**VENDOR_WEBHOOK, "url": url})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_request" and body.get("field") == "url"


def test_register_webhook__missing_secret_is_invalid_request(buyer: httpx.Client) -> None:
    response = buyer.post("/leads/webhook", json={"url": VENDOR_WEBHOOK["url"], "events": ["lead.new"]})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


# --- account statistics ----------------------------------------------------------------------------
@pytest.mark.parametrize("key,slug", [(SUNVOLT, "sunvolt-solar"), (CAPECOVER, "cape-cover")])
def test_account_stats__consistent_with_leads_and_fixtures(shared: str, key: str, slug: str) -> None:
    tenant = next(t for t in FIXTURES["tenants"] if t["slug"] == slug)
    with api(shared, key) as client:
        stats = client.get("/account/stats").json()
        total = client.get("/leads", params={"limit": 1}).json()["total"]
    assert stats["leads_received"] == total == tenant["records"]["leads"]
    assert 0 <= stats["leads_converted"] <= stats["leads_received"]
    assert stats["conversion_rate"] == f"{100 * stats['leads_converted'] / stats['leads_received']:.1f}%"
    assert stats["active_plan"] == tenant["plan"]
    assert stats["quota_this_month"] == tenant["quota_this_month"]
    assert 0 <= stats["leads_this_month"] <= stats["leads_received"]


# --- leads over sandbox time -----------------------------------------------------------------------
def register_receiver(server: str, url: str, secret: str) -> dict:
    with api(server) as client:
        response = client.post("/leads/webhook", json={"url": url, "secret": secret, "events": ["lead.new"]})
    assert response.status_code == 201, response.text
    return response.json()


def check_delivery(headers: dict[str, str], raw: bytes, secret: str) -> dict:
    assert headers["x-leaditio-signature"] == signature(secret, raw)
    payload = json.loads(raw)
    assert set(payload) == {"event", "timestamp", "lead", "contact"}
    assert payload["event"] == "lead.new"
    assert set(payload["contact"]) == {"phone", "email"}
    assert payload["contact"]["phone"].startswith("+27")
    assert payload["lead"]["vertical"] == "solar"  # sunvolt-solar buys solar only
    return payload


def test_three_hours_of_clock_deliver_three_signed_leads(server: str, control: httpx.Client, recorder: Recorder) -> None:
    # Freeze on the 2nd of next month, 00:00 UTC, so the 3 hours stay inside one calendar month.
    now = parse_iso(control.get("/clock").json()["data"]["now"])
    next_month = (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(day=1)
    frozen_at = next_month + timedelta(days=1)
    assert control.post("/clock/freeze", json={"at": utc_iso(frozen_at)}).status_code == 200
    secret = "wh_secret_sunvolt_test_0001"
    register_receiver(server, recorder.url, secret)  # after the jump: only the next 3 hours are sent here
    with api(server) as client:
        before = client.get("/account/stats").json()
        renews = (frozen_at.replace(day=1) + timedelta(days=32)).replace(day=1)  # the 1st of the month after
        assert parse_iso(before["plan_renews_at"]) == renews
        advanced = control.post("/clock/advance", json={"seconds": 3 * 3600})
        assert advanced.status_code == 200
        stats = client.get("/account/stats").json()
        assert stats["leads_received"] == before["leads_received"] + 3
        assert stats["leads_this_month"] == before["leads_this_month"] + 3
        assert client.get("/leads", params={"limit": 1}).json()["total"] == stats["leads_received"]
        assert stats["conversion_rate"] == f"{100 * stats['leads_converted'] / stats['leads_received']:.1f}%"
        assert [lead["delivered_at"][:10] for lead in client.get("/leads", params={"limit": 3}).json()["leads"]] == [
            frozen_at.date().isoformat()] * 3

        deliveries = recorder.wait(3)
        assert len(deliveries) == 3
        newest = {lead["id"] for lead in client.get("/leads", params={"limit": 3}).json()["leads"]}
        delivered = set()
        for headers, raw in deliveries:
            payload = check_delivery(headers, raw, secret)
            delivered.add(payload["lead"]["id"])
            detail = client.get(f"/leads/{payload['lead']['id']}").json()
            assert payload["contact"] == {"phone": detail["phone"], "email": detail["email"]}
            assert payload["lead"]["score"] == detail["score"]
        assert delivered == newest


def test_triggered_lead_new_is_delivered_at_once(server: str, control: httpx.Client, recorder: Recorder) -> None:
    secret = "wh_secret_sunvolt_test_0002"
    register_receiver(server, recorder.url, secret)
    response = control.post("/events", json={"api": "leaditio", "tenant": "sunvolt-solar", "type": "lead.new"})
    assert response.status_code == 201, response.text
    [(headers, raw)] = recorder.wait(1)
    payload = check_delivery(headers, raw, secret)
    with api(server) as client:
        assert client.get("/leads", params={"limit": 1}).json()["leads"][0]["id"] == payload["lead"]["id"]
        assert client.get("/account/stats").json()["leads_received"] == SUNVOLT_LEADS + 1


def test_matching_stops_at_the_monthly_quota_and_resumes_next_month(server: str, control: httpx.Client) -> None:
    now = parse_iso(control.get("/clock").json()["data"]["now"])
    next_month = (now.replace(day=1, hour=0, minute=0, second=0, microsecond=0) + timedelta(days=32)).replace(day=1)
    control.post("/clock/freeze", json={"at": utc_iso(next_month + timedelta(days=1))})
    quota = next(t for t in FIXTURES["tenants"] if t["slug"] == "sunvolt-solar")["quota_this_month"]
    with api(server) as client:
        for _ in range(8):  # one lead an hour, at most a day's worth per jump: 8 days > 150 leads
            control.post("/clock/advance", json={"seconds": 86400})
        stats = client.get("/account/stats").json()
        assert stats["leads_this_month"] == quota
        control.post("/clock/advance", json={"seconds": 86400})
        assert client.get("/account/stats").json()["leads_received"] == stats["leads_received"]
        control.post("/clock/advance", json={"seconds": 30 * 86400})  # into the following month
        resumed = client.get("/account/stats").json()
        assert 0 < resumed["leads_this_month"] < quota
        assert resumed["leads_received"] == stats["leads_received"] + resumed["leads_this_month"]


def test_documented_on_demand_delivery_works(server: str, control: httpx.Client) -> None:
    """The spec sends users to POST /_sandbox/events with type lead.new for on-demand delivery."""
    from sandbox.spec import load_spec

    assert "`POST /_sandbox/events` with `type: lead.new`" in load_spec("leaditio.yaml")["info"]["description"]
    before = httpx.get(f"{server}/leaditio/api/v1/account/stats", headers={"Authorization": "Bearer ldt_test_sunvolt_pro_9f31c0a7"}).json()
    response = control.post("/events", json={"api": "leaditio", "tenant": "sunvolt-solar", "type": "lead.new"})
    assert response.status_code == 201, response.text
    after = httpx.get(f"{server}/leaditio/api/v1/account/stats", headers={"Authorization": "Bearer ldt_test_sunvolt_pro_9f31c0a7"}).json()
    assert after["leads_received"] == before["leads_received"] + 1


def test_triggered_lead_updated_carries_a_recalculated_score(server: str, control: httpx.Client,
                                                            recorder: Recorder) -> None:
    """The page's `lead.updated` example is "score recalculated": the event's lead differs from before."""
    secret = "wh_secret_sunvolt_test_0003"
    with api(server) as client:
        response = client.post("/leads/webhook", json={"url": recorder.url, "secret": secret,
                                                       "events": ["lead.updated"]})
        assert response.status_code == 201, response.text
        newest = client.get("/leads", params={"limit": 1}).json()["leads"][0]
        before = client.get(f"/leads/{newest['id']}").json()
        scores = [before["score"]]
        for count in (1, 2):  # twice: the intent part goes to its maximum, then back to zero (or the reverse)
            triggered = control.post("/events", json={"api": "leaditio", "tenant": "sunvolt-solar",
                                                      "type": "lead.updated"})
            assert triggered.status_code == 201, triggered.text
            headers, raw = recorder.wait(count)[-1]
            assert headers["x-leaditio-signature"] == signature(secret, raw)
            payload = json.loads(raw)
            assert payload["event"] == "lead.updated" and payload["lead"]["id"] == before["id"]
            after = client.get(f"/leads/{before['id']}").json()
            assert payload["lead"]["score"] == after["score"] != scores[-1]
            assert payload["lead"]["score_tier"] == after["score_tier"]
            assert after["score"] == sum(after["score_breakdown"].values())
            scores.append(after["score"])


@pytest.mark.parametrize(("key", "limit"), [(SUNVOLT, "60"), (CAPECOVER, "300")], ids=["pro", "enterprise"])
def test_rate_limit_follows_the_plan(key: str, limit: str) -> None:
    """"Keys … inherit your plan's … rate limits": pro 60 (the page's header example), enterprise 300."""
    with running_sandbox(Config(db="memory")) as origin, api(origin, key) as client:
        response = client.get("/account/stats")
        assert response.status_code == 200, response.text
        assert response.headers["x-ratelimit-limit"] == limit
        assert int(response.headers["x-ratelimit-remaining"]) == int(limit) - 1
