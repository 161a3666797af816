"""HREF's per-tenant lead intake over real HTTP (uvicorn on 127.0.0.1), against the vendor page
(shared/seeds/href-lead-intake-api.txt) and openapi/href.yaml: the tenant from the Host header or the
path, X-API-Key auth in the vendor's words, the intake body, `{error, message, details?}` errors, no
idempotency, no rate limiting, the 1 MiB body limit, and the solo (`serve --api href`) layout.

Every request goes to 127.0.0.1; tenant hosts such as acme.localtest.me are only sent as the Host
header (never resolved)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.core.store import Store
from sandbox.spec import load_spec

ACME_KEY = "hcrm_acme_7Yq2Lm9Xv4Tb8Rw1"
BIGFIRM_KEY = "hcrm_bigfirm_3Kd8Pz6Qn1Hs5Gf2"
ACME_SEEDED = 12
BIGFIRM_SEEDED = 8
INTAKE = "/href/api/leads/intake"
KEY_ERROR = {"error": "invalid_api_key", "message": "API key is missing or does not match."}
LEAD_ID = re.compile(r"^lead_[0-9A-HJKMNP-TV-Z]{26}$")
LEAD_FIELDS = {"id", "tenant", "name", "email", "phone", "message", "practice_area", "preferred_contact", "consent",
               "page_url", "utm", "status", "created_at"}


def spec_example() -> dict[str, Any]:
    content = load_spec("href.yaml")["paths"]["/leads/intake"]["post"]["requestBody"]["content"]["application/json"]
    return dict(content["examples"]["divorce"]["value"])


EXAMPLE = spec_example()


# --- sandboxes -------------------------------------------------------------------------------------
class Sandbox:
    def __init__(self, origin: str, store: Store) -> None:
        self.origin = origin
        self.store = store
        self.port = int(origin.rsplit(":", 1)[1])
        self.client = httpx.Client(base_url=origin, timeout=10, trust_env=False)

    def leads(self, tenant: str = "acme") -> int:
        return self.store.collection("href", tenant, "leads").count()

    def post(self, path: str = "/href/acme/api/leads/intake", body: Any = None, *, key: str | None = ACME_KEY,
             host: str | None = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key is not None:
            headers["X-API-Key"] = key
        if host is not None:
            headers["Host"] = host
        if body is not None:
            kwargs["json"] = body
        return self.client.post(path, headers=headers, **kwargs)


@contextmanager
def sandbox(config: Config) -> Iterator[Sandbox]:
    app = create_app(config)
    try:
        with running_sandbox(config, app=app) as origin:
            box = Sandbox(origin, runtime_of(app).store)
            with box.client:
                yield box
    finally:
        runtime_of(app).store.close()


@pytest.fixture
def href() -> Iterator[Sandbox]:
    """A fresh sandbox of every API, whose store the test can count in."""
    with sandbox(Config(db="memory", validate_responses=True)) as box:
        yield box


@pytest.fixture(scope="module")
def shared() -> Iterator[Sandbox]:
    """One sandbox for the tests that create nothing (every request is refused)."""
    with sandbox(Config(db="memory", validate_responses=True)) as box:
        yield box


def assert_lead(response: httpx.Response, tenant: str = "acme") -> dict[str, Any]:
    assert response.status_code == 201, response.text
    lead = response.json()
    assert set(lead) == LEAD_FIELDS
    assert LEAD_ID.match(lead["id"]), lead["id"]
    assert lead["tenant"] == tenant and lead["status"] == "new" and lead["consent"] is True
    return lead


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"error", "message", "details"}
    return body


# --- the tenant ------------------------------------------------------------------------------------
def test_tenant_from_localtest_me_host_with_port(href: Sandbox) -> None:
    lead = assert_lead(href.post(INTAKE, EXAMPLE, host=f"acme.localtest.me:{href.port}"))
    assert href.leads("acme") == ACME_SEEDED + 1
    assert href.leads("bigfirm") == BIGFIRM_SEEDED
    stored = href.store.collection("href", "acme", "leads").get(lead["id"])
    assert stored is not None and stored["email"] == EXAMPLE["email"]


def test_tenant_from_localhost_host(href: Sandbox) -> None:
    lead = assert_lead(href.post(INTAKE, EXAMPLE, key=BIGFIRM_KEY, host="bigfirm.localhost"), "bigfirm")
    assert href.leads("bigfirm") == BIGFIRM_SEEDED + 1 and href.leads("acme") == ACME_SEEDED
    assert href.store.collection("href", "bigfirm", "leads").get(lead["id"]) is not None


def test_tenant_host_is_case_insensitive_and_port_optional(href: Sandbox) -> None:
    assert_lead(href.post(INTAKE, EXAMPLE, host="ACME.LocalTest.Me"))
    assert href.leads("acme") == ACME_SEEDED + 1


def test_tenant_from_the_vendors_production_host(href: Sandbox) -> None:
    """`Host: acme.hrefcreative.co`: a client pointing the vendor's hostname at the sandbox works."""
    assert_lead(href.post(INTAKE, EXAMPLE, host="acme.hrefcreative.co"))
    assert_lead(href.post(INTAKE, EXAMPLE, key=BIGFIRM_KEY, host="BigFirm.HrefCreative.co."), "bigfirm")
    assert (href.leads("acme"), href.leads("bigfirm")) == (ACME_SEEDED + 1, BIGFIRM_SEEDED + 1)
    assert_error(href.post(INTAKE, EXAMPLE, host="nosuchfirm.hrefcreative.co"), 404, "tenant_not_found")
    assert_error(href.post(INTAKE, EXAMPLE, host="hrefcreative.co"), 404, "tenant_not_found")
    assert href.post(INTAKE, EXAMPLE, key=BIGFIRM_KEY, host="acme.hrefcreative.co").json() == KEY_ERROR


