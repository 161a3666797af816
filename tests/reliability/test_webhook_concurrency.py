"""Issue 12 point 5: one slow webhook endpoint delays neither another tenant's deliveries nor the control
plane, and every attempt has a deadline. Real receivers on loopback; nothing here is timed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from conftest import MARINA_ADMIN, PALM_ADMIN, Receiver, bearer, wait_for

from sandbox.config import Config
from sandbox.serving import serve_in_thread


@dataclass
class HangingReceiver(Receiver):
    """Records each request, then holds it unanswered until `release()` (a receiver that takes its time)."""

    released: threading.Event = field(default_factory=threading.Event)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            while (await receive()).get("more_body"):
                pass
            with self._lock:
                self.requests.append(_received(scope))
            while not self.released.is_set():
                await asyncio.sleep(0.01)
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"late"})
            return
        await super().__call__(scope, receive, send)

    def release(self) -> None:
        self.released.set()


def _received(scope):
    from conftest import Received

    return Received({k.decode().lower(): v.decode() for k, v in scope["headers"]}, b"")


@pytest.fixture
def config() -> Config:
    # attempts are bounded by the vendor's 30 s; 2 s here, so the timeout test does not wait long
    return Config(db="memory", plans={"*": 10**9}, webhook_hosts="loopback", webhook_timeout=2.0)


@pytest.fixture
def slow() -> Iterator[HangingReceiver]:
    receiver = HangingReceiver()
    with serve_in_thread(receiver, lifespan="off") as origin:
        receiver.url = origin + "/hook"
        try:
            yield receiver
        finally:
            receiver.release()


@pytest.fixture
def fast() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve_in_thread(receiver, lifespan="off") as origin:
        receiver.url = origin + "/hook"
        yield receiver


def _hadar(server: str, key: str) -> httpx.Client:
    return httpx.Client(base_url=server + "/hadar/v1", headers=bearer(key), timeout=10)


def _register_and_create(server: str, key: str, url: str) -> str:
    with _hadar(server, key) as http:
        endpoint = http.post("/webhooks", json={"url": url, "events": ["lead.created"]})
        assert endpoint.status_code == 201, endpoint.text
        lead = http.post("/leads", json={"name": "Slow Or Fast", "phone": "+971500000001"})
        assert lead.status_code == 201, lead.text
        return str(endpoint.json()["data"]["id"])


def test_a_slow_endpoint_delays_neither_another_tenant_nor_the_clock(server, slow, fast):
    _register_and_create(server, MARINA_ADMIN, slow.url)
    wait_for(lambda: slow.count() == 1)  # tenant A's delivery is now held open by its receiver

    with httpx.Client(base_url=server + "/_sandbox", timeout=10) as control:
        # the old worker held its lock for the whole batch: advancing waited on A's receiver (here: for ever)
        advanced = control.post("/clock/advance", json={"seconds": 60})
        assert advanced.status_code == 200, advanced.text

    _register_and_create(server, PALM_ADMIN, fast.url)
    fast.wait(1, timeout=10)  # tenant B is served while A's receiver still holds its request
    assert slow.count() == 1 and not slow.released.is_set()


def test_an_attempt_that_gets_no_answer_times_out_and_is_retried(server, slow):
    endpoint_id = _register_and_create(server, MARINA_ADMIN, slow.url)
    with _hadar(server, MARINA_ADMIN) as http:
        def attempted() -> dict | None:
            items = http.get(f"/webhooks/{endpoint_id}/deliveries").json()["data"]["items"]
            return items[0] if items and items[0]["attempts"] else None

        delivery = wait_for(attempted, timeout=15)
    attempt = delivery["attempts"][0]
    assert attempt["status_code"] is None and attempt["error"].startswith("timeout")
    assert delivery["state"] == "retrying"  # a timeout is a failed attempt: the vendor's schedule applies
    assert slow.count() == 1


def test_many_slow_deliveries_of_one_tenant_leave_room_for_others(slow, fast):
    from sandbox.contracts.sandbox_server import running_sandbox
    from sandbox.worker import PER_TENANT

    # the vendors' 30 s per attempt: nothing times out while the test looks
    with running_sandbox(Config(db="memory", plans={"*": 10**9}, webhook_hosts="loopback")) as server:
        with _hadar(server, MARINA_ADMIN) as http:
            assert http.post("/webhooks", json={"url": slow.url, "events": ["lead.created"]}).status_code == 201
            for number in range(PER_TENANT + 5):  # more than one tenant may have in flight
                assert http.post("/leads", json={"name": f"Lead {number}", "phone": "+971500000002"}).status_code == 201
        wait_for(lambda: slow.count() == PER_TENANT, timeout=10)
        _register_and_create(server, PALM_ADMIN, fast.url)
        fast.wait(1, timeout=10)
        assert slow.count() == PER_TENANT  # the rest of A's deliveries wait for A's own slots
        slow.release()
        wait_for(lambda: slow.count() == PER_TENANT + 5, timeout=10)  # and go out once A's receiver answers
