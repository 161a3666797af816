"""AskAd's universal webhook API over real HTTP (uvicorn on 127.0.0.1), against the vendor page
(shared/seeds/askad-webhook-api.txt) and the choices documented in openapi/askad.yaml: Bearer auth, the
`{error: {code, message, field?}}` shape, inbound/capture leads with contact de-duplication, pagination,
the stage filter, tenant isolation, rate-limit headers and signed outbound webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from conftest import Receiver, bearer, wait_for

from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox

BASE = "/askad/api/v1"
ADMIN = "ask_test_brightpath_admin_5e2a9c71"
READONLY = "ask_test_brightpath_readonly_1f8d4b60"
NIMBUS = "ask_test_nimbus_admin_a93c07e2"
BRIGHTPATH = "brightpath-marketing"
BRIGHTPATH_CONTACTS = 80
BRIGHTPATH_DEALS = 30
NIMBUS_CONTACTS = 40
RATE_HEADERS = ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset")

#: the request bodies of the vendor page
VENDOR_INBOUND = {
    "email": "jane@example.com",
    "first_name": "Jane",
    "last_name": "Smith",
    "phone": "+1234567890",
    "source": "hubspot",
    "metadata": {"deal_value": 5000},
}
VENDOR_CAPTURE = {
    "email": "john@example.com",
    "name": "John Doe",
    "source": "website",
    "page_url": "https://example.com/pricing",
}


# --- helpers ---------------------------------------------------------------------------------------
def api(origin: str, key: str | None = ADMIN) -> httpx.Client:
    return httpx.Client(base_url=origin + BASE, headers=bearer(key) if key else {}, timeout=10, trust_env=False)


@pytest.fixture
def askad(server: str) -> Iterator[httpx.Client]:
    """The admin key on a fresh sandbox (tests that create leads)."""
    with api(server) as client:
        yield client


@contextmanager
def sandbox(config: Config) -> Iterator[str]:
    app = create_app(config)
    try:
        with running_sandbox(config, app=app) as origin:
            yield origin
    finally:
        runtime_of(app).store.close()


@pytest.fixture(scope="module")
def shared() -> Iterator[str]:
    """One sandbox for the tests that change nothing (auth failures, validation errors, reads)."""
    with sandbox(Config(db="memory", plans={"*": 10**9}, validate_responses=True)) as origin:
        yield origin


@pytest.fixture
def reader(shared: str) -> Iterator[httpx.Client]:
    """The admin key on the shared sandbox: only reads and requests that must fail."""
    with api(shared) as client:
        yield client


def is_uuid(value: object) -> bool:
    try:
        return str(uuid.UUID(str(value))) == value
    except ValueError:
        return False


def all_contacts(client: httpx.Client, limit: int = 100) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    page = 1
    while True:
        response = client.get("/contacts", params={"page": page, "limit": limit})
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["data"]
        if not body["has_more"]:
            return items
        page += 1


def total_contacts(client: httpx.Client) -> int:
    return client.get("/contacts", params={"limit": 1}).json()["total"]


def contacts_with(client: httpx.Client, **match: Any) -> list[dict[str, Any]]:
    return [c for c in all_contacts(client) if all(c.get(k) == v for k, v in match.items())]


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert set(body["error"]) <= {"code", "message", "field"}
    return body["error"]


# --- authentication --------------------------------------------------------------------------------
@pytest.mark.parametrize("key", [None, "ask_test_unknown_key_00000000"], ids=["missing", "unknown"])
def test_auth__missing_or_unknown_key_is_401_unauthorized(shared: str, key: str | None) -> None:
    with api(shared, key) as client:
        error = assert_error(client.get("/contacts"), 401, "unauthorized")
        assert_error(client.post("/leads/inbound", json=VENDOR_INBOUND), 401, "unauthorized")
    assert "field" not in error


def test_auth__non_bearer_scheme_is_401(shared: str) -> None:
    with httpx.Client(base_url=shared + BASE, headers={"Authorization": f"Basic {ADMIN}"}, trust_env=False) as client:
        assert_error(client.get("/contacts"), 401, "unauthorized")


def test_auth__live_key_is_401_saying_test_keys_only(shared: str) -> None:
    with api(shared, "ask_live_0123456789abcdef") as client:
        error = assert_error(client.get("/contacts"), 401, "unauthorized")
    assert "test keys" in error["message"]


def test_auth__read_only_key_reads_but_cannot_write(shared: str) -> None:
    with api(shared, READONLY) as client:
        assert client.get("/contacts").status_code == 200
        assert client.get("/deals").status_code == 200
        assert_error(client.post("/leads/inbound", json={"email": "ro@example.com"}), 403, "forbidden")
        assert_error(client.post("/leads/capture", json={"email": "ro@example.com"}), 403, "forbidden")
        assert client.get("/contacts").json()["total"] == BRIGHTPATH_CONTACTS


# --- creating leads --------------------------------------------------------------------------------
def test_inbound__vendor_body_is_201_created_with_uuid(askad: httpx.Client) -> None:
    response = askad.post("/leads/inbound", json=VENDOR_INBOUND)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "status"}
    assert body["status"] == "created" and is_uuid(body["id"])

    [contact] = contacts_with(askad, email="jane@example.com")
    assert contact["first_name"] == "Jane" and contact["last_name"] == "Smith"
    assert contact["phone"] == "+1234567890"
    assert contact["sources"] == ["hubspot"] and contact["lead_count"] == 1
    assert contact["metadata"] == {"deal_value": 5000}
    assert contact["last_page_url"] is None


def test_capture__vendor_body_is_201_and_name_is_split(askad: httpx.Client) -> None:
    response = askad.post("/leads/capture", json=VENDOR_CAPTURE)
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "status"}
    assert body["status"] == "created" and is_uuid(body["id"])

    [contact] = contacts_with(askad, email="john@example.com")
    assert (contact["first_name"], contact["last_name"]) == ("John", "Doe")
    assert contact["sources"] == ["website"]
    assert contact["last_page_url"] == "https://example.com/pricing"


def test_every_lead_has_its_own_id(askad: httpx.Client) -> None:
    first = askad.post("/leads/inbound", json=VENDOR_INBOUND).json()["id"]
    second = askad.post("/leads/inbound", json=VENDOR_INBOUND).json()["id"]
    assert first != second


@pytest.mark.parametrize(
    "body",
    [{"first_name": "Nobody"}, {"source": "zapier", "metadata": {"a": 1}}, {}],
    ids=["name-only", "source-only", "empty"],
)
def test_inbound__neither_email_nor_phone_is_400_with_field(reader: httpx.Client, body: dict) -> None:
    before = total_contacts(reader)
    error = assert_error(reader.post("/leads/inbound", json=body), 400, "invalid_request")
    assert error.get("field") in {"email", "phone"}
    assert total_contacts(reader) == before


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({**VENDOR_INBOUND, "email": "not-an-email"}, "email"),
        ({**VENDOR_INBOUND, "phone": "555-1234"}, "phone"),
        ({**VENDOR_INBOUND, "shoe_size": 42}, None),
    ],
    ids=["bad-email", "bad-phone", "unknown-field"],
)
def test_inbound__invalid_body_is_400(reader: httpx.Client, body: dict, field: str | None) -> None:
    error = assert_error(reader.post("/leads/inbound", json=body), 400, "invalid_request")
    if field is not None:
        assert error.get("field") == field


@pytest.mark.parametrize(
    "body",
    [{"name": "No Email", "source": "website", "page_url": "https://example.com/pricing"}, {}],
    ids=["name-only", "empty"],
)
def test_capture__without_email_is_400(reader: httpx.Client, body: dict) -> None:
    before = total_contacts(reader)
    error = assert_error(reader.post("/leads/capture", json=body), 400, "invalid_request")
    assert error.get("field") == "email"
    assert total_contacts(reader) == before


# --- de-duplication --------------------------------------------------------------------------------
def test_dedupe__inbound_then_capture_same_email_other_case_is_one_contact(askad: httpx.Client) -> None:
    before = total_contacts(askad)
    inbound = {**VENDOR_INBOUND, "email": "Jane.Dedupe@Example.com"}
    assert askad.post("/leads/inbound", json=inbound).status_code == 201
    capture = {"email": "JANE.DEDUPE@EXAMPLE.COM", "name": "Janet Someoneelse", "source": "website",
               "page_url": "https://example.com/pricing"}
    assert askad.post("/leads/capture", json=capture).status_code == 201

    assert total_contacts(askad) == before + 1
    matches = [c for c in all_contacts(askad) if (c["email"] or "").lower() == "jane.dedupe@example.com"]
    assert len(matches) == 1
    [contact] = matches
    assert contact["lead_count"] == 2
    assert contact["sources"] == ["hubspot", "website"]
    assert contact["metadata"] == {"deal_value": 5000}
    assert (contact["first_name"], contact["last_name"]) == ("Jane", "Smith")  # not overwritten by capture
    assert contact["phone"] == "+1234567890"
    assert contact["last_page_url"] == "https://example.com/pricing"
    assert contact["updated_at"] >= contact["created_at"]


def test_dedupe__metadata_merges_newer_wins_and_sources_are_not_repeated(askad: httpx.Client) -> None:
    email = "merge.meta@example.com"
    askad.post("/leads/inbound", json={"email": email, "source": "hubspot", "metadata": {"a": 1, "b": 1}})
    askad.post("/leads/inbound", json={"email": email, "source": "hubspot", "metadata": {"b": 2, "c": 3}})
    [contact] = contacts_with(askad, email=email)
    assert contact["metadata"] == {"a": 1, "b": 2, "c": 3}
    assert contact["sources"] == ["hubspot"]
    assert contact["lead_count"] == 2


def test_dedupe__phone_only_contacts_are_keyed_by_phone(askad: httpx.Client) -> None:
    phone = "+15125550199"
    before = total_contacts(askad)
    assert askad.post("/leads/inbound", json={"phone": phone, "first_name": "Pat", "source": "zapier"}).status_code == 201
    assert total_contacts(askad) == before + 1
    [contact] = contacts_with(askad, phone=phone)
    assert contact["email"] is None and contact["first_name"] == "Pat" and contact["lead_count"] == 1

    second = {"phone": phone, "last_name": "Jones", "source": "typeform", "metadata": {"form": "quote"}}
    assert askad.post("/leads/inbound", json=second).status_code == 201
    assert total_contacts(askad) == before + 1
    [contact] = contacts_with(askad, phone=phone)
    assert contact["lead_count"] == 2
    assert (contact["first_name"], contact["last_name"]) == ("Pat", "Jones")  # empty field filled
    assert contact["sources"] == ["zapier", "typeform"]
    assert contact["metadata"] == {"form": "quote"}

    # Another phone is another contact.
    assert askad.post("/leads/inbound", json={"phone": "+15125550198"}).status_code == 201
    assert total_contacts(askad) == before + 2


# --- lists -----------------------------------------------------------------------------------------
def test_contacts__envelope_and_default_limit(reader: httpx.Client) -> None:
    body = reader.get("/contacts").json()
    assert set(body) == {"data", "page", "limit", "total", "has_more"}
    assert (body["page"], body["limit"], body["total"], body["has_more"]) == (1, 50, BRIGHTPATH_CONTACTS, True)
    assert len(body["data"]) == 50

    last = reader.get("/contacts", params={"page": 2}).json()
    assert (last["page"], last["limit"], last["has_more"]) == (2, 50, False)
    assert len(last["data"]) == BRIGHTPATH_CONTACTS - 50

    past = reader.get("/contacts", params={"page": 5}).json()
    assert past["data"] == [] and past["has_more"] is False and past["total"] == BRIGHTPATH_CONTACTS


def test_contacts__limit_bounds(reader: httpx.Client) -> None:
    assert reader.get("/contacts", params={"limit": 100}).json()["limit"] == 100
    error = assert_error(reader.get("/contacts", params={"limit": 101}), 400, "invalid_request")
    assert error.get("field") == "limit"
    assert_error(reader.get("/contacts", params={"limit": 0}), 400, "invalid_request")
    assert_error(reader.get("/contacts", params={"page": 0}), 400, "invalid_request")
    assert_error(reader.get("/contacts", params={"limit": "ten"}), 400, "invalid_request")


def test_contacts__walking_pages_returns_every_contact_once(reader: httpx.Client) -> None:
    ids: list[str] = []
    page = 1
    while True:
        body = reader.get("/contacts", params={"page": page, "limit": 7}).json()
        assert body["total"] == BRIGHTPATH_CONTACTS
        assert len(body["data"]) <= 7
        ids += [c["id"] for c in body["data"]]
        if not body["has_more"]:
            break
        page += 1
    assert page == -(-BRIGHTPATH_CONTACTS // 7)
    assert len(ids) == len(set(ids)) == BRIGHTPATH_CONTACTS
    assert all(is_uuid(i) for i in ids)


def test_contacts__newest_first(askad: httpx.Client) -> None:
    askad.post("/leads/inbound", json={"email": "newest@example.com"})
    assert askad.get("/contacts").json()["data"][0]["email"] == "newest@example.com"


def test_deals__stage_filter(reader: httpx.Client) -> None:
    everything = reader.get("/deals", params={"limit": 100}).json()
    assert everything["total"] == BRIGHTPATH_DEALS
    expected = sum(1 for d in everything["data"] if d["stage"] == "negotiation")

    body = reader.get("/deals", params={"stage": "negotiation", "limit": 100}).json()
    assert set(body) == {"data", "page", "limit", "total", "has_more"}
    assert body["total"] == expected == len(body["data"])
    assert all(d["stage"] == "negotiation" for d in body["data"])

    stages = {d["stage"] for d in everything["data"]}
    assert sum(reader.get("/deals", params={"stage": s}).json()["total"] for s in stages) == BRIGHTPATH_DEALS


def test_deals__unknown_stage_is_400(reader: httpx.Client) -> None:
    assert_error(reader.get("/deals", params={"stage": "won"}), 400, "invalid_request")


# --- tenants ---------------------------------------------------------------------------------------
def test_tenant_isolation(server: str) -> None:
    with api(server, ADMIN) as bright, api(server, NIMBUS) as nimbus:
        nimbus_before = all_contacts(nimbus)
        assert len(nimbus_before) == NIMBUS_CONTACTS
        bright_ids = {c["id"] for c in all_contacts(bright)}
        assert bright_ids.isdisjoint(c["id"] for c in nimbus_before)

        assert bright.post("/leads/inbound", json={"email": "only.brightpath@example.com", "phone": "+15125550111"}).status_code == 201
        assert bright.post("/leads/inbound", json={"phone": "+15125550112"}).status_code == 201

        nimbus_after = all_contacts(nimbus)
        assert nimbus_after == nimbus_before
        assert not any(c["email"] == "only.brightpath@example.com" for c in nimbus_after)
        assert not any(c["phone"] in {"+15125550111", "+15125550112"} for c in nimbus_after)
        assert len(contacts_with(bright, email="only.brightpath@example.com")) == 1

        # The same e-mail in another workspace is another contact.
        assert nimbus.post("/leads/inbound", json={"email": "only.brightpath@example.com"}).status_code == 201
        [theirs] = contacts_with(nimbus, email="only.brightpath@example.com")
        [ours] = contacts_with(bright, email="only.brightpath@example.com")
        assert theirs["id"] != ours["id"] and ours["lead_count"] == 1 and theirs["lead_count"] == 1


# --- rate limits (the vendor's own budget: a sandbox without the test plan override) ---------------
@pytest.fixture
def vendor_limits() -> Iterator[str]:
    with sandbox(Config(db="memory", validate_responses=True)) as origin:
        yield origin


def test_rate_limit_headers_on_200_and_401(vendor_limits: str) -> None:
    with api(vendor_limits) as ok, api(vendor_limits, None) as anonymous:
        for response, status in (
            (ok.get("/contacts"), 200),
            (ok.post("/leads/inbound", json={"email": "rl@example.com"}), 201),
            (anonymous.get("/contacts"), 401),
        ):
            assert response.status_code == status, response.text
            for name in RATE_HEADERS:
                assert response.headers[name].isdigit(), (status, name)
            assert response.headers["x-ratelimit-limit"] == "100"
            assert 0 <= int(response.headers["x-ratelimit-remaining"]) < 100

        first = int(ok.get("/deals").headers["x-ratelimit-remaining"])
        second = int(ok.get("/deals").headers["x-ratelimit-remaining"])
        assert second == first - 1


# --- outbound webhooks -----------------------------------------------------------------------------
EVENTS = ["lead.converted", "deal.closed", "campaign.spend_threshold"]


def register(control: httpx.Client, url: str, events: list[str] = EVENTS) -> dict[str, Any]:
    response = control.post("/webhooks", json={"api": "askad", "tenant": BRIGHTPATH, "url": url, "events": events})
    assert response.status_code == 201, response.text
    endpoint = response.json()["data"]
    assert endpoint["secret"]
    return endpoint


def trigger(control: httpx.Client, event_type: str) -> dict[str, Any]:
    response = control.post("/events", json={"api": "askad", "tenant": BRIGHTPATH, "type": event_type})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def received(receiver: Receiver, event_type: str, timeout: float = 2.0) -> list[Any]:
    def matching() -> list[Any]:
        return [r for r in receiver.wait(0, timeout) if r.headers.get("x-askad-event") == event_type]

    wait_for(matching, timeout)
    return matching()


def check_delivery(request: Any, secret: str, event_type: str) -> dict[str, Any]:
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["x-askad-signature"] == expected
    assert request.headers["x-askad-event"] == event_type
    assert request.headers["x-askad-delivery"]
    assert request.headers["content-type"].startswith("application/json")
    event = json.loads(request.body)
    assert set(event) == {"id", "type", "created_at", "data"}
    assert event["type"] == event_type and event["id"].startswith("evt_")
    assert isinstance(event["data"], dict)
    return event


def test_webhooks__all_three_events_signed_and_delivered(askad: httpx.Client, control: httpx.Client, receiver: Receiver) -> None:
    secret = register(control, receiver.url)["secret"]
    newest = askad.get("/contacts", params={"limit": 1}).json()["data"][0]

    trigger(control, "lead.converted")
    [converted] = received(receiver, "lead.converted")
    event = check_delivery(converted, secret, "lead.converted")
    assert set(event["data"]) >= {"contact", "deal"}
    assert event["data"]["contact"]["id"] == newest["id"]
    assert event["data"]["deal"]["contact_id"] == newest["id"]
    opened = askad.get("/deals", params={"limit": 100}).json()
    assert opened["total"] == BRIGHTPATH_DEALS + 1
    assert event["data"]["deal"]["id"] in {d["id"] for d in opened["data"]}

    trigger(control, "deal.closed")
    [closed] = received(receiver, "deal.closed")
    deal = check_delivery(closed, secret, "deal.closed")["data"]
    assert deal["stage"] == "closed_won" and deal["closed_at"]
    won = askad.get("/deals", params={"stage": "closed_won", "limit": 100}).json()["data"]
    [listed] = [d for d in won if d["id"] == deal["id"]]
    assert listed["stage"] == "closed_won" and listed["closed_at"] == deal["closed_at"]

    trigger(control, "campaign.spend_threshold")
    [spend] = received(receiver, "campaign.spend_threshold")
    data = check_delivery(spend, secret, "campaign.spend_threshold")["data"]
    assert data["spend"] >= data["threshold"]

    deliveries = {r.headers["x-askad-delivery"] for r in receiver.wait(3)}
    assert len(deliveries) == 3


def test_webhooks__only_subscribed_events_are_delivered(control: httpx.Client, make_receiver) -> None:
    spend_only = make_receiver()
    everything = make_receiver()
    register(control, spend_only.url, ["campaign.spend_threshold"])
    register(control, everything.url)

    trigger(control, "lead.converted")
    trigger(control, "campaign.spend_threshold")
    received(everything, "campaign.spend_threshold")
    received(everything, "lead.converted")
    received(spend_only, "campaign.spend_threshold")
    assert [r.headers["x-askad-event"] for r in spend_only.wait(1)] == ["campaign.spend_threshold"]


def test_webhooks__signature_is_per_endpoint_secret(control: httpx.Client, make_receiver) -> None:
    one, two = make_receiver(), make_receiver()
    secret_one = register(control, one.url, ["campaign.spend_threshold"])["secret"]
    secret_two = register(control, two.url, ["campaign.spend_threshold"])["secret"]
    assert secret_one != secret_two
    trigger(control, "campaign.spend_threshold")
    [a] = received(one, "campaign.spend_threshold")
    [b] = received(two, "campaign.spend_threshold")
    check_delivery(a, secret_one, "campaign.spend_threshold")
    check_delivery(b, secret_two, "campaign.spend_threshold")
    wrong = "sha256=" + hmac.new(secret_two.encode(), a.body, hashlib.sha256).hexdigest()
    assert a.headers["x-askad-signature"] != wrong


def test_webhooks__unknown_event_is_rejected(control: httpx.Client, receiver: Receiver) -> None:
    response = control.post("/webhooks", json={"api": "askad", "tenant": BRIGHTPATH, "url": receiver.url,
                                                "events": ["lead.exploded"]})
    assert response.status_code == 400
    assert control.post("/events", json={"api": "askad", "tenant": BRIGHTPATH, "type": "lead.exploded"}).status_code == 400


# --- regressions of bugs found while writing these tests --------------------------------------------
@pytest.mark.parametrize("deal_value", ["5k", {"amount": 5000}], ids=["string", "object"])
def test_bug__lead_converted_with_free_form_deal_value(askad: httpx.Client, control: httpx.Client, deal_value: Any) -> None:
    # metadata is free-form (openapi/askad.yaml): any JSON value is a valid deal_value.
    assert askad.post("/leads/inbound", json={"email": "free.form@example.com",
                                              "metadata": {"deal_value": deal_value}}).status_code == 201
    response = control.post("/events", json={"api": "askad", "tenant": BRIGHTPATH, "type": "lead.converted"})
    assert response.status_code == 201, response.text


def test_bug__negative_deal_value_makes_an_out_of_spec_deal(askad: httpx.Client, control: httpx.Client) -> None:
    assert askad.post("/leads/inbound", json={"email": "negative@example.com",
                                              "metadata": {"deal_value": -100}}).status_code == 201
    assert control.post("/events", json={"api": "askad", "tenant": BRIGHTPATH, "type": "lead.converted"}).status_code == 201
    response = askad.get("/deals", params={"limit": 100})
    assert response.status_code == 200, response.text  # 500 "response outside its spec" with validate_responses
    assert all(deal["value"] >= 0 for deal in response.json()["data"])
