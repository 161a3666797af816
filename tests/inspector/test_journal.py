"""The request journal over real HTTP (`GET /_sandbox/requests`) and its pieces: masking, truncation,
violations, filters, retention per tenant."""

from __future__ import annotations

from typing import NamedTuple

import pytest
from conftest import MARINA, MARINA_ADMIN, PALM_ADMIN, bearer

from sandbox.core import journal as J
from sandbox.core.errors import ValidationFailed
from sandbox.core.store import Store


def entries(control, **params) -> list[dict]:
    response = control.get("/requests", params=params)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_a_request_is_journaled_with_its_parts(client, control):
    created = client.post("/leads", json={"name": "Journal Lead", "phone": "+971500000042"})
    assert created.status_code == 201, created.text
    entry = entries(control, trace_id=created.headers["x-trace-id"])[0]
    assert entry["api"] == "hadar" and entry["tenant"] == MARINA
    assert (entry["method"], entry["path"], entry["status"]) == ("POST", "/hadar/v1/leads", 201)
    assert entry["id"].startswith("req_") and entry["at"].endswith("Z") and entry["duration_ms"] >= 0
    assert entry["key_last4"] == MARINA_ADMIN[-4:]
    assert entry["request"]["body"] == {"name": "Journal Lead", "phone": "+971500000042"}
    assert entry["response"]["body"]["data"]["id"] == created.json()["data"]["id"]
    assert entry["response"]["headers"]["x-trace-id"] == created.headers["x-trace-id"]
    assert entry["violations"] == []


def test_credentials_are_masked(client, control):
    response = client.get("/leads", params={"limit": 1})
    entry = entries(control, trace_id=response.headers["x-trace-id"])[0]
    assert entry["request"]["headers"]["authorization"] == "Bearer ****" + MARINA_ADMIN[-4:]
    assert MARINA_ADMIN not in str(entry)


def test_a_4xx_carries_the_violations_that_caused_it(client, control):
    response = client.post("/leads", json={"phone": 12})
    assert response.status_code == 400
    entry = entries(control, trace_id=response.headers["x-trace-id"])[0]
    assert entry["status"] == 400
    assert entry["violations"] and all(v["message"] for v in entry["violations"])


def test_unauthorized_and_unknown_paths_are_journaled(server, control):
    import httpx

    wrong = httpx.get(server + "/hadar/v1/leads", headers=bearer("hdr_test_nope_nope_nope_0000"))
    nowhere = httpx.get(server + "/nowhere")
    by_trace = {e["trace_id"]: e for e in entries(control, limit=10)}
    assert by_trace[wrong.headers["x-trace-id"]]["status"] == 401
    assert by_trace[wrong.headers["x-trace-id"]]["violations"][0]["code"]
    assert by_trace[nowhere.headers["x-trace-id"]]["api"] is None


def test_newest_first_and_filters(server, client, control):
    import httpx

    client.get("/leads/lead_nope")  # 404
    with httpx.Client(base_url=server + "/hadar/v1", headers=bearer(PALM_ADMIN)) as palm:
        palm.get("/leads", params={"limit": 1})
    everything = entries(control)
    assert [e["path"] for e in everything[:2]] == ["/hadar/v1/leads", "/hadar/v1/leads/lead_nope"]
    assert {e["tenant"] for e in entries(control, tenant=MARINA)} == {MARINA}
    assert {e["status"] for e in entries(control, status="4xx")} == {404}
    assert [e["status"] for e in entries(control, status="404")] == [404]
    assert entries(control, api="askad") == []
    assert len(entries(control, limit=1)) == 1
    assert control.get("/requests", params={"status": "4x"}).status_code == 400


def test_reading_the_journal_is_not_journaled(control):
    entries(control)
    entries(control)
    assert all(e["path"] != "/_sandbox/requests" for e in entries(control))


def test_control_plane_requests_are_journaled(control):
    control.post("/clock/advance", json={"seconds": 0})  # invalid: minimum 1
    entry = entries(control, api="sandbox")[0]
    assert (entry["path"], entry["status"], entry["tenant"]) == ("/_sandbox/clock/advance", 400, None)
    assert entry["violations"]