def test_tenant_from_path(href: Sandbox) -> None:
    assert_lead(href.post("/href/acme/api/leads/intake", EXAMPLE))
    assert_lead(href.post("/href/bigfirm/api/leads/intake", EXAMPLE, key=BIGFIRM_KEY), "bigfirm")
    assert (href.leads("acme"), href.leads("bigfirm")) == (ACME_SEEDED + 1, BIGFIRM_SEEDED + 1)


@pytest.mark.parametrize(
    ("path", "host"),
    [
        (INTAKE, "nosuchfirm.localtest.me"),
        (INTAKE, "nosuchfirm.localhost:4010"),
        ("/href/nosuchfirm/api/leads/intake", None),
    ],
    ids=["localtest.me", "localhost", "path"],
)
def test_unknown_tenant_is_404_tenant_not_found(shared: Sandbox, path: str, host: str | None) -> None:
    body = assert_error(shared.post(path, EXAMPLE, host=host), 404, "tenant_not_found")
    assert set(body) == {"error", "message"}
    assert "nosuchfirm" in body["message"]


@pytest.mark.parametrize("host", ["127.0.0.1", None, "localtest.me", "a.b.localtest.me"], ids=["ip", "ip-port", "bare", "nested"])
def test_no_tenant_is_404_tenant_not_found(shared: Sandbox, host: str | None) -> None:
    body = assert_error(shared.post(INTAKE, EXAMPLE, host=host), 404, "tenant_not_found")
    assert set(body) == {"error", "message"}


def test_unknown_tenant_wins_over_a_missing_key(shared: Sandbox) -> None:
    assert_error(shared.post("/href/nosuchfirm/api/leads/intake", EXAMPLE, key=None), 404, "tenant_not_found")


# --- keys ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "key",
    [None, "", "hcrm_acme_wrongwrongwrong", "not-a-key", BIGFIRM_KEY],
    ids=["missing", "empty", "wrong", "garbage", "other-tenant"],
)
def test_bad_key_is_401_in_the_vendor_words(shared: Sandbox, key: str | None) -> None:
    for response in (
        shared.post("/href/acme/api/leads/intake", EXAMPLE, key=key),
        shared.post(INTAKE, EXAMPLE, key=key, host=f"acme.localtest.me:{shared.port}"),
    ):
        assert response.status_code == 401, response.text
        assert response.json() == KEY_ERROR


def test_keys_are_tenant_scoped_both_ways(shared: Sandbox) -> None:
    assert shared.post("/href/bigfirm/api/leads/intake", EXAMPLE, key=ACME_KEY).json() == KEY_ERROR
    assert shared.post(INTAKE, EXAMPLE, key=ACME_KEY, host="bigfirm.localhost").json() == KEY_ERROR


