"""The landing page, the docs pages and the inspector's pages over real HTTP (no browser: markup and
guards; tests/inspector/test_browser.py drives them in Chromium)."""

from __future__ import annotations

import re

import httpx
import pytest
from conftest import MARINA, MARINA_ADMIN, bearer

from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox

APIS = ("hadar", "hadar-crm", "leaditio", "askad", "href")


def test_landing_page_links_every_api_docs_spec_keys_and_inspector(server):
    page = httpx.get(server + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for api in APIS:
        assert f'data-testid="api-{api}"' in html
    docs = re.findall(r'href="([^"]+/)">Swagger UI', html)
    specs = re.findall(r'href="([^"]+/openapi.json)"', html)
    assert len(docs) == len(APIS) + 1 and len(specs) == len(APIS) + 1  # five APIs and the control plane
    for url in docs + specs:
        assert httpx.get(server + url).status_code == 200, url
    assert MARINA_ADMIN in html and "/_sandbox/ui/" in html


def test_landing_page_counts_the_apis_it_serves(server):
    assert "Stateful sandboxes of five lead/CRM APIs," in httpx.get(server + "/").text
    with running_sandbox(Config(db="memory", apis=("hadar", "askad"))) as origin:
        assert "Stateful sandboxes of two lead/CRM APIs," in httpx.get(origin + "/").text
    with running_sandbox(Config(db="memory", apis=("href",))) as origin:
        assert "Stateful sandboxes of one lead/CRM API," in httpx.get(origin + "/").text


@pytest.mark.parametrize(
    ("docs", "key", "scheme"),
    [
        ("/hadar/developers/api-docs/", MARINA_ADMIN, "BearerAuth"),
        ("/hadar-crm/docs/", "ak_test_alnoor_professional_admin_7c2e91d4", None),
        ("/leaditio/docs/", "ldt_test_sunvolt_pro_9f31c0a7", None),
        ("/askad/docs/", "ask_test_brightpath_admin_5e2a9c71", None),
        ("/href/docs/", "hcrm_acme_7Yq2Lm9Xv4Tb8Rw1", None),
    ],
)
def test_each_api_docs_page_prefills_a_test_key(server, docs, key, scheme):
    html = httpx.get(server + docs).text
    assert "preauthorizeApiKey" in html and f'"key": "{key}"' in html
    if scheme:
        assert f'"schemes": ["{scheme}"]' in html
    assert "cdn" not in html.lower()
    static = re.search(r'src="([^"]+swagger-ui-bundle.js)"', html)
    assert static and httpx.get(server + static.group(1)).status_code == 200


def test_inspector_pages_render(server, client):
    client.post("/leads", json={"phone": "x"})  # a 400 to show
    for path in ("/", "/tenants/hadar/" + MARINA, "/requests", "/requests?status=4xx", "/webhooks", "/outbox", "/faults"):
        page = httpx.get(server + "/_sandbox/ui" + path)
        assert page.status_code == 200, (path, page.text[:300])
        assert "<html" in page.text and 'src="/_sandbox/ui/static/inspector.js"' in page.text
    assert httpx.get(server + "/_sandbox/ui/static/inspector.css").status_code == 200


def test_one_request_by_trace_id_shows_bodies_and_violations(server, client):
    refused = client.post("/leads", json={"phone": "+971500000001"})
    assert refused.status_code == 400
    page = httpx.get(server + "/_sandbox/ui/requests", params={"trace_id": refused.headers["x-trace-id"]})
    assert page.status_code == 200
    assert 'data-testid="violations"' in page.text and "name" in page.text
    assert "+971500000001" in page.text  # the request body
    assert MARINA_ADMIN not in page.text  # the key is masked
    missing = httpx.get(server + "/_sandbox/ui/requests", params={"trace_id": "nope"})
    assert missing.status_code == 404


def test_inspector_and_landing_are_not_journaled(server, control):
    httpx.get(server + "/")
    httpx.get(server + "/_sandbox/ui/requests")
    httpx.get(server + "/hadar/developers/api-docs/")
    paths = {e["path"] for e in control.get("/requests").json()["data"]}
    assert not any(p == "/" or p.startswith("/_sandbox/ui") or "api-docs" in p for p in paths)


def test_unknown_tenant_page_is_404(server):
    assert httpx.get(server + "/_sandbox/ui/tenants/hadar/nobody").status_code == 404


def test_with_an_admin_token_the_inspector_asks_for_it_once():
    with running_sandbox(Config(db="memory", admin_token="s3cret")) as origin:
        with httpx.Client(base_url=origin) as browser:
            assert browser.get("/_sandbox/ui/requests").status_code == 401
            wrong = browser.post("/_sandbox/ui/login", data={"token": "nope", "next": "/_sandbox/ui/requests"})
            assert wrong.status_code == 401
            right = browser.post("/_sandbox/ui/login", data={"token": "s3cret", "next": "/_sandbox/ui/requests"})
            assert right.status_code == 303 and right.headers["location"] == "/_sandbox/ui/requests"
            assert browser.get("/_sandbox/ui/requests").status_code == 200
            # the inspector's actions reach the control plane with the same session
            assert browser.get("/_sandbox/clock").status_code == 200
        assert httpx.get(origin + "/_sandbox/clock").status_code == 401
        assert httpx.get(origin + "/_sandbox/ui/", headers=bearer("s3cret")).status_code == 200
