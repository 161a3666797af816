"""The inspector in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright.

A request made here shows up in the log with its violations; a delivery the receiver refused (500) is
redelivered from the page's button; the clock advances from the page. Screenshots of every page of the
last run go to reports/screenshots/. Without a browser these tests skip, saying why in one line."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from conftest import MARINA, MARINA_ADMIN, wait_for

from sandbox.core.clock import parse_iso

CHROMIUM = os.environ.get("LEAD_SANDBOX_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "reports" / "screenshots"
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run",
]

try:
    from playwright.sync_api import Page, expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the machine
    sync_playwright = None

if sync_playwright is None:
    MISSING = "browser tests: Playwright is not installed (pip install -e '.[dev]')"
elif not Path(CHROMIUM).exists():
    MISSING = f"browser tests: no Chromium at {CHROMIUM} (apt-get install chromium)"
else:
    MISSING = ""


if sync_playwright is not None:
    expect.set_options(timeout=30_000)  # waits, not timings: a loaded machine still passes


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if MISSING:
        if os.environ.get("LEAD_SANDBOX_REQUIRE_BROWSER") == "1":  # .ci/run: these tests must run
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser, server) -> Iterator[Page]:
    context = browser.new_context(base_url=server, viewport={"width": 1360, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(60_000)  # a loaded CI machine renders Swagger UI slowly
    yield tab
    context.close()


def shot(page: Page, name: str, *, full_page: bool = True) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def test_a_refused_request_appears_in_the_log_with_its_violations(page, client):
    page.goto("/_sandbox/ui/requests")
    refused = client.post("/leads", json={"phone": 971, "email": "not-an-email"})
    assert refused.status_code == 400, refused.text
    trace_id = refused.headers["x-trace-id"]
    row = page.locator(f'tr[data-testid="request-row"]:has(a[href$="{trace_id}"])')
    expect(row).to_be_visible()  # arrives without a reload (the page polls)
    expect(row.locator(".status")).to_have_text("400")
    expect(row.locator("td.why")).not_to_be_empty()
    shot(page, "requests")
    row.locator("td.path a").click()
    expect(page).to_have_url(re.compile(rf"trace_id={trace_id}"))
    violations = page.get_by_test_id("violations")
    expect(violations).to_be_visible()
    expect(violations.locator("li").first).not_to_be_empty()
    expect(page.get_by_test_id("request-body")).to_contain_text("not-an-email")
    expect(page.locator("body")).not_to_contain_text(MARINA_ADMIN)  # masked
    shot(page, "request")


def test_a_failed_delivery_is_redelivered_from_the_page(page, client, control, make_receiver):
    receiver = make_receiver(statuses=[500, 200])
    assert control.post("/clock/freeze").status_code == 200  # no automatic retry comes before the button
    endpoint = client.post("/webhooks", json={"url": receiver.url, "events": ["lead.created"]})
    assert endpoint.status_code == 201, endpoint.text
    created = client.post("/leads", json={"name": "Redelivery Lead", "phone": "+971500000077"})
    assert created.status_code == 201, created.text
    receiver.wait(1)

    def attempted() -> list[dict]:  # the attempt is stored once the receiver's answer is back
        return [d for d in control.get("/deliveries").json()["data"] if d["attempts"]]

    delivery = wait_for(attempted, timeout=30)[0]
    page.goto("/_sandbox/ui/webhooks")
    row = page.get_by_test_id(f"delivery-{delivery['id']}")
    expect(row.get_by_test_id("state")).not_to_have_text("succeeded")
    expect(row.locator("ol.attempts")).to_contain_text("500")
    shot(page, "webhooks-failed")
    row.get_by_test_id("redeliver").click()
    expect(page.locator("#flash")).to_contain_text("redeliver: 202")
    expect(row.get_by_test_id("state")).to_have_text("succeeded")  # the attempt runs in the background; the page polls
    expect(row.locator("ol.attempts li")).to_have_count(2)
    assert receiver.count() == 2
    shot(page, "webhooks")
    # from the request that created the lead to the webhook that announced it
    page.goto(f"/_sandbox/ui/requests?trace_id={created.headers['x-trace-id']}")
    expect(page.get_by_test_id(f"delivery-{delivery['id']}")).to_be_visible()
    shot(page, "request-with-webhook")


def test_the_clock_advances_from_the_page(page, control):
    page.goto("/_sandbox/ui/")
    before = parse_iso(control.get("/clock").json()["data"]["now"])
    page.get_by_role("button", name="+1 day").first.click()
    expect(page.locator("#flash")).to_contain_text("sandbox time")
    after = parse_iso(control.get("/clock").json()["data"]["now"])
    assert after - before >= timedelta(days=1)
    expect(page.get_by_test_id("clock-now")).not_to_have_text(re.compile(re.escape(before.isoformat()[:10])))
    shot(page, "tenants")


def test_every_page_renders_and_is_kept_as_a_screenshot(page, server, client):
    httpx.post(server + "/_sandbox/events", json={"api": "hadar", "tenant": MARINA, "type": "lead.created"})
    pages = {
        "landing": "/",
        "tenant": f"/_sandbox/ui/tenants/hadar/{MARINA}",
        "outbox": "/_sandbox/ui/outbox",
        "faults": "/_sandbox/ui/faults",
    }
    for name, path in pages.items():
        response = page.goto(path)
        assert response is not None and response.status == 200, path
        shot(page, name)


def test_swagger_ui_has_the_test_key_in_authorize(page):
    page.goto("/hadar/developers/api-docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Hadar")
    page.wait_for_function("() => window.ui && Object.keys(window.ui.authSelectors.authorized().toJS()).length > 0")
    authorized = page.evaluate("() => window.ui.authSelectors.authorized().toJS()")
    assert authorized["BearerAuth"]["value"] == MARINA_ADMIN
    shot(page, "docs-hadar", full_page=False)


def test_try_it_out_sends_the_prefilled_key(page, server):
    page.goto("/hadar-crm/docs/")
    page.wait_for_function("() => window.ui && Object.keys(window.ui.authSelectors.authorized().toJS()).length > 0")
    # What "Try it out" sends, without clicking through the UI: Swagger UI's own request builder.
    status = page.evaluate(
        """async () => {
          const spec = window.ui.specSelectors.specJson().toJS();
          const path = Object.keys(spec.paths).find((p) => spec.paths[p].get && !p.includes("{"));
          const op = spec.paths[path].get.operationId;
          const response = await window.ui.fn.execute({spec, operationId: op,
            securities: {authorized: window.ui.authSelectors.authorized().toJS()}});
          return response.status;
        }"""
    )
    assert status == 200
    shot(page, "docs-hadar-crm", full_page=False)



def test_trigger_reset_and_faults_from_the_pages(page, control, receiver):
    endpoint = control.post(
        "/webhooks", json={"api": "hadar", "tenant": MARINA, "url": receiver.url, "events": ["lead.created"]}
    )
    assert endpoint.status_code == 201, endpoint.text
    page.goto(f"/_sandbox/ui/tenants/hadar/{MARINA}")
    page.get_by_test_id("event-type").select_option("lead.created")
    page.get_by_role("button", name="Trigger").click()
    expect(page.locator("#flash")).to_contain_text("201")
    receiver.wait(1)
    page.goto("/_sandbox/ui/faults")
    page.locator('input[name="operation_id"]').fill("listLeads")
    page.get_by_role("button", name="Inject").click()
    expect(page.locator("#faults")).to_contain_text("listLeads")
    shot(page, "faults")
    page.get_by_role("button", name="Clear all faults").click()
    expect(page.locator("#faults")).to_contain_text("No faults armed")
    assert control.get("/faults").json()["data"] == []


def test_a_tenants_page_moves_only_that_tenants_clock(page, control):
    def now(tenant: str):
        return parse_iso(control.get("/clock", params={"api": "hadar", "tenant": tenant}).json()["data"]["now"])

    palm_before = now("palm-crest")
    page.goto(f"/_sandbox/ui/tenants/hadar/{MARINA}")
    marina_before = now(MARINA)
    page.get_by_role("button", name="+1 day").click()
    expect(page.locator("#flash")).to_contain_text("sandbox time")
    assert now(MARINA) - marina_before >= timedelta(days=1)
    assert now("palm-crest") - palm_before < timedelta(hours=1)  # another tenant's time ran on as usual
    shot(page, "tenant-clock")
