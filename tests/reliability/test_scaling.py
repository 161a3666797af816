"""Issue 12 point 4: per-request cost is flat as a tenant's data grows, for every operation of every API.

Cost is counted, not timed: SQLite calls a progress handler every 100 virtual-machine instructions, so
the count is the work the database did for one request. Each operation runs on a seeded sandbox and on
the same sandbox grown by GROWTH records per kind of the tenant under test; a lookup that scans the
tenant (the AskAd de-duplication did) does hundreds of times more work on the grown one.
`SCALING_RECORDS=100000` runs it at the issue's full size."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.runtime import Runtime
from sandbox.serving import serve_in_thread

GROWTH = int(os.environ.get("SCALING_RECORDS", "20000"))
#: grown / seeded work allowed: flat, with room for a deeper b-tree and a few more pages
RATIO = 2.0
SLACK = 30  # progress ticks (x100 instructions)

KEYS = {
    "hadar": "hdr_test_marina_growth_admin_4f9c2a7b",
    "hadar-crm": "ak_test_alnoor_professional_admin_7c2e91d4",
    "leaditio": "ldt_test_sunvolt_pro_9f31c0a7",
    "askad": "ask_test_brightpath_admin_5e2a9c71",
    "href": "hcrm_acme_7Yq2Lm9Xv4Tb8Rw1",
}
TENANTS = {"hadar": "marina-homes", "hadar-crm": "al-noor-realty", "leaditio": "sunvolt-solar",
           "askad": "brightpath-marketing", "href": "acme"}
#: kinds grown per API, and the lookup fields given values of their own in the grown copies
GROW: dict[str, dict[str, tuple[str, ...]]] = {
    "hadar": {"leads": (), "conversations": ("lead_id",), "messages": ("lead_id", "conversation_id"),
              "bookings": ("lead_id",), "properties": (), "invoices": (), "webhook_deliveries": ("endpoint_id",)},
    "hadar-crm": {"leads": ("status",), "appointments": ("lead_id",), "properties": ()},
    "leaditio": {"leads": ()},
    "askad": {"contacts": ("dedupe_key", "email"), "deals": ("contact_id",)},
    "href": {"leads": ()},
}


def _grow(runtime: Runtime, api: str, tenant: str, kind: str, lookups: tuple[str, ...]) -> None:
    store = runtime.store
    seeded = store.collection(api, tenant, kind).all()
    if not seeded:
        return
    rows = []
    for number in range(GROWTH):
        record = dict(seeded[number % len(seeded)])
        record["id"] = f"{kind[:4]}_grown{number:08d}"
        for field in lookups:
            record[field] = f"grown-{field}-{number}"
        if (api, kind) == ("leaditio", "leads"):  # delivered long ago, not converted: not this month's
            record.update(delivered_at="2020-01-01T00:00:00.000Z", converted=False)
        if kind == "contacts":
            record["email"] = f"grown{number}@example.com"
            record["dedupe_key"] = f"email:grown{number}@example.com"
        rows.append((record["id"], record.get("created_at", "2026-01-01T00:00:00.000Z"), record))
    store.insert_records(api, tenant, kind, rows)


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory) -> Iterator[dict[str, tuple[Runtime, str]]]:
    """A seeded sandbox and a grown copy of it, each served on loopback."""
    base = tmp_path_factory.mktemp("scaling")
    small, large = base / "small.db", base / "large.db"
    config = Config(db=str(small), plans={"*": 10**9}, webhook_hosts="loopback")
    app = create_app(config)
    _prepare(runtime_of(app))
    runtime_of(app).store.close()
    shutil.copy(small, large)
    grown_app = create_app(Config(db=str(large), plans={"*": 10**9}, webhook_hosts="loopback"))
    grown = runtime_of(grown_app)
    for api, kinds in GROW.items():
        for kind, lookups in kinds.items():
            _grow(grown, api, TENANTS[api], kind, lookups)
    grown.store.close()
    apps = {"small": create_app(Config(db=str(small), plans={"*": 10**9}, webhook_hosts="loopback")),
            "large": create_app(Config(db=str(large), plans={"*": 10**9}, webhook_hosts="loopback"))}
    with serve_in_thread(apps["small"]) as small_origin, serve_in_thread(apps["large"]) as large_origin:
        yield {"small": (runtime_of(apps["small"]), small_origin), "large": (runtime_of(apps["large"]), large_origin)}
    for app in apps.values():
        runtime_of(app).store.close()


def _prepare(runtime: Runtime) -> None:
    """What the operations below need in both copies: a Hadar webhook endpoint with a delivery."""
    from sandbox.apis.hadar.events import STYLE
    from sandbox.core import webhooks
    from sandbox.core.workspace import Workspace

    ws = Workspace(runtime.store, "hadar", "marina-homes", runtime.clock, runtime.ids, webhook_hosts="loopback")
    endpoint = webhooks.create_endpoint(ws, STYLE, "http://127.0.0.1:9/hook", ["lead.created"], "whsec_" + "s" * 32)
    runtime.store.set_meta("scaling:endpoint", endpoint["id"])


def _first(runtime: Runtime, api: str, kind: str, keep: Callable[[dict], bool] = lambda _: True) -> dict[str, Any]:
    for record in runtime.store.collection(api, TENANTS[api], kind).all():
        if keep(record) and "grown" not in record["id"]:
            return record
    raise AssertionError(f"no seeded {api} {kind}")


def operations(runtime: Runtime) -> list[tuple[str, str, str, str, Any]]:
    """(id, api, method, path relative to the API's base, JSON body) for every operation of every API."""
    lead = _first(runtime, "hadar", "conversations", lambda c: c["channel"] == "whatsapp")["lead_id"]
    conversation = _first(runtime, "hadar", "conversations")["id"]
    booking = _first(runtime, "hadar", "bookings")["id"]
    prop = _first(runtime, "hadar", "properties")["id"]
    invoice = _first(runtime, "hadar", "invoices")["id"]
    endpoint = runtime.store.get_meta("scaling:endpoint")
    crm_lead = _first(runtime, "hadar-crm", "leads")["id"]
    ldt_lead = _first(runtime, "leaditio", "leads")["id"]
    contact = _first(runtime, "askad", "contacts")
    template = {"lead_id": lead, "template": "viewing_confirmation_en",
                "variables": {"agent_name": "Sara", "property_name": "Marina Vista 2BR", "viewing_time": "Sat 11:00"}}
    return [
        ("hadar.listLeads", "hadar", "GET", "/leads", None),
        ("hadar.listLeads.status", "hadar", "GET", "/leads?status=new", None),
        ("hadar.createLead", "hadar", "POST", "/leads", {"name": "Grow Th", "phone": "+971500000009"}),
        ("hadar.getLead", "hadar", "GET", f"/leads/{lead}", None),
        ("hadar.updateLead", "hadar", "PATCH", f"/leads/{lead}", {"notes": "called"}),
        ("hadar.listConversations.lead", "hadar", "GET", f"/conversations?lead_id={lead}", None),
        ("hadar.getConversation", "hadar", "GET", f"/conversations/{conversation}", None),
        ("hadar.listProperties", "hadar", "GET", "/properties", None),
        ("hadar.getProperty", "hadar", "GET", f"/properties/{prop}", None),
        ("hadar.listBookings.lead", "hadar", "GET", f"/bookings?lead_id={lead}", None),
        ("hadar.createBooking", "hadar", "POST", "/bookings", {"lead_id": lead, "scheduled_at": "2031-01-01T10:00:00Z"}),
        ("hadar.getBooking", "hadar", "GET", f"/bookings/{booking}", None),
        ("hadar.listInvoices", "hadar", "GET", "/invoices", None),
        ("hadar.getInvoice", "hadar", "GET", f"/invoices/{invoice}", None),
        ("hadar.listWebhookEndpoints", "hadar", "GET", "/webhooks", None),
        ("hadar.getWebhookEndpoint", "hadar", "GET", f"/webhooks/{endpoint}", None),
        ("hadar.listWebhookDeliveries", "hadar", "GET", f"/webhooks/{endpoint}/deliveries", None),
        ("hadar.sendWhatsappMessage", "hadar", "POST", "/whatsapp/messages", template),
        ("hadar-crm.listLeads", "hadar-crm", "GET", "/leads?page=1&limit=10", None),
        ("hadar-crm.listLeads.status", "hadar-crm", "GET", "/leads?page=1&limit=10&status=qualified", None),
        ("hadar-crm.createLead", "hadar-crm", "POST", "/leads", {"full_name": "Grow Th", "phone": "+971500000008"}),
        ("hadar-crm.getLead", "hadar-crm", "GET", f"/leads/{crm_lead}", None),
        ("hadar-crm.listProperties", "hadar-crm", "GET", "/properties?page=1&limit=10", None),
        ("hadar-crm.listAppointments.lead", "hadar-crm", "GET", f"/appointments?page=1&limit=10&lead_id={crm_lead}", None),
        ("hadar-crm.listWebhooks", "hadar-crm", "GET", "/webhooks", None),
        ("leaditio.listLeads", "leaditio", "GET", "/leads?page=1&limit=25", None),
        ("leaditio.getLead", "leaditio", "GET", f"/leads/{ldt_lead}", None),
        ("leaditio.getAccountStats", "leaditio", "GET", "/account/stats", None),
        ("askad.pushInboundLead.known", "askad", "POST", "/leads/inbound", {"email": contact["email"], "source": "hubspot"}),
        ("askad.pushInboundLead.new", "askad", "POST", "/leads/inbound", {"email": "new.one@example.com", "source": "x"}),
        ("askad.captureLead", "askad", "POST", "/leads/capture", {"email": contact["email"], "name": "Jo Doe"}),
        ("askad.listContacts", "askad", "GET", "/contacts?page=1&limit=25", None),
        ("askad.listDeals", "askad", "GET", "/deals?page=1&limit=25", None),
        ("href.intakeLead", "href", "POST", "/leads/intake",
         {"name": "Grow Th", "email": "grow@example.com", "practice_area": "divorce", "consent": True}),
    ]


BASES = {"hadar": "/hadar/v1", "hadar-crm": "/hadar-crm/api/v1", "leaditio": "/leaditio/api/v1",
         "askad": "/askad/api/v1", "href": "/href/acme/api"}


def _progress_handler(runtime: Runtime, handler: Callable[[], int] | None) -> None:
    """Install or remove the counter on the store's one connection, holding the store's lock.

    `set_progress_handler` takes SQLite's connection mutex while holding the GIL; called while the server
    thread is inside a statement (its job loop polls) whose progress callback waits for the GIL, the two
    threads deadlock and nothing, not even pytest-timeout, runs again. Under the store's lock no statement
    of the server is running."""
    with runtime.store._lock:
        runtime.store._conn.set_progress_handler(handler, 100)


def _work(runtime: Runtime, origin: str, api: str, method: str, path: str, body: Any) -> int:
    """Progress ticks (100 SQLite instructions each) the sandbox spent on one request."""
    headers = {"X-API-Key": KEYS[api]} if api in {"hadar-crm", "href"} else {"Authorization": f"Bearer {KEYS[api]}"}
    ticks = 0

    def tick() -> int:
        nonlocal ticks
        ticks += 1
        return 0

    with httpx.Client(base_url=origin + BASES[api], headers=headers, timeout=60) as http:
        http.request(method, path, json=body)  # warm: statement cache, first-use work
        _progress_handler(runtime, tick)
        try:
            response = http.request(method, path, json=body)
        finally:
            _progress_handler(runtime, None)
    assert response.status_code < 300, (method, path, response.status_code, response.text)
    return ticks


def test_every_operation_costs_the_same_on_a_grown_tenant(sandboxes):
    small_rt, small_origin = sandboxes["small"]
    large_rt, large_origin = sandboxes["large"]
    grown_ops = {op[0]: op for op in operations(large_rt)}
    report, failures = [], []
    for name, api, method, path, body in operations(small_rt):
        small = _work(small_rt, small_origin, api, method, path, body)
        _, _, method2, path2, body2 = grown_ops[name]
        large = _work(large_rt, large_origin, api, method2, path2, body2)
        report.append(f"{name:40} {small:8} {large:8}")
        if large > small * RATIO + SLACK:
            failures.append(f"{name}: {small} -> {large} ticks with {GROWTH} more records")
    print("\n".join(report))
    assert not failures, "\n".join(failures)
