"""Issue 12 point 8: expired idempotency entries and old webhook deliveries (with their attempts) are
purged on a schedule, by the sandbox clock; tenant data is kept."""

from __future__ import annotations

from datetime import timedelta

import httpx
from conftest import MARINA, MARINA_ADMIN, bearer, wait_for

from sandbox.core import retention
from sandbox.worker import JobWorker


def _idempotency_rows(runtime) -> int:
    return runtime.store._one("SELECT count(*) FROM idempotency_keys")[0]


def test_expired_idempotency_entries_are_purged_and_live_ones_kept(server, runtime):
    with httpx.Client(base_url=server + "/hadar/v1", headers=bearer(MARINA_ADMIN), timeout=10) as http:
        for number in range(3):
            response = http.post("/leads", json={"name": f"Kept Lead {number}", "phone": "+971500000010"},
                                 headers={"Idempotency-Key": f"retention-old-{number}"})
            assert response.status_code == 201
        runtime.clock.advance(timedelta(hours=23))
        fresh = http.post("/leads", json={"name": "Fresh Lead", "phone": "+971500000011"},
                          headers={"Idempotency-Key": "retention-fresh"})
        assert fresh.status_code == 201
        assert _idempotency_rows(runtime) == 4
        runtime.clock.advance(timedelta(hours=1, seconds=1))  # the first three are 24 h old now
        assert runtime.worker.purge()["idempotency_keys"] == 3
        assert _idempotency_rows(runtime) == 1
        replay = http.post("/leads", json={"name": "Fresh Lead", "phone": "+971500000011"},
                           headers={"Idempotency-Key": "retention-fresh"})
        assert replay.status_code == 201 and replay.json() == fresh.json()  # the live entry still replays
        leads = runtime.store.collection("hadar", MARINA, "leads")
        assert all(leads.get(r) for r in [fresh.json()["data"]["id"]])  # records themselves are never purged


def test_deliveries_older_than_30_days_are_purged_with_their_attempts(server, runtime, receiver):
    with httpx.Client(base_url=server + "/hadar/v1", headers=bearer(MARINA_ADMIN), timeout=10) as http:
        endpoint = http.post("/webhooks", json={"url": receiver.url, "events": ["lead.created"]}).json()["data"]
        assert http.post("/leads", json={"name": "Old Event", "phone": "+971500000012"}).status_code == 201
        receiver.wait(1)
        deliveries = f"/webhooks/{endpoint['id']}/deliveries"
        wait_for(lambda: http.get(deliveries).json()["data"]["items"][0]["state"] == "succeeded")
        runtime.clock.advance(retention.DELIVERIES_KEPT - timedelta(minutes=1))
        assert runtime.worker.purge()["webhook_deliveries"] == 0
        assert http.post("/leads", json={"name": "New Event", "phone": "+971500000013"}).status_code == 201
        receiver.wait(2)
        runtime.clock.advance(timedelta(minutes=2))
        assert runtime.worker.purge()["webhook_deliveries"] == 1
        items = http.get(deliveries).json()["data"]["items"]
        assert [d["payload"]["data"]["name"] for d in items] == ["New Event"]
    assert runtime.store.collection("hadar", MARINA, "webhook_deliveries").count() == 1


def test_the_worker_purges_on_a_schedule(monkeypatch, runtime):
    calls = []
    monkeypatch.setattr(retention, "EVERY_SECONDS", 0.0)
    monkeypatch.setattr(JobWorker, "purge", lambda self: calls.append(1) or {})
    import asyncio

    async def run_briefly() -> None:
        runtime.worker.ensure_started()
        while not calls:
            await asyncio.sleep(0.01)
        await runtime.worker.stop()

    asyncio.run(run_briefly())
    assert calls