def test_bearer_is_not_the_header(shared: Sandbox) -> None:
    response = shared.post("/href/acme/api/leads/intake", EXAMPLE, key=None,
                           headers={"Authorization": f"Bearer {ACME_KEY}"})
    assert response.status_code == 401 and response.json() == KEY_ERROR


# --- the intake ------------------------------------------------------------------------------------
def test_intake__spec_example_is_201_with_the_lead(href: Sandbox) -> None:
    lead = assert_lead(href.post(body=EXAMPLE))
    for name in ("name", "email", "phone", "message", "practice_area", "preferred_contact", "page_url"):
        assert lead[name] == EXAMPLE[name], name
    assert lead["utm"] == {"source": "google", "medium": "cpc", "campaign": "custody-austin"}
    assert not any(name.startswith("utm_") for name in lead)
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$", lead["created_at"])
    assert href.store.collection("href", "acme", "leads").get(lead["id"]) == lead


def test_intake__minimal_body_phone_only_and_every_utm(href: Sandbox) -> None:
    body = {"name": "  Sam Lee ", "phone": "+15125550100", "consent": True,
            **{f"utm_{k}": k.upper() for k in ("source", "medium", "campaign", "term", "content")}}
    lead = assert_lead(href.post(body=body))
    assert lead["name"] == "Sam Lee"
    assert lead["email"] is None and lead["message"] is None and lead["practice_area"] is None
    assert lead["utm"] == {"source": "SOURCE", "medium": "MEDIUM", "campaign": "CAMPAIGN", "term": "TERM",
                           "content": "CONTENT"}
    no_utm = assert_lead(href.post(body={"name": "No Utm", "email": "no.utm@example.com", "consent": True}))
    assert no_utm["utm"] == {} and no_utm["phone"] is None


def _without(*names: str) -> dict[str, Any]:
    return {k: v for k, v in EXAMPLE.items() if k not in names}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_without("consent"), "consent"),
        ({**EXAMPLE, "consent": False}, "consent"),
        ({**EXAMPLE, "consent": "yes"}, "consent"),
        ({**EXAMPLE, "email": "not-an-email"}, "email"),
        (_without("email", "phone"), None),
        (_without("name"), "name"),
        ({**EXAMPLE, "name": "   "}, "name"),
        ({**EXAMPLE, "phone": "512-555-0147"}, "phone"),
        ({**EXAMPLE, "practice_area": "tax"}, "practice_area"),
        ({**EXAMPLE, "shoe_size": 42}, "shoe_size"),
    ],
    ids=["no-consent", "consent-false", "consent-string", "bad-email", "no-email-no-phone", "no-name", "blank-name",
         "bad-phone", "bad-practice-area", "unknown-field"],
)
def test_intake__invalid_body_is_400_with_details(shared: Sandbox, body: dict, field: str | None) -> None:
    before = shared.leads()
    response = shared.post(body=body)
    payload = assert_error(response, 400, "invalid_request")
    assert set(payload) == {"error", "message", "details"}
    assert payload["details"] and all(set(d) == {"field", "message"} for d in payload["details"])
    fields = [d["field"] for d in payload["details"]]
    if field is None:  # neither email nor phone: either may be named
        assert set(fields) & {"email", "phone"}, payload
    else:
        assert field in fields, payload
    assert all(isinstance(d["message"], str) and d["message"] for d in payload["details"])
    assert shared.leads() == before


@pytest.mark.parametrize(
    ("content", "content_type"),
    [(b"{not json", "application/json"), (b"[]", "application/json"), (b"", "application/json")],
    ids=["malformed", "array", "empty"],
)
def test_intake__non_object_bodies_are_400(shared: Sandbox, content: bytes, content_type: str) -> None:
    response = shared.post(content=content, headers={"Content-Type": content_type})
    assert_error(response, 400, "invalid_request")


def test_intake__no_idempotency_two_posts_two_leads(href: Sandbox) -> None:
    before = href.leads()
    first = assert_lead(href.post(body=EXAMPLE, headers={"Idempotency-Key": "same-key"}))
    second = assert_lead(href.post(body=EXAMPLE, headers={"Idempotency-Key": "same-key"}))
    assert first["id"] != second["id"]
    assert {k: v for k, v in first.items() if k not in {"id", "created_at"}} == \
        {k: v for k, v in second.items() if k not in {"id", "created_at"}}
    assert "idempotent-replayed" not in {h.lower() for h in href.post(body=EXAMPLE).headers}
    assert href.leads() == before + 3


