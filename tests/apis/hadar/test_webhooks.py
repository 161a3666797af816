"""Hadar webhooks end to end: a real loopback receiver, signatures checked by independent verifiers
(Python HMAC, Stripe's library, the vendor's own Node snippet), retries on the sandbox clock, the
delivery log, redelivery, secret rotation, deletion, replay window and resuming after a restart."""

from __future__ import annotations

import hashlib
import hmac
import importlib
import json
import re
import shutil
import subprocess
import time
import types
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import stripe
import vendor_pages
from conftest import MARINA_ADMIN, bearer, wait_for
from vendor_pages import NODE

from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.contracts.sandbox_server import free_port, running_sandbox
from sandbox.core.clock import Clock, parse_iso

#: Stripe's webhook module: its `time` is swapped to pin "now" for the tolerance check
stripe_webhook = importlib.import_module("stripe._webhook")
NAMES = ["عائشة خان", "Zoë Müller"]


# --- helpers -------------------------------------------------------------------------------------------
def register(client: httpx.Client, url: str, events: list[str] | None = None) -> dict:
    response = client.post("/webhooks", json={"url": url, "events": events or ["lead.created"], "description": "test"})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def create_lead(client: httpx.Client, name: str = "Test Lead", phone: str = "+971500000001") -> dict:
    response = client.post("/leads", json={"name": name, "phone": phone})
    assert response.status_code == 201, response.text
    return response.json()["data"]


def freeze(control: httpx.Client, at: datetime | None = None) -> datetime:
    body = {"at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z")} if at is not None else None
    response = control.post("/clock/freeze", json=body) if body else control.post("/clock/freeze")
    assert response.status_code == 200, response.text
    return parse_iso(response.json()["data"]["now"])


def advance(control: httpx.Client, seconds: int) -> dict:
    response = control.post("/clock/advance", json={"seconds": seconds})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def deliveries(client: httpx.Client, endpoint_id: str) -> list[dict]:
    response = client.get(f"/webhooks/{endpoint_id}/deliveries")
    assert response.status_code == 200, response.text
    return response.json()["data"]["items"]


def logged(client: httpx.Client, endpoint_id: str, attempts: int) -> dict:
    """The endpoint's only delivery, once its log shows `attempts` attempts (recorded after the answer)."""
    def ready() -> dict | None:
        items = deliveries(client, endpoint_id)
        return items[0] if len(items) == 1 and len(items[0]["attempts"]) >= attempts else None

    return wait_for(ready)  # type: ignore[return-value]


