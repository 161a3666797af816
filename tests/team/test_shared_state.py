"""Team sandbox, in process: per-tenant clocks, ephemeral tenants, health, and rate limits when Redis is
down (Hadar fails closed, the others serve unmetered). Each runs on SQLite and on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.contracts.sandbox_server import free_port, running_sandbox
from sandbox.core.clock import Clock, parse_iso
from tests.conftest import MARINA_ADMIN, PALM, bearer

MARINA = "marina-homes"
ASKAD_ADMIN = "ask_test_brightpath_admin_5e2a9c71"


@pytest.fixture
def wall() -> list[datetime]:
    """The wall time the sandbox sees; a test moves it by assigning wall[0]."""
    return [datetime.now(UTC)]


@pytest.fixture
def sandbox(db_url: str, wall: list[datetime]):  # type: ignore[no-untyped-def]
    app = create_app(Config(db=db_url, plans={"*": 10**9}), clock=Clock(lambda: wall[0]))
    with running_sandbox(Config(), app=app) as origin:
        yield origin, runtime_of(app)
    runtime_of(app).store.close()


def _now(control: httpx.Client, **scope: str) -> datetime:
    response = control.get("/clock", params=scope)
    assert response.status_code == 200, response.text
    return parse_iso(response.json()["data"]["now"])


def test_one_tenants_clock_advance_leaves_another_tenants_time_alone(sandbox, wall):
    origin, _ = sandbox
    with httpx.Client(base_url=origin + "/_sandbox", timeout=30) as control:
        control.post("/clock/freeze", json={"at": "2031-01-01T00:00:00.000Z"})  # every tenant
        moved = control.post("/clock/advance", json={"seconds": 3600, "api": "hadar", "tenant": MARINA})
        assert moved.status_code == 200, moved.text
        assert moved.json()["data"]["tenant"] == MARINA
        assert _now(control, api="hadar", tenant=MARINA) == datetime(2031, 1, 1, 1, tzinfo=UTC)
        assert _now(control, api="hadar", tenant=PALM) == datetime(2031, 1, 1, tzinfo=UTC)
        assert _now(control) == datetime(2031, 1, 1, tzinfo=UTC)
        # without api/tenant every tenant moves, each from its own time
        control.post("/clock/advance", json={"seconds": 60})
        assert _now(control, api="hadar", tenant=MARINA) == datetime(2031, 1, 1, 1, 1, tzinfo=UTC)
        assert _now(control, api="hadar", tenant=PALM) == datetime(2031, 1, 1, 0, 1, tzinfo=UTC)
        # a tenant's records carry its own time
        with httpx.Client(base_url=origin + "/hadar/v1", headers=bearer(MARINA_ADMIN), timeout=30) as hadar:
            lead = hadar.post("/leads", json={"name": "Clocked", "phone": "+971501234567", "source": "website"})
            assert lead.status_code == 201, lead.text
            assert lead.json()["data"]["created_at"].startswith("2031-01-01T01:01")
        one_only = control.post("/clock/advance", json={"seconds": 60, "api": "hadar"})
        assert one_only.status_code == 400
        control.post("/clock/reset", json={"api": "hadar", "tenant": MARINA})
        assert abs(_now(control, api="hadar", tenant=MARINA) - wall[0]) < timedelta(seconds=5)
        assert _now(control, api="hadar", tenant=PALM) == datetime(2031, 1, 1, 0, 1, tzinfo=UTC)


def test_ephemeral_tenant_has_keys_and_is_deleted_with_its_data_after_its_ttl(sandbox, wall):
    origin, runtime = sandbox
    with httpx.Client(base_url=origin + "/_sandbox", timeout=30) as control:
        created = control.post("/tenants", json={"api": "hadar", "ttl_seconds": 600})
        assert created.status_code == 201, created.text
        data = created.json()["data"]
        slug, key = data["tenant"]["slug"], data["key"]["key"]
        assert slug.startswith("ci-") and data["expires_at"]
        other = control.post("/tenants", json={"api": "hadar", "ttl_seconds": 600}).json()["data"]["tenant"]["slug"]
        assert other != slug
        with httpx.Client(base_url=origin + "/hadar/v1", headers=bearer(key), timeout=30) as hadar:
            assert hadar.get("/leads").status_code == 200  # seeded like the default tenants
            control.post("/clock/advance", json={"seconds": 86400, "api": "hadar", "tenant": slug})
            assert runtime.worker.purge_expired_tenants() == []  # the TTL is wall time: test clocks do not expire tenants
            wall[0] += timedelta(seconds=601)
            assert sorted(runtime.worker.purge_expired_tenants()) == sorted([("hadar", slug), ("hadar", other)])
            assert hadar.get("/leads").status_code == 401
        assert runtime.store.get_tenant("hadar", slug) is None
        assert runtime.store.collection("hadar", slug, "leads").count() == 0
        assert runtime.store.get_tenant("hadar", PALM) is not None


def test_health_reports_the_database_and_no_redis(sandbox):
    origin, _ = sandbox
    response = httpx.get(origin + "/_sandbox/health")
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["db"], body["redis"]) == ("ok", "ok", "absent")


def test_while_redis_is_unreachable_hadar_fails_closed_and_askad_serves_unmetered(tmp_path):
    closed = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there: Redis is "down"
    config = Config(db=str(tmp_path / "s.db"), redis=closed)
    with running_sandbox(config) as origin:
        hadar = httpx.get(origin + "/hadar/v1/leads", headers=bearer(MARINA_ADMIN))
        assert hadar.status_code == 503
        assert hadar.json()["error"]["code"] == "service_unavailable"
        askad = httpx.get(origin + "/askad/api/v1/contacts", headers=bearer(ASKAD_ADMIN))
        assert askad.status_code == 200
        assert "x-ratelimit-limit" not in askad.headers
        health = httpx.get(origin + "/_sandbox/health")
        assert health.status_code == 503
        assert health.json()["redis"].startswith("unreachable") and health.json()["db"] == "ok"


def test_redis_counts_one_budget_for_two_sandboxes(tmp_path, redis_url):
    """Two sandboxes (as two machines would) on one Redis: a 60/min key gets 60 in all, not 60 each."""
    import uuid

    prefix = f"ls-test-{uuid.uuid4().hex[:12]}"
    starter = "hdr_test_marina_starter_admin_c5a91f27"
    configs = [Config(db=str(tmp_path / f"{n}.db"), redis=redis_url, redis_prefix=prefix) for n in "ab"]
    with running_sandbox(configs[0]) as a, running_sandbox(configs[1]) as b:
        statuses = [httpx.get((a, b)[i % 2] + "/hadar/v1/leads?limit=1", headers=bearer(starter)).status_code
                    for i in range(60)]
        assert statuses == [200] * 60
        last = httpx.get(b + "/hadar/v1/leads?limit=1", headers=bearer(starter))
        assert last.status_code == 429
        assert last.headers["x-ratelimit-remaining"] == "0" and int(last.headers["retry-after"]) >= 1
        health = httpx.get(a + "/_sandbox/health").json()
        assert health["redis"] == "ok"
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"{prefix}*"):
        client.delete(key)


def test_graceful_shutdown_hands_back_the_claims_of_jobs_in_flight(tmp_path):
    """A job still running when its worker stops is pending again at once (no lease to wait out)."""
    import asyncio

    from sandbox.core.store import Job

    app = create_app(Config(db=str(tmp_path / "stop.db")))
    runtime = runtime_of(app)
    started = asyncio.Event()

    async def hangs(_runtime, _job) -> None:  # type: ignore[no-untyped-def]
        started.set()
        await asyncio.sleep(3600)

    runtime.worker.handlers["test.hangs"] = hangs
    runtime.store.add_job(Job("job_hang", "hadar", MARINA, "test.hangs", "2000-01-01T00:00:00.000Z", {}))

    async def scenario() -> None:
        runtime.worker.ensure_started()
        await asyncio.wait_for(started.wait(), 30)
        assert runtime.store._rows("SELECT state FROM jobs WHERE id = 'job_hang'") == [("running",)]
        await runtime.worker.stop()

    asyncio.run(scenario())
    assert runtime.store._rows("SELECT state, lease_until FROM jobs WHERE id = 'job_hang'") == [("pending", None)]
    runtime.store.close()


def test_a_test_takes_a_fresh_tenant_of_a_shared_deployment_and_moves_only_its_clock(sandbox):
    from sandbox.contracts.shared_deployment import fresh_tenant

    origin, _ = sandbox
    mine, yours = fresh_tenant(origin, "hadar"), fresh_tenant(origin, "hadar")
    assert mine.slug != yours.slug and mine.base_url == origin + "/hadar/v1"
    with httpx.Client(base_url=mine.base_url, headers=bearer(mine.key), timeout=30) as hadar:
        assert hadar.get("/leads").status_code == 200
    with httpx.Client(base_url=yours.base_url, headers=bearer(mine.key), timeout=30) as hadar:
        lead_of_yours = httpx.get(yours.base_url + "/leads?limit=1", headers=bearer(yours.key)).json()["data"]["items"][0]
        assert hadar.get(f"/leads/{lead_of_yours['id']}").status_code == 404  # my key sees my tenant only
    before = parse_iso(yours.now())
    mine.advance_clock(7 * 86400)
    assert parse_iso(mine.now()) - before > timedelta(days=6)
    assert parse_iso(yours.now()) - before < timedelta(hours=1)
    href = fresh_tenant(origin, "href")
    assert href.base_url == f"{origin}/href/{href.slug}/api"
