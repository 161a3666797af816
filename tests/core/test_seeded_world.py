"""The seeded world is anchored on the sandbox's now at seeding time (issue 17, point 3): it has a past and
a future, moves with the clock, and stays deterministic for a given seed and anchor. Record ids do not
depend on the anchor, so the ids the specs and the README show stay valid."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.core.clock import Clock, parse_iso, utc_iso
from sandbox.runtime import Runtime
from sandbox.seeding import seeding_anchor

ROOT = Path(__file__).resolve().parents[2]
ADMIN = "hdr_test_marina_growth_admin_4f9c2a7b"
NOW = datetime(2027, 3, 10, 13, 37, 21, tzinfo=UTC)
KINDS = {
    "hadar": ("marina-homes", ["leads", "properties", "conversations", "messages", "bookings", "invoices"]),
    "hadar-crm": ("al-noor-realty", ["leads", "properties", "appointments"]),
    "leaditio": ("sunvolt-solar", ["leads"]),
    "askad": ("brightpath-marketing", ["contacts", "deals"]),
    "href": ("acme", ["leads"]),
}


@contextmanager
def seeded(now: datetime, seed: int = 42) -> Iterator[Runtime]:
    runtime = runtime_of(create_app(Config(db="memory", seed=seed), clock=Clock(source=lambda: now)))
    try:
        yield runtime
    finally:
        runtime.store.close()


def world(runtime: Runtime) -> dict[str, list[dict[str, Any]]]:
    return {f"{api}/{kind}": runtime.store.collection(api, tenant, kind).all()
            for api, (tenant, kinds) in KINDS.items() for kind in kinds}


@pytest.fixture(scope="module")
def frozen() -> Iterator[Runtime]:
    with seeded(NOW) as runtime:
        yield runtime


# --- anchored on now ----------------------------------------------------------------------------------
def test_the_anchor_is_the_sandboxs_now_floored_to_the_hour(frozen: Runtime) -> None:
    anchor = datetime(2027, 3, 10, 13, 0, tzinfo=UTC)
    assert seeding_anchor(NOW) == anchor
    assert frozen.store.get_meta("seeded:hadar") == {"state": "done", "seed": 42, "anchor": utc_iso(anchor)}
    newest = frozen.store.collection("hadar", "marina-homes", "leads").all()[-1]
    assert anchor - timedelta(days=7) < parse_iso(newest["created_at"]) <= anchor


def test_nothing_seeded_happened_after_now(frozen: Runtime) -> None:
    fields = ("created_at", "updated_at", "delivered_at", "issued_at", "cancelled_at", "closed_at", "last_message_at",
              "paid_at")
    late = [(name, record["id"], field) for name, rows in world(frozen).items() for record in rows
            for field in fields if record.get(field) and parse_iso(record[field]) > NOW]
    assert late == []


def test_hadar_bookings__past_ones_are_done_upcoming_ones_confirmed(frozen: Runtime) -> None:
    bookings = frozen.store.collection("hadar", "marina-homes", "bookings").all()
    past = [b for b in bookings if parse_iso(b["scheduled_at"]) < NOW]
    ahead = [b for b in bookings if parse_iso(b["scheduled_at"]) > NOW]
    assert past and all(b["status"] in ("completed", "cancelled") for b in past)
    assert [b for b in ahead if b["status"] == "confirmed"], "no upcoming booking"
    assert all(b["status"] in ("confirmed", "cancelled") for b in ahead)
    assert all(parse_iso(b["scheduled_at"]) > parse_iso(b["created_at"]) for b in bookings)
    assert all(parse_iso(b["scheduled_at"]) < NOW + timedelta(days=16) for b in ahead)


def test_hadar_bookings__confirmed_ones_complete_when_their_end_passes() -> None:
    config = Config(db="memory", plans={"*": 10**9})
    app = create_app(config, clock=Clock(source=lambda: NOW))
    runtime = runtime_of(app)
    try:
        bookings = runtime.store.collection("hadar", "marina-homes", "bookings")
        upcoming = {b["id"]: b["status"] for b in bookings.all() if parse_iso(b["scheduled_at"]) > NOW}
        lead = bookings.all()[0]["lead_id"]
        with running_sandbox(config, app=app) as origin, httpx.Client(base_url=origin, timeout=30) as http:
            made = http.post("/hadar/v1/bookings", headers={"Authorization": f"Bearer {ADMIN}"},
                             json={"lead_id": lead, "scheduled_at": utc_iso(NOW + timedelta(hours=3)),
                                   "duration_minutes": 45})
            assert made.status_code == 201, made.text
            assert made.json()["data"]["status"] == "confirmed"
            assert http.post("/_sandbox/clock/advance", json={"seconds": 3 * 3600 + 44 * 60}).status_code == 200
            assert bookings.get(made.json()["data"]["id"])["status"] == "confirmed"  # a minute to go
            assert http.post("/_sandbox/clock/advance", json={"seconds": 16 * 86400}).status_code == 200
        assert bookings.get(made.json()["data"]["id"])["status"] == "completed"
        for booking_id, status in upcoming.items():
            assert bookings.get(booking_id)["status"] == ("completed" if status == "confirmed" else "cancelled")
    finally:
        runtime.store.close()


def test_crm_appointments__scheduled_ones_lie_ahead_and_complete_with_the_clock() -> None:
    config = Config(db="memory", plans={"*": 10**9})
    app = create_app(config, clock=Clock(source=lambda: NOW))
    runtime = runtime_of(app)
    try:
        appointments = runtime.store.collection("hadar-crm", "al-noor-realty", "appointments")
        scheduled = [a for a in appointments.all() if a["status"] == "scheduled"]
        assert scheduled, "no scheduled appointment"
        assert all(parse_iso(a["scheduled_at"]) > NOW for a in scheduled)
        assert all(a["status"] in ("completed", "cancelled") for a in appointments.all()
                   if parse_iso(a["scheduled_at"]) < NOW)
        with running_sandbox(config, app=app) as origin, httpx.Client(base_url=origin, timeout=30) as http:
            assert http.post("/_sandbox/clock/advance", json={"seconds": 16 * 86400}).status_code == 200
        assert all(appointments.get(a["id"])["status"] == "completed" for a in scheduled)
    finally:
        runtime.store.close()


def test_leaditio_has_leads_this_month(frozen: Runtime) -> None:
    leads = frozen.store.collection("leaditio", "sunvolt-solar", "leads").all()
    this_month = [lead for lead in leads if lead["delivered_at"] >= "2027-03-01T00:00:00.000Z"]
    quota = frozen.store.get_tenant("leaditio", "sunvolt-solar").data["quota_this_month"]
    assert 1 <= len(this_month) <= quota
    # about the quota's share of the month gone by: 150 x 9.5 / 31
    assert len(this_month) == round(150 * (timedelta(days=9, hours=13) / timedelta(days=31)))


def test_leaditio_leads_this_month_on_the_first_hour_of_a_month() -> None:
    with seeded(datetime(2027, 4, 1, 0, 20, tzinfo=UTC)) as runtime:
        for tenant in ("sunvolt-solar", "kopano-homes"):
            leads = runtime.store.collection("leaditio", tenant, "leads").all()
            assert [lead for lead in leads if lead["delivered_at"] >= "2027-04-01T00:00:00.000Z"], tenant


# --- deterministic, and ids that do not move ---------------------------------------------------------------
def test_same_seed_and_anchor_give_byte_identical_worlds(frozen: Runtime) -> None:
    with seeded(NOW + timedelta(minutes=10)) as again:  # the same hour: the same anchor
        assert orjson.dumps(world(again)) == orjson.dumps(world(frozen))


def test_another_anchor_moves_every_time_and_keeps_every_id(frozen: Runtime) -> None:
    shift = timedelta(days=200, hours=5)
    with seeded(NOW + shift) as later:
        before, after = world(frozen), world(later)
    for name, rows in before.items():
        assert [r["id"] for r in rows] == [r["id"] for r in after[name]], name
    leads_before = before["hadar/leads"]
    leads_after = after["hadar/leads"]
    assert [parse_iso(b["created_at"]) + shift for b in leads_before] == [parse_iso(a["created_at"]) for a in leads_after]


def _documented_ids() -> set[str]:
    text = "".join((ROOT / path).read_text(encoding="utf-8") for path in ("openapi/hadar.yaml", "README.md"))
    return set(re.findall(r"\b(?:lead|prop|conv|bkg|inv)_[0-9A-HJKMNP-TV-Z]{26}\b", text))


@pytest.mark.parametrize("now", [NOW, datetime(2026, 6, 1, 9, 0, tzinfo=UTC), datetime(2029, 1, 31, 23, 59, tzinfo=UTC)],
                         ids=["spring-2027", "june-2026", "jan-2029"])
def test_documented_hadar_ids_exist_whenever_the_sandbox_is_seeded(now: datetime) -> None:
    kinds = {"lead": "leads", "prop": "properties", "conv": "conversations", "bkg": "bookings", "inv": "invoices"}
    documented = _documented_ids() - {"lead_01HMNZ"}
    assert len(documented) >= 5
    with seeded(now) as runtime:
        missing = [i for i in documented
                   if runtime.store.collection("hadar", "marina-homes", kinds[i.split("_")[0]]).get(i) is None]
    assert missing == []


def test_reset_after_advancing_the_clock_reanchors_the_world() -> None:
    config = Config(db="memory", plans={"*": 10**9})
    app = create_app(config, clock=Clock(source=lambda: NOW))
    runtime = runtime_of(app)
    try:
        with running_sandbox(config, app=app) as origin, httpx.Client(base_url=origin + "/_sandbox", timeout=30) as control:
            assert control.post("/clock/advance", json={"seconds": 90 * 86400}).status_code == 200
            assert control.post("/reset", json={"api": "hadar", "tenant": "marina-homes"}).status_code == 200
        later = NOW + timedelta(days=90)
        newest = runtime.store.collection("hadar", "marina-homes", "leads").all()[-1]
        assert later - timedelta(days=7) < parse_iso(newest["created_at"]) <= later
        meta = runtime.store.get_meta("seeded:hadar")
        assert meta is not None and meta["anchor"] == utc_iso(seeding_anchor(later))
    finally:
        runtime.store.close()