def python_verify(secret: str, body: bytes, header: str) -> bool:
    parts = dict(item.split("=", 1) for item in header.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def stripe_verify(secret: str, body: bytes, header: str, now: float | None = None, tolerance: int = 300) -> bool:
    """Stripe's verifier (same `t=…,v1=…` scheme); `now` pins the time it compares `t` with."""
    original = stripe_webhook.time
    if now is not None:
        stripe_webhook.time = types.SimpleNamespace(time=lambda: now)  # only stripe's view of time
    try:
        stripe.WebhookSignature.verify_header(body.decode("utf-8"), header, secret, tolerance=tolerance)
        return True
    except stripe_webhook.SignatureVerificationError:
        return False
    finally:
        stripe_webhook.time = original


def vendor_node_script(tmp_path: Path) -> Path:
    """The vendor page's Node snippet, minus its TypeScript annotations, plus a tiny CLI."""
    text = vendor_pages.page_text("hadar-api-reference.txt")
    start = text.index("import { createHmac")
    end = text.index("}Reject", start) + 1
    snippet = text[start:end]
    cast = " as { t: string; v1: string }"
    signature = "function verify(rawBody: string, header: string, secret: string)"
    assert cast in snippet and signature in snippet, snippet
    snippet = snippet.replace(cast, "").replace(signature, "function verify(rawBody, header, secret)")
    script = tmp_path / "verify.mjs"
    script.write_text(
        snippet
        + '\nimport { readFileSync } from "node:fs"\n'
        + "const [bodyPath, headerPath, secret] = process.argv.slice(2)\n"
        + 'console.log(String(verify(readFileSync(bodyPath, "utf8"), readFileSync(headerPath, "utf8"), secret)))\n',
        encoding="utf-8",
    )
    return script


def node_verify(tmp_path: Path, secret: str, body: bytes, header: str) -> bool:
    script = vendor_node_script(tmp_path)
    (tmp_path / "body.bin").write_bytes(body)
    (tmp_path / "header.txt").write_text(header, encoding="utf-8")
    result = subprocess.run(
        [NODE, str(script), str(tmp_path / "body.bin"), str(tmp_path / "header.txt"), secret],
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in {"true", "false"}, result.stdout
    return result.stdout.strip() == "true"


# --- signatures ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("verifier", ["python_hmac", "stripe", "vendor_node"])
def test_lead_created__signed_delivery_with_utf8_names_verifies(client, receiver, tmp_path, verifier):
    if verifier == "vendor_node" and shutil.which("node") is None:
        pytest.skip("node is not installed: cannot run the vendor's Node verification snippet")
    endpoint = register(client, receiver.url)
    secret = endpoint["secret"]
    leads = [create_lead(client, name, phone=f"+97150000000{i}") for i, name in enumerate(NAMES)]

    received = receiver.wait(2)
    assert len(received) == 2
    # deliveries run concurrently, so they may arrive in either order (as with Stripe: no ordering promise)
    received.sort(key=lambda request: [lead["id"] for lead in leads].index(json.loads(request.body)["data"]["id"]))
    for lead, request in zip(leads, received, strict=True):
        assert request.headers["x-hadar-event"] == "lead.created"
        assert re.fullmatch(r"dlv_[0-9A-HJKMNP-TV-Z]{26}", request.headers["x-hadar-delivery"])
        assert lead["name"].encode("utf-8") in request.body  # raw UTF-8 on the wire, not \u escapes
        payload = json.loads(request.body)
        assert payload["type"] == "lead.created" and payload["data"]["id"] == lead["id"]
        assert payload["data"]["name"] == lead["name"]
        header = request.headers["x-hadar-signature"]
        assert re.fullmatch(r"t=\d+,v1=[0-9a-f]{64}", header), header

        check = {
            "python_hmac": lambda s, b, h: python_verify(s, b, h),
            "stripe": lambda s, b, h: stripe_verify(s, b, h, now=int(h.split(",")[0][2:])),
            "vendor_node": lambda s, b, h: node_verify(tmp_path, s, b, h),
        }[verifier]
        assert check(secret, request.body, header) is True
        assert check("whsec_" + "x" * 32, request.body, header) is False  # the verifier can say no
        tampered = request.body.replace(lead["name"].encode(), lead["name"][::-1].encode())
        assert check(secret, tampered, header) is False


# --- routing ---------------------------------------------------------------------------------------------------
def test_endpoint_not_subscribed_to_lead_updated_gets_no_lead_updated(client, make_receiver):
    created_only, both = make_receiver(), make_receiver()
    register(client, created_only.url, ["lead.created"])
    register(client, both.url, ["lead.created", "lead.updated"])
    lead = create_lead(client)
    assert client.patch(f"/leads/{lead['id']}", json={"status": "contacted"}).status_code == 200

    wait_for(lambda: both.of_type("lead.updated") and created_only.of_type("lead.created"))
    wait_for(lambda: both.count() == 2)
    time.sleep(0.3)  # both deliveries to `both` landed; give a stray lead.updated to `created_only` time to show up
    assert [r.headers["x-hadar-event"] for r in created_only.requests] == ["lead.created"]
    assert sorted(r.headers["x-hadar-event"] for r in both.requests) == ["lead.created", "lead.updated"]


# --- retries on the sandbox clock ---------------------------------------------------------------------------
def test_delivery_id_is_stable_across_retries(client, control, make_receiver):
    receiver = make_receiver([500, 200])
    freeze(control)
    endpoint = register(client, receiver.url)
    create_lead(client)
    logged(client, endpoint["id"], 1)  # the failed attempt is recorded and its retry scheduled
    advance(control, 1)
    first, second = receiver.wait(2)
    assert first.headers["x-hadar-delivery"] == second.headers["x-hadar-delivery"]
    delivery = logged(client, endpoint["id"], 2)
    assert delivery["id"] == first.headers["x-hadar-delivery"]
    assert delivery["state"] == "succeeded"


def test_retries_fire_only_when_sandbox_clock_reaches_1s_then_5s(client, control, runtime, make_receiver):
    receiver = make_receiver([500, 500, 200])
    t0 = freeze(control)
    endpoint = register(client, receiver.url)
    create_lead(client)
    receiver.wait(1)
    delivery = logged(client, endpoint["id"], 1)
    assert delivery["state"] == "retrying"
    assert parse_iso(delivery["next_attempt_at"]) == t0 + timedelta(seconds=1)

    runtime.clock.advance(timedelta(milliseconds=500))  # +0.5 s: not yet
    time.sleep(0.4)  # the worker polls every 0.1 s
    assert receiver.count() == 1
    runtime.clock.advance(timedelta(milliseconds=500))  # +1 s: the first retry is due
    logged(client, endpoint["id"], 2)

    advance(control, 4)  # +5 s after t0, +4 s after the retry: not yet (advance starts every due job)
    assert receiver.count() == 2
    advance(control, 1)  # +5 s after the previous attempt
    receiver.wait(3)  # deliveries run in the background: advance never waits on a receiver

    delivery = logged(client, endpoint["id"], 3)
    assert [a["status_code"] for a in delivery["attempts"]] == [500, 500, 200]
    assert [parse_iso(a["at"]) - t0 for a in delivery["attempts"]] == [
        timedelta(0), timedelta(seconds=1), timedelta(seconds=6),
    ]
    assert delivery["state"] == "succeeded" and delivery["next_attempt_at"] is None
    advance(control, 86400)
    assert receiver.count() == 3


def test_always_failing_receiver_gets_8_attempts_then_failed(client, control, make_receiver):
    receiver = make_receiver([500])
    freeze(control)
    endpoint = register(client, receiver.url)
    create_lead(client)
    for number, wait in enumerate([1, 5, 30, 300, 1800, 7200, 43200], start=2):
        logged(client, endpoint["id"], number - 1)  # the previous attempt is recorded, its retry scheduled
        if wait > 1:
            advance(control, wait - 1)  # starts every job due by then
            assert receiver.count() == number - 1, f"attempt {number} came before {wait} s"
        advance(control, 1)
        receiver.wait(number)
    delivery = logged(client, endpoint["id"], 8)
    assert delivery["state"] == "failed" and delivery["next_attempt_at"] is None
    advance(control, 86400)
    assert receiver.count() == 8
    (delivery,) = deliveries(client, endpoint["id"])
    assert [a["status_code"] for a in delivery["attempts"]] == [500] * 8
    assert len({r.headers["x-hadar-delivery"] for r in receiver.requests}) == 1


def test_unreachable_url_records_attempt_with_null_status_and_error(client, control):
    closed = f"http://127.0.0.1:{free_port()}/hook"
    freeze(control)
    endpoint = register(client, closed)
    create_lead(client)
    delivery = logged(client, endpoint["id"], 1)
    (attempt,) = delivery["attempts"]
    assert attempt["status_code"] is None
    assert attempt["error"]
    assert delivery["state"] == "retrying"


# --- redeliver, rotate, delete --------------------------------------------------------------------------------
def test_redeliver__202_and_receiver_gets_same_delivery_id_again(client, receiver):
    endpoint = register(client, receiver.url)
    create_lead(client)
    (first,) = receiver.wait(1)
    delivery_id = first.headers["x-hadar-delivery"]
    assert logged(client, endpoint["id"], 1)["state"] == "succeeded"

    response = client.post(f"/webhooks/{endpoint['id']}/deliveries/{delivery_id}/redeliver")
    assert response.status_code == 202, response.text
    assert response.json()["data"]["id"] == delivery_id
    _, again = receiver.wait(2)
    assert again.headers["x-hadar-delivery"] == delivery_id
    assert again.body == first.body
    assert python_verify(endpoint["secret"], again.body, again.headers["x-hadar-signature"])
    delivery = logged(client, endpoint["id"], 2)
    assert delivery["id"] == delivery_id and delivery["state"] == "succeeded"


def test_rotate_secret__later_deliveries_verify_only_with_new_secret(client, receiver):
    endpoint = register(client, receiver.url)
    response = client.post(f"/webhooks/{endpoint['id']}/rotate-secret")
    assert response.status_code == 200, response.text
    new_secret = response.json()["data"]["secret"]
    assert re.fullmatch(r"whsec_[A-Za-z0-9]{32}", new_secret)
    assert new_secret != endpoint["secret"]

    create_lead(client)
    (request,) = receiver.wait(1)
    header = request.headers["x-hadar-signature"]
    assert python_verify(new_secret, request.body, header)
    assert not python_verify(endpoint["secret"], request.body, header)


def test_deleted_endpoint_gets_no_more_deliveries(client, control, make_receiver):
    kept, deleted = make_receiver(), make_receiver()
    register(client, kept.url)
    endpoint = register(client, deleted.url)
    assert client.delete(f"/webhooks/{endpoint['id']}").status_code == 200
    assert client.get(f"/webhooks/{endpoint['id']}").status_code == 404

    create_lead(client)
    kept.wait(1)  # the event went out: the deleted endpoint would have had its attempt by now too
    advance(control, 60)
    assert deleted.count() == 0
    all_deliveries = control.get("/deliveries", params={"api": "hadar"}).json()["data"]
    assert all(d["endpoint_id"] != endpoint["id"] for d in all_deliveries)


# --- replay window --------------------------------------------------------------------------------------------
def test_signature_t_is_wall_time__payload_keeps_sandbox_time(make_receiver):
    """Like Stripe under test clocks: `t=` is real time (a receiver compares it with its own clock and the
    page's five-minute rule), while the payload's timestamps are the sandbox's."""
    wall = [datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)]
    config = Config(db="memory", plans={"*": 10**9}, validate_responses=True)
    app = create_app(config, clock=Clock(source=lambda: wall[0]))
    receiver = make_receiver()
    try:
        with (
            running_sandbox(config, app=app) as origin,
            httpx.Client(base_url=origin + "/hadar/v1", headers=bearer(MARINA_ADMIN), timeout=30) as http,
            httpx.Client(base_url=origin + "/_sandbox", timeout=30) as control,
        ):
            sandbox_now = parse_iso(advance(control, 3 * 86400)["now"])  # three days ahead of the wall clock
            endpoint = register(http, receiver.url)
            lead = create_lead(http)
            (request,) = receiver.wait(1)
            header = request.headers["x-hadar-signature"]
            assert int(header.split(",")[0].removeprefix("t=")) == int(wall[0].timestamp())
            assert parse_iso(lead["created_at"]) == sandbox_now
            assert json.loads(request.body)["data"]["created_at"] == lead["created_at"]

            wall_now = wall[0].timestamp()
            assert stripe_verify(endpoint["secret"], request.body, header, now=wall_now)
            assert stripe_verify(endpoint["secret"], request.body, header, now=wall_now + 300)
            assert not stripe_verify(endpoint["secret"], request.body, header, now=wall_now + 301)

            # Later deliveries carry the wall time they are sent at; the sandbox clock does not move `t`.
            wall[0] += timedelta(seconds=42)
            advance(control, 3600)
            create_lead(http, "Second Lead", "+971500000002")
            _, second = receiver.wait(2)
            assert second.headers["x-hadar-signature"].startswith(f"t={int(wall[0].timestamp())},")
    finally:
        runtime_of(app).store.close()


# --- resume after a restart ------------------------------------------------------------------------------------
def test_pending_retry_survives_restart_and_succeeds_with_same_delivery_id(tmp_path, make_receiver):
    config = Config(db=str(tmp_path / "sandbox.db"), plans={"*": 10**9}, validate_responses=True)
    receiver = make_receiver([500, 200])
    t0 = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=1)  # ahead of the wall clock
    with (
        running_sandbox(config) as origin,
        httpx.Client(base_url=origin + "/hadar/v1", headers=bearer(MARINA_ADMIN), timeout=30) as http,
        httpx.Client(base_url=origin + "/_sandbox", timeout=30) as control,
    ):
        freeze(control, t0)
        endpoint = register(http, receiver.url)
        create_lead(http, "Restart Resilient")
        (first,) = receiver.wait(1)
        assert logged(http, endpoint["id"], 1)["state"] == "retrying"

    # A new app on the same file: its clock starts at wall time, before the retry is due.
    with (
        running_sandbox(config) as origin,
        httpx.Client(base_url=origin + "/hadar/v1", headers=bearer(MARINA_ADMIN), timeout=30) as http,
        httpx.Client(base_url=origin + "/_sandbox", timeout=30) as control,
    ):
        time.sleep(0.3)  # the worker polls every 0.1 s
        assert receiver.count() == 1  # nothing ran before sandbox time reached the retry
        freeze(control, t0)
        advance(control, 1)
        _, second = receiver.wait(2)
        logged(http, endpoint["id"], 2)
        assert second.headers["x-hadar-delivery"] == first.headers["x-hadar-delivery"]
        assert python_verify(endpoint["secret"], second.body, second.headers["x-hadar-signature"])
        delivery = logged(http, endpoint["id"], 2)
        assert delivery["id"] == first.headers["x-hadar-delivery"]
        assert delivery["state"] == "succeeded"
        assert [a["status_code"] for a in delivery["attempts"]] == [500, 200]
