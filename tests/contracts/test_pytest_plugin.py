"""The pytest plugin: the `lead_sandbox` fixture serves a real sandbox; `--lead-sandbox-api` adds the
contract suite as a test item."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx


def test_lead_sandbox_fixture__serves_an_isolated_sandbox(lead_sandbox) -> None:  # type: ignore[no-untyped-def]
    base = lead_sandbox.base_url("hadar")
    key = lead_sandbox.key("hadar", tenant="marina-homes")
    assert base.startswith("http://127.0.0.1:") and base.endswith("/hadar/v1")
    created = httpx.post(
        f"{base}/leads", json={"name": "Aisha Khan", "phone": "+971501234567"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert created.status_code == 201
    lead_id = created.json()["data"]["id"]
    other = lead_sandbox.key("hadar", tenant="palm-crest")
    assert httpx.get(f"{base}/leads/{lead_id}", headers={"Authorization": f"Bearer {other}"}).status_code == 404


def test_plugin__contract_option_adds_a_passing_item(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--lead-sandbox-api", "hadar",
         "--lead-sandbox-max-examples", "5", "-o", "addopts=", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=600, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


def test_plugin__contract_item_fails_for_an_unreachable_target(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--lead-sandbox-api", "hadar",
         "--lead-sandbox-url", "http://127.0.0.1:9/v1", "--lead-sandbox-max-examples", "2", "-o", "addopts=",
         str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=600, cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "contract suite for hadar failed" in result.stdout


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_lead_sandbox__runs_beside_the_test_process(lead_sandbox) -> None:  # type: ignore[no-untyped-def]
    process = lead_sandbox.server.process
    assert process is not None and process.pid != os.getpid() and process.poll() is None


def test_lead_sandbox__each_handle_gets_its_own_fresh_tenant(lead_sandbox_server) -> None:  # type: ignore[no-untyped-def]
    from sandbox.contracts.pytest_plugin import LeadSandbox

    first, second = LeadSandbox(lead_sandbox_server, "first"), LeadSandbox(lead_sandbox_server, "second")
    try:
        base = first.base_url("hadar")
        created = httpx.post(f"{base}/leads", json={"name": "Isolation Probe", "phone": "+971501234567"},
                             headers=_bearer(first.key("hadar")))
        assert created.status_code == 201, created.text
        lead_id = created.json()["data"]["id"]
        assert first.tenant("hadar") != second.tenant("hadar")
        assert first.tenant("hadar") not in {"marina-homes", "palm-crest"}
        assert httpx.get(f"{base}/leads/{lead_id}", headers=_bearer(second.key("hadar"))).status_code == 404
        assert httpx.get(f"{base}/leads/{lead_id}", headers=_bearer(first.key("hadar"))).status_code == 200
    finally:
        first.close()
        second.close()


def test_lead_sandbox__reset_forgets_what_the_test_wrote(lead_sandbox) -> None:  # type: ignore[no-untyped-def]
    base, headers = lead_sandbox.base_url("hadar"), _bearer(lead_sandbox.key("hadar"))
    created = httpx.post(f"{base}/leads", json={"name": "Reset Probe", "phone": "+971501234567"}, headers=headers)
    assert created.status_code == 201
    old_tenant = lead_sandbox.tenant("hadar")
    lead_sandbox.reset("hadar")
    assert httpx.get(f"{base}/leads/{created.json()['data']['id']}", headers=headers).status_code == 401  # gone
    fresh = _bearer(lead_sandbox.key("hadar"))
    assert lead_sandbox.tenant("hadar") != old_tenant
    assert httpx.get(f"{base}/leads/{created.json()['data']['id']}", headers=fresh).status_code == 404


def test_lead_sandbox__trigger_then_read_deliveries(lead_sandbox) -> None:  # type: ignore[no-untyped-def]
    from conftest import Receiver

    from sandbox.serving import serve_in_thread

    receiver = Receiver()
    with serve_in_thread(receiver, lifespan="off") as origin:
        endpoint = lead_sandbox.webhook_endpoint("askad", origin + "/hooks", secret="whsec_" + "a" * 32)
        assert endpoint["secret"] == "whsec_" + "a" * 32
        event = lead_sandbox.trigger("askad", "deal.closed")
        (received,) = receiver.wait(1, timeout=15)
    assert event["id"].encode() in received.body
    (delivery,) = lead_sandbox.deliveries("askad")
    assert delivery["event_type"] == "deal.closed" and delivery["tenant"] == lead_sandbox.tenant("askad")
    assert lead_sandbox.outbox("askad") == []


def test_lead_sandbox__clock_helpers(lead_sandbox) -> None:  # type: ignore[no-untyped-def]
    from datetime import datetime

    def at(value: str) -> datetime:
        return datetime.fromisoformat(value)

    frozen = lead_sandbox.freeze("hadar")
    try:
        advanced = lead_sandbox.advance("2h")
        assert (at(advanced["now"]) - at(frozen["now"])).total_seconds() == 7200
        assert at(lead_sandbox.now("hadar")) == at(advanced["now"])
        marina = httpx.get(f"{lead_sandbox.origin}/_sandbox/clock", params={"api": "hadar", "tenant": "marina-homes"})
        assert at(marina.json()["data"]["now"]) < at(advanced["now"])  # another tenant's clock did not move
    finally:
        lead_sandbox.unfreeze()


def test_plugin__imports_nothing_generic_or_heavy() -> None:
    code = ("import sys, sandbox.contracts.pytest_plugin as p; "
            "heavy = sorted(m for m in ('contracts', 'fixtures', 'connexion', 'schemathesis', 'uvicorn', 'httpx') "
            "if m in sys.modules); print(heavy)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert result.stdout.strip() == "[]"