# --- the pieces ----------------------------------------------------------------------------------------
def test_bodies_past_the_limit_are_cut():
    body = b'{"note": "' + b"x" * (J.BODY_LIMIT * 2) + b'"}'
    view = J.body_view(body[: J.BODY_LIMIT + 1], len(body), "application/json")
    assert isinstance(view, str) and view.endswith(f"[truncated: {len(body)} bytes]")
    assert len(view) < J.BODY_LIMIT + 100


def test_secrets_in_bodies_and_queries_are_masked():
    body = b'{"key": "hdr_test_abcdefgh12345678", "signing_secret": "whsec_0123456789abcdef", "key_id": "key_1"}'
    view = J.body_view(body, len(body), "application/json")
    assert view == {"key": "****5678", "signing_secret": "****cdef", "key_id": "key_1"}
    assert J.mask_query("api_key=abcdefghijklmnop&limit=5") == "api_key=****mnop&limit=5"
    assert J.headers_view([(b"X-API-Key", b"ak_test_0123456789abcd"), (b"Accept", b"*/*")]) == {
        "x-api-key": "****abcd", "accept": "*/*",
    }


def test_violations_come_from_the_error_list_when_there_is_one():
    many = ValidationFailed("2 fields are invalid", details=[{"field": "a", "message": "x"}, {"field": "b", "message": "y"}])
    assert [v["field"] for v in J.violations_of(many)] == ["a", "b"]

    class Violation(NamedTuple):
        field: str | None
        message: str

    many.violations = [Violation("a", "x"), Violation(None, "the body is not an object")]
    assert J.violations_of(many) == [
        {"field": "a", "message": "x", "code": "validation"},
        {"message": "the body is not an object", "code": "validation"},
    ]
    one = ValidationFailed("name is required", field="name")
    assert J.violations_of(one) == [{"message": "name is required", "field": "name", "code": "validation"}]


def test_status_filter_parsing():
    assert J.status_range("4xx") == (400, 499)
    assert J.status_range("201") == (201, 201)
    assert J.status_range(None) is None
    with pytest.raises(ValueError):
        J.status_range("six")


def _captured(tenant: str, n: int) -> J.Captured:
    return J.Captured(
        started=1_700_000_000 + n, duration_ms=1.0, api="hadar", tenant=tenant, method="GET", path="/hadar/v1/leads",
        query=b"", status=200, trace_id=f"00000000-0000-0000-0000-{n:012d}", key_last4=None, request_headers=[],
        request_body=b"", request_size=0, response_headers=[], response_body=b"", response_size=0,
    )


def test_retention_is_bounded_per_tenant():
    store = Store("memory")
    journal = J.Journal(store, keep_per_tenant=20)
    for n in range(100):
        journal.record(_captured("a", n))
    journal.record(_captured("b", 1000))
    journal.flush()
    kept_a = journal.query(tenant="a", limit=500)
    assert 20 <= len(kept_a) <= 22  # pruned every tenth of the budget
    assert kept_a[0][1]["trace_id"].endswith("99")  # the newest stay
    assert len(journal.query(tenant="b")) == 1  # another tenant's entries are not touched
    store.close()


def test_listeners_get_each_flushed_batch():
    store = Store("memory")
    journal = J.Journal(store)
    seen: list[dict] = []
    journal.listeners.append(seen.extend)
    journal.record(_captured("a", 1))
    journal.record(_captured("a", 2))
    assert journal.flush() == seen and len(seen) == 2
    assert journal.flush() == []
    store.close()


def test_secret_member_names_match_in_any_case_and_other_bodies_stay_as_they_are():
    named = b'{"name": "Aisha", "Signing_SECRET": "whsec_abcdefghijklmnop", "API_KEY": "abcdefghijkl5678"}'
    assert J.body_view(named, len(named), "application/json") == {
        "name": "Aisha", "Signing_SECRET": "****mnop", "API_KEY": "****5678"
    }
    plain = b'{"name": "Aisha", "area": "Dubai Marina", "budget_aed": 1800000}'
    assert J.body_view(plain, len(plain), "application/json") == {
        "name": "Aisha", "area": "Dubai Marina", "budget_aed": 1800000
    }