def test_no_rate_limit_headers(href: Sandbox) -> None:
    responses = [
        href.post(body=EXAMPLE),  # 201
        href.post(body=EXAMPLE, key=None),  # 401
        href.post(body={"name": "x"}),  # 400
        href.post("/href/nosuchfirm/api/leads/intake", EXAMPLE),  # 404
        href.client.get("/href/acme/api/leads/intake", headers={"X-API-Key": ACME_KEY}),  # 405
        href.post("/href/acme/api/nothing-here", EXAMPLE),  # 404 no such route
    ]
    assert [r.status_code for r in responses][:4] == [201, 401, 400, 404]
    for response in responses:
        assert not [h for h in response.headers if h.lower().startswith("x-ratelimit") or h.lower() == "retry-after"], \
            (response.status_code, dict(response.headers))


def test_many_posts_are_never_throttled(href: Sandbox) -> None:
    before = href.leads()
    statuses = {href.post(body=EXAMPLE).status_code for _ in range(120)}  # more than any per-minute budget here
    assert statuses == {201}
    assert href.leads() == before + 120


def test_body_over_one_mib_is_413_in_href_shape(shared: Sandbox) -> None:
    before = shared.leads()
    big = {**EXAMPLE, "message": "x" * (1024 * 1024)}
    response = shared.post(body=big)
    body = assert_error(response, 413, "payload_too_large")
    assert set(body) == {"error", "message"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold for chunked bodies too
        yield b'{"name": "Chunked", "consent": true, "email": "c@example.com", "message": "'
        for _ in range(17):
            yield b"y" * 65536
        yield b'"}'

    chunked = shared.post(content=chunks(), headers={"Content-Type": "application/json"})
    assert_error(chunked, 413, "payload_too_large")
    assert shared.leads() == before


def test_wrong_method_and_content_type(shared: Sandbox) -> None:
    assert_error(shared.client.get("/href/acme/api/leads/intake", headers={"X-API-Key": ACME_KEY}), 405,
                 "method_not_allowed")
    response = shared.post(content=b"name=x&consent=true", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert_error(response, 415, "unsupported_media_type")


# --- `serve --api href`: the vendor's own paths ----------------------------------------------------
def test_solo_layout_serves_api_paths() -> None:
    with sandbox(Config(db="memory", apis=("href",), validate_responses=True)) as solo:
        assert_lead(solo.post("/api/leads/intake", EXAMPLE, host=f"acme.localtest.me:{solo.port}"))
        assert_lead(solo.post("/acme/api/leads/intake", EXAMPLE))
        assert_lead(solo.post("/api/leads/intake", EXAMPLE, key=BIGFIRM_KEY, host="bigfirm.localhost"), "bigfirm")
        # the vendor's own URL, https://acme.hrefcreative.co/api/leads/intake, with its host sent here
        assert_lead(solo.post("/api/leads/intake", EXAMPLE, host="acme.hrefcreative.co"))
        assert solo.leads("acme") == ACME_SEEDED + 3
        assert solo.leads("bigfirm") == BIGFIRM_SEEDED + 1

        assert_error(solo.post("/api/leads/intake", EXAMPLE, host="127.0.0.1"), 404, "tenant_not_found")
        assert_error(solo.post("/nosuchfirm/api/leads/intake", EXAMPLE), 404, "tenant_not_found")
        assert solo.post("/api/leads/intake", EXAMPLE, key=None, host="acme.localtest.me").json() == KEY_ERROR
        # The multi-API prefix is not there in the solo layout.
        assert solo.post("/href/acme/api/leads/intake", EXAMPLE).status_code == 404


# --- regressions of bugs found while writing these tests --------------------------------------------
def test_path_form__trailing_slash_is_the_same_route(shared: Sandbox) -> None:
    # a redirect could not carry the tenant segment: the path form ignores one trailing slash instead
    response = shared.post("/href/acme/api/leads/intake/", EXAMPLE)
    assert response.status_code == 201, response.text
    assert response.json()["tenant"] == "acme"


def test_path_form__tenant_is_case_insensitive_like_a_host(shared: Sandbox) -> None:
    response = shared.post("/href/ACME/api/leads/intake", EXAMPLE)
    assert response.status_code == 201, response.text
    assert response.json()["tenant"] == "acme"
