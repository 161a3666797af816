"""Real `serve` processes on one database behave as one sandbox: `serve --workers 2` plus a second `serve`
on another port (as a second machine behind a load balancer would be). Writes, rate limits, webhook
deliveries and per-tenant clocks hold across all of them, on SQLite (WAL file) and on PostgreSQL + Redis."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import httpx
import pytest

from sandbox.contracts.sandbox_server import free_port
from sandbox.core.clock import parse_iso
from tests.conftest import MARINA_ADMIN, PALM, bearer, wait_for

MARINA = "marina-homes"
STARTER = "hdr_test_marina_starter_admin_c5a91f27"  # 60 requests per minute


@contextmanager
def serve(db: str, *extra: str, workers: int = 1, env: dict[str, str] | None = None) -> Iterator[str]:
    """A real `lead-sandbox serve` (hadar only, at /v1) until the block ends; yields its origin."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--api", "hadar", "--port", str(port), "--db", db,
         "--workers", str(workers), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env={**os.environ, **(env or {})},
    )
    origin = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(origin + "/_sandbox/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise AssertionError(f"serve did not become healthy:\n{process.communicate()[0]}")
            time.sleep(0.1)
        yield origin
    finally:
        process.terminate()  # graceful: uvicorn stops each worker, which hands back unfinished job claims
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        if process.stdout is not None:
            process.stdout.close()


def _pids(origin: str, attempts: int = 200) -> set[int]:
    """Worker pids seen on fresh connections (each request a new connection, so any worker may accept)."""
    seen: set[int] = set()
    for _ in range(attempts):
        seen.add(httpx.get(origin + "/_sandbox/health", headers={"Connection": "close"}).json()["pid"])
        if len(seen) > 1:
            break
    return seen


@pytest.fixture(params=["sqlite", "postgresql+redis"])
def deployment(request: pytest.FixtureRequest, tmp_path) -> tuple[str, list[str], dict[str, str]]:  # type: ignore[no-untyped-def]
    """(database, extra serve flags, environment) of one deployment."""
    if request.param == "sqlite":
        return str(tmp_path / "team.db"), [], {}
    db = request.getfixturevalue("postgres_url")
    redis_url = request.getfixturevalue("redis_url")
    return db, ["--redis", redis_url], {"LEAD_SANDBOX_REDIS_PREFIX": f"ls-test-{uuid.uuid4().hex[:12]}"}


def test_two_workers_and_a_second_process_behave_as_one_sandbox(deployment, make_receiver):
    db, extra, env = deployment
    receiver = make_receiver()
    with serve(db, *extra, workers=2, env=env) as a, serve(db, *extra, env=env) as b:
        assert len(_pids(a)) == 2  # two worker processes answer on A's one port
        hadar_a = httpx.Client(base_url=a + "/v1", headers=bearer(MARINA_ADMIN), timeout=30)
        hadar_b = httpx.Client(base_url=b + "/v1", headers=bearer(MARINA_ADMIN), timeout=30)

        # a record written through one is read through the other
        lead = hadar_a.post("/leads", json={"name": "Shared", "phone": "+971501234567", "source": "website"})
        assert lead.status_code == 201, lead.text
        assert hadar_b.get(f"/leads/{lead.json()['data']['id']}").json()["data"]["name"] == "Shared"

        # one delivery per event across every worker polling the same jobs
        endpoint = hadar_b.post("/webhooks", json={"url": receiver.url, "events": ["lead.created"]})
        assert endpoint.status_code == 201, endpoint.text
        created = [
            (hadar_a, hadar_b)[i % 2].post("/leads", json={"name": f"L{i}", "phone": "+971501234567", "source": "website"})
            for i in range(8)
        ]
        assert all(r.status_code == 201 for r in created)
        receiver.wait(8, timeout=30)
        time.sleep(1.5)  # room for a duplicate to arrive, were a job claimed twice
        event_ids = [r.headers.get("x-hadar-delivery") or r.body for r in receiver.requests]
        assert len(receiver.requests) == 8 and len(set(event_ids)) == 8

        # the 61st request of a 60/min key across both processes is 429
        statuses = [
            httpx.get((a, b)[i % 2] + "/v1/leads?limit=1", headers=bearer(STARTER), timeout=30).status_code
            for i in range(60)
        ]
        assert statuses == [200] * 60
        assert httpx.get(a + "/v1/leads?limit=1", headers=bearer(STARTER)).status_code == 429
        assert httpx.get(b + "/v1/leads?limit=1", headers=bearer(STARTER)).status_code == 429

        # one tenant's clock advance, made through A, moves that tenant on B and leaves the other alone
        before = parse_iso(httpx.get(b + "/_sandbox/clock", params={"api": "hadar", "tenant": PALM}).json()["data"]["now"])
        assert httpx.post(a + "/_sandbox/clock/advance",
                          json={"seconds": 86400, "api": "hadar", "tenant": MARINA}).status_code == 200
        marina = parse_iso(httpx.get(b + "/_sandbox/clock", params={"api": "hadar", "tenant": MARINA}).json()["data"]["now"])
        palm = parse_iso(httpx.get(b + "/_sandbox/clock", params={"api": "hadar", "tenant": PALM}).json()["data"]["now"])
        assert marina - before > timedelta(hours=23)
        assert palm - before < timedelta(hours=1)

        # faults armed through one process are counted down by whichever serves the call
        armed = httpx.post(a + "/_sandbox/faults", json={"api": "hadar", "operation_id": "listLeads", "status": 503, "count": 2})
        assert armed.status_code == 201, armed.text
        assert [hadar_b.get("/leads").status_code, hadar_a.get("/leads").status_code, hadar_b.get("/leads").status_code] \
            == [503, 503, 200]
        hadar_a.close()
        hadar_b.close()


def test_a_killed_worker_leaves_no_stuck_claim_and_loses_no_acknowledged_write(tmp_path):
    """kill -9 of a serve process: what it acknowledged is stored; a restart on the file serves on."""
    db = str(tmp_path / "crash.db")
    with serve(db) as first:
        lead = httpx.post(first + "/v1/leads", headers=bearer(MARINA_ADMIN),
                          json={"name": "Acked", "phone": "+971501234567", "source": "website"})
        assert lead.status_code == 201
        pid = httpx.get(first + "/_sandbox/health").json()["pid"]
        os.kill(pid, 9)
        wait_for(lambda: _dead(first), timeout=10)
    with serve(db) as second:
        got = httpx.get(second + f"/v1/leads/{lead.json()['data']['id']}", headers=bearer(MARINA_ADMIN))
        assert got.status_code == 200 and got.json()["data"]["name"] == "Acked"


def _dead(origin: str) -> bool:
    try:
        httpx.get(origin + "/_sandbox/health", timeout=1)
    except httpx.TransportError:
        return True
    return False
