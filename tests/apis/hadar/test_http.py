"""Hadar API v1 over real HTTP: a uvicorn server on 127.0.0.1 per test (see tests/conftest.py)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

import httpx
import pytest
from conftest import (
    AISHA,
    MARINA_ADMIN,
    MARINA_READONLY,
    MARINA_SEEDED_LEADS,
    OMAR,
    PALM_ADMIN,
    PALM_SEEDED_LEADS,
    bearer,
)

from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.core.clock import parse_iso, utc_iso
from sandbox.core.keys import hash_key


def assert_error(response: httpx.Response, status: int, code: str, message_part: str = "") -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["data"] is None
    error = body["error"]
    assert error["code"] == code, body
    assert message_part.lower() in error["message"].lower(), error["message"]
    assert error["trace_id"]
    assert response.headers["X-Trace-Id"] == error["trace_id"]
    return error


def walk(client: httpx.Client, limit: int, path: str = "/leads", params: dict | None = None) -> list[dict]:
    items: list[dict] = []
    cursor = None
    while True:
        query = {"limit": limit, **(params or {})}
        if cursor:
            query["cursor"] = cursor
        response = client.get(path, params=query)
        assert response.status_code == 200, response.text
        data = response.json()["data"]
        assert len(data["items"]) <= limit
        assert data["pagination"]["limit"] == limit
        items += data["items"]
        cursor = data["pagination"]["next_cursor"]
        assert data["pagination"]["has_more"] is (cursor is not None)
        if cursor is None:
            return items


def create_lead(client: httpx.Client, **overrides) -> dict:
    body = {"name": "Test Lead", "phone": "+971500000001", **overrides}
    response = client.post("/leads", json=body)
    assert response.status_code == 201, response.text
    return response.json()["data"]


# --- errors: envelope, trace id, rate-limit headers -------------------------------------------------
def test_validation_error__limit_over_100_names_field_limit(client):
    error = assert_error(client.get("/leads", params={"limit": 101}), 400, "validation_error")
    assert error["field"] == "limit"


def test_validation_error__missing_phone_and_email(client):
    response = client.post("/leads", json={"name": "No Contact"})
    assert_error(response, 400, "validation_error")


def test_validation_error__phone_not_e164_names_lead_phone(client):
    response = client.post("/leads", json={"name": "Bad Phone", "phone": "0501234567"})
    error = assert_error(response, 400, "validation_error")
    assert error["field"] == "lead.phone"


def test_validation_error__bad_email_names_lead_email(client):
    response = client.post("/leads", json={"name": "Bad Mail", "email": "not-an-email"})
    error = assert_error(response, 400, "validation_error")
    assert error["field"] == "lead.email"


@pytest.mark.parametrize("name", ["\x1c", " \x1f\x1e ", "\x1d\t"])
def test_validation_error__name_of_only_separators_is_refused_not_stored_blank(client, name):
    """U+001C-U+001F pass the spec's `\\S` (not Unicode whitespace) but Python's strip() removes them."""
    error = assert_error(client.post("/leads", json={"name": name, "phone": "+971500000002"}), 400, "validation_error")
    assert error["field"] == "lead.name"
    lead = create_lead(client)
    error = assert_error(client.patch(f"/leads/{lead['id']}", json={"name": name}), 400, "validation_error")
    assert error["field"] == "lead.name"
    assert client.get(f"/leads/{lead['id']}").json()["data"]["name"] == lead["name"]


def test_validation_error__garbage_cursor_names_field_cursor(client):
    error = assert_error(
        client.get("/leads", params={"cursor": "garbage"}), 400, "validation_error", "cursor"
    )
    assert error["field"] == "cursor"


def test_validation_error__idempotency_key_over_255_chars(client):
    response = client.post("/leads", json=AISHA, headers={"Idempotency-Key": "k" * 256})
    error = assert_error(response, 400, "validation_error", "Idempotency-Key")
    assert error["field"] == "Idempotency-Key"


def test_trace_id__header_equals_body_and_differs_per_request(client):
    first = assert_error(client.get("/leads/lead_nope"), 404, "not_found")
    second = assert_error(client.get("/leads/lead_nope"), 404, "not_found")
    assert first["trace_id"] != second["trace_id"]


def test_trace_id__present_on_success(client):
    response = client.get("/leads", params={"limit": 1})
    assert response.status_code == 200
    assert response.headers["X-Trace-Id"]


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [("/leads", {"limit": 0}, 400), ("/leads/lead_missing", {}, 404), ("/no-such-route", {}, 404)],
)
def test_rate_limit_headers__present_on_errors(client, path, params, status):
    response = client.get(path, params=params)
    assert response.status_code == status
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        assert response.headers[name].isdigit(), name


def test_rate_limit_headers__present_on_success(client):
    response = client.get("/leads", params={"limit": 1})
    assert response.status_code == 200
    assert int(response.headers["X-RateLimit-Limit"]) == 10**9


def test_not_found__unknown_lead(client):
    assert_error(client.get("/leads/lead_01HXZ3N8Q4T5V6W7X8Y9Z0ABCD"), 404, "not_found", "no lead")


def test_not_found__unknown_route(client):
    assert_error(client.get("/nothing-here"), 404, "not_found", "route")


def test_method_not_allowed__allow_header_lists_get_and_post(client):
    response = client.delete("/leads")
    assert_error(response, 405, "method_not_allowed", "not allowed")
    allowed = {m.strip() for m in response.headers["Allow"].split(",")}
    assert {"GET", "POST"} <= allowed
    assert "DELETE" not in allowed


def test_payload_too_large__body_over_one_mib(client):
    body = b'{"name": "Big", "phone": "+971500000001", "notes": "' + b"x" * (1024 * 1024) + b'"}'
    response = client.post("/leads", content=body, headers={"Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large", "1 MiB")
    assert response.headers["X-RateLimit-Limit"].isdigit()


def test_unsupported_media_type__text_plain(client):
    response = client.post("/leads", content=b"name=x", headers={"Content-Type": "text/plain"})
    assert_error(response, 415, "unsupported_media_type")


# --- auth ---------------------------------------------------------------------------------------
def test_auth__missing_header_is_unauthorized(server):
    response = httpx.get(server + "/hadar/v1/leads")
    assert_error(response, 401, "unauthorized", "missing api key")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_auth__basic_scheme_is_unauthorized(server):
    response = httpx.get(server + "/hadar/v1/leads", headers={"Authorization": "Basic xyz"})
    assert_error(response, 401, "unauthorized", "malformed")


def test_auth__bearer_not_shaped_like_a_key_is_unauthorized(server):
    response = httpx.get(server + "/hadar/v1/leads", headers=bearer("nope"))
    assert_error(response, 401, "unauthorized", "malformed")


def test_auth__live_key_is_invalid_api_key(server):
    response = httpx.get(server + "/hadar/v1/leads", headers=bearer("hdr_live_marina_growth_admin_4f9c2a7b"))
    assert_error(response, 401, "invalid_api_key", "test keys")


def test_auth__short_test_key_says_what_is_wrong_and_short_live_key_is_refused_as_live(server):
    response = httpx.get(server + "/hadar/v1/leads", headers=bearer("hdr_test_typo"))
    assert_error(response, 401, "unauthorized", "expected hdr_test_ followed by 8 to 128 letters, digits or underscores, not 4")
    response = httpx.get(server + "/hadar/v1/leads", headers=bearer("hdr_live_abc123"))
    assert_error(response, 401, "invalid_api_key", "accepts test keys (hdr_test_…) only")


def test_auth__unknown_test_key_is_invalid_api_key(server):
    response = httpx.get(server + "/hadar/v1/leads", headers=bearer("hdr_test_unknown_0000000000"))
    assert_error(response, 401, "invalid_api_key", "unknown")


def test_auth__revoked_key_is_invalid_api_key(server, runtime):
    assert httpx.get(server + "/hadar/v1/leads", headers=bearer(PALM_ADMIN)).status_code == 200
    assert runtime.store.revoke_key(hash_key(PALM_ADMIN), "2026-01-01T00:00:00.000Z")
    response = httpx.get(server + "/hadar/v1/leads", headers=bearer(PALM_ADMIN))
    assert_error(response, 401, "invalid_api_key", "revoked")


def test_auth__read_only_key_can_list(server):
    response = httpx.get(server + "/hadar/v1/leads", headers=bearer(MARINA_READONLY))
    assert response.status_code == 200


def test_auth__read_only_key_cannot_post(server, runtime):
    response = httpx.post(server + "/hadar/v1/leads", json=AISHA, headers=bearer(MARINA_READONLY))
    assert_error(response, 403, "forbidden", "read-only")
    assert runtime.store.collection("hadar", "marina-homes", "leads").count() == MARINA_SEEDED_LEADS


def test_auth__read_only_key_cannot_patch(server, runtime):
    lead_id = runtime.store.collection("hadar", "marina-homes", "leads").all()[0]["id"]
    response = httpx.patch(
        f"{server}/hadar/v1/leads/{lead_id}", json={"status": "won"}, headers=bearer(MARINA_READONLY)
    )
    assert_error(response, 403, "forbidden")


# --- tenant isolation -----------------------------------------------------------------------------
def test_isolation__other_tenant_cannot_get_lead(client, server):
    lead = create_lead(client)
    response = httpx.get(f"{server}/hadar/v1/leads/{lead['id']}", headers=bearer(PALM_ADMIN))
    assert_error(response, 404, "not_found")
    assert client.get(f"/leads/{lead['id']}").status_code == 200


def test_isolation__other_tenant_list_never_contains_lead(client, server):
    lead = create_lead(client)
    with httpx.Client(base_url=server + "/hadar/v1", headers=bearer(PALM_ADMIN)) as palm:
        items = walk(palm, 100)
    ids = {item["id"] for item in items}
    assert len(items) == PALM_SEEDED_LEADS
    assert lead["id"] not in ids


def test_isolation__other_tenant_cursor_is_refused(client, server):
    cursor = client.get("/leads", params={"limit": 5}).json()["data"]["pagination"]["next_cursor"]
    response = httpx.get(f"{server}/hadar/v1/leads", params={"cursor": cursor}, headers=bearer(PALM_ADMIN))
    error = assert_error(response, 400, "validation_error")
    assert error["field"] == "cursor"


# --- pagination -----------------------------------------------------------------------------------
def test_list__default_limit_is_25_and_newest_first(client):
    data = client.get("/leads").json()["data"]
    assert len(data["items"]) == 25
    assert data["pagination"]["limit"] == 25
    stamps = [item["created_at"] for item in data["items"]]
    assert stamps == sorted(stamps, reverse=True)


@pytest.mark.parametrize("limit", [100, 7])
def test_cursor_walk__visits_every_lead_once(client, limit):
    created = [create_lead(client, name=f"Walk {i}")["id"] for i in range(3)]
    items = walk(client, limit)
    ids = [item["id"] for item in items]
    assert len(ids) == len(set(ids))
    assert len(ids) == MARINA_SEEDED_LEADS + 3
    assert ids[:3] == list(reversed(created))


def test_cursor_walk__stable_when_leads_are_created_mid_walk(client):
    originals = {item["id"] for item in walk(client, 100)}
    seen: list[str] = []
    cursor = None
    for _ in range(2):
        params = {"limit": 20, **({"cursor": cursor} if cursor else {})}
        data = client.get("/leads", params=params).json()["data"]
        seen += [item["id"] for item in data["items"]]
        cursor = data["pagination"]["next_cursor"]
    new = {create_lead(client, name=f"Mid {i}")["id"] for i in range(5)}
    while cursor:
        data = client.get("/leads", params={"limit": 20, "cursor": cursor}).json()["data"]
        seen += [item["id"] for item in data["items"]]
        cursor = data["pagination"]["next_cursor"]
    assert len(seen) == len(set(seen))
    assert set(seen) == originals
    assert not (set(seen) & new)


# --- idempotency ----------------------------------------------------------------------------------
def test_create_lead__replayed_key_returns_original(client, runtime):
    headers = {"Idempotency-Key": "replay-1"}
    first = client.post("/leads", json=AISHA, headers=headers)
    second = client.post("/leads", json=AISHA, headers=headers)
    assert first.status_code == second.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert second.headers["Location"] == first.headers["Location"]
    assert runtime.store.collection("hadar", "marina-homes", "leads").count() == MARINA_SEEDED_LEADS + 1


def test_create_lead__same_key_different_body_is_conflict(client, runtime):
    headers = {"Idempotency-Key": "conflict-1"}
    assert client.post("/leads", json=AISHA, headers=headers).status_code == 201
    error = assert_error(client.post("/leads", json=OMAR, headers=headers), 409, "conflict", "different")
    assert error["field"] == "Idempotency-Key"
    assert runtime.store.collection("hadar", "marina-homes", "leads").count() == MARINA_SEEDED_LEADS + 1


def test_create_lead__same_key_other_tenant_is_independent(client, server):
    headers = {"Idempotency-Key": "shared-key"}
    mine = client.post("/leads", json=AISHA, headers=headers)
    theirs = httpx.post(f"{server}/hadar/v1/leads", json=AISHA, headers={**headers, **bearer(PALM_ADMIN)})
    assert mine.status_code == theirs.status_code == 201
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json()["data"]["id"] != theirs.json()["data"]["id"]


def test_create_lead__concurrent_same_key_creates_one_lead(client, server, runtime):
    body = {**AISHA, "name": "Concurrent Buyer", "email": "concurrent@example.com"}

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=server + "/hadar/v1", headers=bearer(MARINA_ADMIN), timeout=60) as c:
            return c.post("/leads", json=body, headers={"Idempotency-Key": "race-1"})

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(post, range(8)))

    assert [r.status_code for r in responses] == [201] * 8
    ids = {r.json()["data"]["id"] for r in responses}
    assert len(ids) == 1
    assert sum(1 for r in responses if "Idempotent-Replayed" not in r.headers) == 1
    leads = runtime.store.collection("hadar", "marina-homes", "leads")
    assert leads.count() == MARINA_SEEDED_LEADS + 1
    matching = [item for item in walk(client, 100) if item["email"] == "concurrent@example.com"]
    assert [item["id"] for item in matching] == list(ids)


# --- rate limiting ------------------------------------------------------------------------------
def test_rate_limit__fourth_request_is_429_with_retry_after():
    with (
        running_sandbox(Config(db="memory", plans={"growth": 3})) as origin,
        httpx.Client(base_url=origin + "/hadar/v1", headers=bearer(MARINA_ADMIN)) as c,
    ):
        remaining = []
        for _ in range(3):
            response = c.get("/leads", params={"limit": 1})
            assert response.status_code == 200
            assert response.headers["X-RateLimit-Limit"] == "3"
            remaining.append(response.headers["X-RateLimit-Remaining"])
        limited = c.get("/leads", params={"limit": 1})
        # a key on another plan has its own budget
        other = c.get("/leads", params={"limit": 1}, headers=bearer(PALM_ADMIN))
    assert remaining == ["2", "1", "0"]
    assert_error(limited, 429, "rate_limited", "rate limit")
    assert limited.headers["Retry-After"].isdigit()
    # the reset is rounded up to whole seconds, so up to 61 s on a 60 s window
    assert 1 <= int(limited.headers["Retry-After"]) <= 61
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert other.status_code == 200


# --- persistence ----------------------------------------------------------------------------------
def test_persistence__lead_survives_restart_on_same_sqlite_file(tmp_path):
    config = Config(db=str(tmp_path / "s.db"), plans={"*": 10**9})
    first_app = create_app(config)
    with running_sandbox(config, app=first_app) as origin:
        created = httpx.post(origin + "/hadar/v1/leads", json=AISHA, headers=bearer(MARINA_ADMIN))
        assert created.status_code == 201
    runtime_of(first_app).store.close()

    second_app = create_app(config)
    try:
        with running_sandbox(config, app=second_app) as origin:
            lead_id = created.json()["data"]["id"]
            with httpx.Client(base_url=origin + "/hadar/v1", headers=bearer(MARINA_ADMIN)) as c:
                again = c.get(f"/leads/{lead_id}")
                total = len(walk(c, 100))
    finally:
        runtime_of(second_app).store.close()
    assert again.status_code == 200
    assert again.json() == created.json()
    assert total == MARINA_SEEDED_LEADS + 1  # not re-seeded on restart


# --- mounts and documentation -------------------------------------------------------------------
def test_alias_mount__api_v1_serves_the_same_data(client, server):
    lead = create_lead(client)
    response = httpx.get(f"{server}/hadar/api/v1/leads/{lead['id']}", headers=bearer(MARINA_ADMIN))
    assert response.status_code == 200
    assert response.json()["data"] == lead
    first_page = httpx.get(f"{server}/hadar/api/v1/leads", headers=bearer(MARINA_ADMIN)).json()["data"]
    assert first_page["items"][0]["id"] == lead["id"]


def test_solo_mount__v1_and_api_v1_without_prefix():
    config = Config(db="memory", plans={"*": 10**9}, apis=("hadar",))
    with running_sandbox(config) as origin:
        a = httpx.get(origin + "/v1/leads", params={"limit": 3}, headers=bearer(MARINA_ADMIN))
        b = httpx.get(origin + "/api/v1/leads", params={"limit": 3}, headers=bearer(MARINA_ADMIN))
        prefixed = httpx.get(origin + "/hadar/v1/leads", headers=bearer(MARINA_ADMIN))
        unversioned = httpx.get(origin + "/api/leads", headers=bearer(MARINA_ADMIN))
    assert a.status_code == b.status_code == 200
    assert a.json()["data"]["items"] == b.json()["data"]["items"]
    assert prefixed.status_code == 404
    assert_dashboard_only(unversioned)


def assert_dashboard_only(response: httpx.Response) -> None:
    assert response.status_code == 404, response.text
    body = response.json()
    assert set(body) == {"data", "error"} and body["data"] is None
    assert body["error"]["code"] == "not_found"
    assert "dashboard only" in body["error"]["message"]
    assert body["error"]["trace_id"] == response.headers["x-trace-id"]
    assert "x-ratelimit-limit" in response.headers


@pytest.mark.parametrize(("method", "path"), [("GET", "/hadar/api/leads"), ("POST", "/hadar/api/leads"),
                                             ("GET", "/hadar/api"), ("DELETE", "/hadar/api/webhooks/x")])
def test_unversioned_api_alias_is_a_404_in_the_envelope(server, method, path):
    """The page: "The unversioned alias /api/* exists for the dashboard only — do not rely on it"."""
    assert_dashboard_only(httpx.request(method, server + path, headers=bearer(MARINA_ADMIN), json={}))


def test_openapi_json__is_3_1(server):
    response = httpx.get(server + "/hadar/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"] == "3.1.0"
    assert "/leads" in spec["paths"]


def test_swagger_ui__page_and_static_bundle(server):
    page = httpx.get(server + "/hadar/developers/api-docs/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "swagger-ui" in page.text
    assert "/hadar/v1/openapi.json" in page.text
    bundle = httpx.get(server + "/hadar/developers/api-docs/static/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert "javascript" in bundle.headers["content-type"]
    assert len(bundle.content) > 100_000
    css = httpx.get(server + "/hadar/developers/api-docs/static/swagger-ui.css")
    assert css.status_code == 200


def test_swagger_ui__no_trailing_slash_redirects(server):
    response = httpx.get(server + "/hadar/developers/api-docs")
    assert response.status_code == 308
    assert response.headers["location"].endswith("/hadar/developers/api-docs/")


# --- vendor page examples -------------------------------------------------------------------------
@pytest.mark.parametrize("body", [AISHA, OMAR], ids=["aisha", "omar"])
def test_vendor_example__create_lead(client, body):
    response = client.post("/leads", json=body)
    assert response.status_code == 201, response.text
    lead = response.json()["data"]
    assert lead["id"].startswith("lead_")
    assert 0 <= lead["score"] <= 100
    assert lead["status"] == "new"
    assert lead["name"] == body["name"]
    assert response.headers["Location"] == f"/hadar/v1/leads/{lead['id']}"


def test_vendor_example__list_bayut_leads_scoring_70_plus(client):
    response = client.get("/leads", params={"source": "bayut", "score_min": 70, "limit": 50})
    assert response.status_code == 200
    items = response.json()["data"]["items"]
    assert items
    assert all(item["source"] == "bayut" and item["score"] >= 70 for item in items)


# --- lead behaviour -----------------------------------------------------------------------------
def test_create_lead__source_is_normalised(client):
    assert create_lead(client, source="Property Finder")["source"] == "property_finder"
    assert create_lead(client, source="bayut.com")["source"] == "bayut"
    assert create_lead(client)["source"] == "api"


def test_create_lead__score_is_deterministic(client):
    a = create_lead(client, **{k: v for k, v in AISHA.items() if k != "name"}, name="Aisha Khan")
    b = create_lead(client, **{k: v for k, v in AISHA.items() if k != "name"}, name="Aisha Khan")
    assert a["id"] != b["id"]
    assert a["score"] == b["score"]


def test_list_leads__source_filter_normalises_query(client):
    items = walk(client, 100, params={"source": "Bayut"})
    assert items
    assert all(item["source"] == "bayut" for item in items)
    everything = walk(client, 100)
    assert len(items) == sum(1 for item in everything if item["source"] == "bayut")


def test_list_leads__score_min_filter(client):
    items = walk(client, 100, params={"score_min": 80})
    everything = walk(client, 100)
    assert items
    assert all(item["score"] >= 80 for item in items)
    assert len(items) == sum(1 for item in everything if item["score"] >= 80)


def test_list_leads__status_filter(client):
    items = walk(client, 100, params={"status": "qualified"})
    everything = walk(client, 100)
    assert items
    assert {item["status"] for item in items} == {"qualified"}
    assert len(items) == sum(1 for item in everything if item["status"] == "qualified")


def _middle_second(client) -> datetime:
    """A whole second in the middle of the seeded leads' times (they are anchored on the sandbox's now)."""
    everything = sorted(item["created_at"] for item in walk(client, 100))
    return parse_iso(everything[len(everything) // 2]).replace(microsecond=0)


def test_list_leads__created_after_filter(client):
    middle = _middle_second(client)
    after, stored = middle.strftime("%Y-%m-%dT%H:%M:%SZ"), utc_iso(middle)
    items = walk(client, 100, params={"created_after": after})
    everything = walk(client, 100)
    assert items
    assert all(item["created_at"] > stored for item in items)
    assert len(items) == sum(1 for item in everything if item["created_at"] > stored)
    assert len(items) < len(everything)


def test_list_leads__created_after_with_offset_is_normalised_to_utc(client):
    middle = _middle_second(client)
    utc = walk(client, 100, params={"created_after": middle.strftime("%Y-%m-%dT%H:%M:%SZ")})
    dubai = walk(client, 100, params={"created_after": (middle + timedelta(hours=4)).strftime("%Y-%m-%dT%H:%M:%S+04:00")})
    assert utc and [i["id"] for i in utc] == [i["id"] for i in dubai]


def test_update_lead__recomputes_score(client):
    lead = create_lead(client, name="Solo")  # phone only, no budget
    response = client.patch(f"/leads/{lead['id']}", json={"budget_aed": 12_000_000, "source": "Bayut"})
    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert updated["source"] == "bayut"
    assert updated["score"] > lead["score"]
    assert updated["updated_at"] >= lead["updated_at"]
    assert client.get(f"/leads/{lead['id']}").json()["data"] == updated


def test_update_lead__cannot_remove_both_phone_and_email(client):
    lead = create_lead(client, email="keep@example.com")
    response = client.patch(f"/leads/{lead['id']}", json={"phone": None, "email": None})
    error = assert_error(response, 400, "validation_error")
    assert error["field"] in {"lead.phone", "lead.email"}
    assert client.get(f"/leads/{lead['id']}").json()["data"] == lead


def test_update_lead__changing_contact_keeps_the_other(client):
    lead = create_lead(client)  # phone only
    response = client.patch(f"/leads/{lead['id']}", json={"email": "x@example.com"})
    assert response.status_code == 200, response.text
    updated = response.json()["data"]
    assert (updated["phone"], updated["email"]) == (lead["phone"], "x@example.com")
    assert updated["score"] == lead["score"] + 10  # email is worth 10 points


def test_update_lead__unknown_id_is_404(client):
    assert_error(client.patch("/leads/lead_nope", json={"status": "won"}), 404, "not_found")


# --- bookings -------------------------------------------------------------------------------------
def test_create_booking__unknown_lead_is_404_with_field(client):
    response = client.post("/bookings", json={"lead_id": "lead_nope", "scheduled_at": "2026-06-06T07:00:00Z"})
    error = assert_error(response, 404, "not_found", "lead")
    assert error["field"] == "booking.lead_id"


def test_create_booking__other_tenants_lead_is_404(client, server):
    palm_lead = httpx.get(f"{server}/hadar/v1/leads", params={"limit": 1}, headers=bearer(PALM_ADMIN))
    lead_id = palm_lead.json()["data"]["items"][0]["id"]
    response = client.post("/bookings", json={"lead_id": lead_id, "scheduled_at": "2026-06-06T07:00:00Z"})
    assert_error(response, 404, "not_found")


def test_cancel_booking__twice_is_200_both_times(client):
    lead = create_lead(client)
    created = client.post(
        "/bookings",
        json={"lead_id": lead["id"], "type": "viewing", "scheduled_at": "2026-06-06T11:00:00+04:00"},
    )
    assert created.status_code == 201, created.text
    booking = created.json()["data"]
    assert booking["status"] == "confirmed"
    assert booking["scheduled_at"] == "2026-06-06T07:00:00.000Z"

    first = client.post(f"/bookings/{booking['id']}/cancel", json={"reason": "Client travelling"})
    second = client.post(f"/bookings/{booking['id']}/cancel", json={"reason": "Changed mind"})
    assert first.status_code == second.status_code == 200
    assert first.json()["data"]["status"] == "cancelled"
    assert second.json()["data"] == first.json()["data"]  # the first cancellation stands
    assert first.json()["data"]["cancellation_reason"] == "Client travelling"
    assert client.get(f"/bookings/{booking['id']}").json()["data"]["status"] == "cancelled"


# --- webhooks -------------------------------------------------------------------------------------
def test_webhook_endpoint__secret_shown_only_on_create(client):
    response = client.post(
        "/webhooks", json={"url": "https://crm.example.com/hooks/hadar", "events": ["lead.created"]}
    )
    assert response.status_code == 201, response.text
    created = response.json()["data"]
    assert created["secret"].startswith("whsec_")
    assert created["secret_last4"] == created["secret"][-4:]

    fetched = client.get(f"/webhooks/{created['id']}").json()["data"]
    assert "secret" not in fetched
    assert fetched["secret_last4"] == created["secret_last4"]
    listed = client.get("/webhooks").json()["data"]["items"]
    assert listed and all("secret" not in item for item in listed)


def test_webhook_endpoint__delete_then_get_is_404(client):
    created = client.post(
        "/webhooks", json={"url": "https://crm.example.com/h", "events": ["lead.updated"]}
    ).json()["data"]
    assert client.delete(f"/webhooks/{created['id']}").json()["data"] == {
        "id": created["id"],
        "deleted": True,
    }
    assert_error(client.get(f"/webhooks/{created['id']}"), 404, "not_found")


# --- WhatsApp -------------------------------------------------------------------------------------
def test_whatsapp_message__lands_in_lead_conversation_queued(client):
    lead = create_lead(client)
    response = client.post(
        "/whatsapp/messages",
        json={
            "lead_id": lead["id"],
            "template": "viewing_confirmation_en",
            "variables": {"agent_name": "Sara", "property_name": "Marina Vista 2BR", "viewing_time": "Saturday 11:00 GST"},
        },
    )
    assert response.status_code == 201, response.text
    message = response.json()["data"]
    assert message["status"] == "queued"
    assert message["provider"] == "sandbox"
    assert message["type"] == "template"

    conversation = client.get(f"/conversations/{message['conversation_id']}")
    assert conversation.status_code == 200, conversation.text
    data = conversation.json()["data"]
    assert data["lead_id"] == lead["id"]
    assert data["channel"] == "whatsapp"
    assert message["id"] in [m["id"] for m in data["messages"]]
    stored = next(m for m in data["messages"] if m["id"] == message["id"])
    assert (stored["status"], stored["direction"], stored["template"]) == (
        "queued",
        "outbound",
        "viewing_confirmation_en",
    )


def test_whatsapp_message__second_message_reuses_conversation(client):
    lead = create_lead(client)
    body = {"lead_id": lead["id"], "template": "follow_up_en", "variables": {"agent_name": "Sara"}}
    first = client.post("/whatsapp/messages", json=body).json()["data"]
    listing = {"template": "new_listing_alert_en", "variables": {"area": "JVC", "bedrooms": "2", "price_aed": "1.2M"}}
    second = client.post("/whatsapp/messages", json={**body, **listing}).json()["data"]
    assert first["conversation_id"] == second["conversation_id"]
    conversation = client.get(f"/conversations/{first['conversation_id']}").json()["data"]
    assert [m["template"] for m in conversation["messages"]] == ["follow_up_en", "new_listing_alert_en"]
    assert conversation["message_count"] == 2


def test_whatsapp_message__unknown_lead_is_404(client):
    response = client.post("/whatsapp/messages", json={"lead_id": "lead_nope", "text": "Hi"})
    error = assert_error(response, 404, "not_found")
    assert error["field"] == "message.lead_id"


# --- chunked bodies (no Content-Length) ----------------------------------------------------------
def test_create_lead__chunked_body_is_accepted(client):
    def chunks():
        yield b'{"name": "Chunked Buyer", "phone": "+971500000001"}'

    response = client.post("/leads", content=chunks(), headers={"Content-Type": "application/json"})
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 201, response.text


def test_payload_too_large__chunked_body_over_one_mib(client):
    def chunks():
        for _ in range(12):
            yield b"x" * (100 * 1024)

    response = client.post("/leads", content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(response, 413, "payload_too_large")


def test_whatsapp_message__free_text_outside_24h_window_is_422(client):
    lead = create_lead(client)  # never wrote to us: no customer-service window is open
    response = client.post("/whatsapp/messages", json={"lead_id": lead["id"], "text": "Hello"})
    assert_error(response, 422, "outside_24h_window")
