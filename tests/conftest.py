"""Shared fixtures: a fresh in-memory sandbox per test, served by a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.http.connexion_fence.lean_operation import PlannedArguments
from sandbox.runtime import Runtime
from sandbox.serving import serve_in_thread

# Every handler call whose arguments come from a plan (sandbox/http/connexion_fence/arguments.py) is checked
# against what Connexion's own parameter decorator would pass, in every test that serves the app in-process.
PlannedArguments.verify = True

# Every sandbox the tests start (in-process or as a subprocess) delivers webhooks to loopback only:
# fuzzed or example endpoint URLs must never cause traffic off this machine. Config reads it when built.
os.environ["LEAD_SANDBOX_WEBHOOK_HOSTS"] = "loopback"

# Parsed specs are cached as JSON (sandbox/spec.py) in a folder of this run, not in the user's cache directory;
# subprocesses (the CLI tests) inherit it.
_SPEC_CACHE = tempfile.mkdtemp(prefix="lead-sandbox-spec-cache-")
os.environ["LEAD_SANDBOX_CACHE_DIR"] = _SPEC_CACHE
atexit.register(shutil.rmtree, _SPEC_CACHE, ignore_errors=True)

# postgres_url, redis_url and db_url (each engine): real services, skipped with one line when absent
pytest_plugins = ["tests.backends"]

MARINA_ADMIN = "hdr_test_marina_growth_admin_4f9c2a7b"
MARINA_READONLY = "hdr_test_marina_growth_readonly_8d1e6b30"
MARINA_STARTER = "hdr_test_marina_starter_admin_c5a91f27"
MARINA_ENTERPRISE = "hdr_test_marina_enterprise_admin_e07b3d58"
PALM_ADMIN = "hdr_test_palmcrest_starter_admin_19b7e4c2"
PALM_READONLY = "hdr_test_palmcrest_starter_readonly_6a3f0d81"

MARINA_SEEDED_LEADS = 150
PALM_SEEDED_LEADS = 120


def _lead_example(name: str) -> dict:
    """A createLead request example of openapi/hadar.yaml: the vendor page's own bodies."""
    from sandbox.spec import load_spec

    examples = load_spec("hadar.yaml")["paths"]["/leads"]["post"]["requestBody"]["content"]["application/json"]
    return dict(examples["examples"][name]["value"])


AISHA = _lead_example("aisha")
OMAR = _lead_example("omar")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def config() -> Config:
    return Config(db="memory", plans={"*": 10**9}, validate_responses=True)


@pytest.fixture
def app(config: Config):
    application = create_app(config)
    yield application
    runtime_of(application).store.close()


@pytest.fixture
def runtime(app) -> Runtime:
    return runtime_of(app)


@pytest.fixture
def server(app, config: Config) -> Iterator[str]:
    with running_sandbox(config, app=app) as origin:
        yield origin


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server + "/hadar/v1", headers=bearer(MARINA_ADMIN), timeout=30) as c:
        yield c


# --- webhook receivers, the control plane, waiting ---------------------------------------------------
MARINA = "marina-homes"
PALM = "palm-crest"


def wait_for(predicate: Callable[[], object], timeout: float = 15.0, interval: float = 0.02) -> object:
    """Poll `predicate` until it returns something truthy; fail after `timeout` seconds. The timeout is
    generous (it costs nothing when the condition comes true): CI's two cores run servers, receivers and
    background deliveries of a loaded run, where a 2-3 s deadline failed now and then."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


@dataclass
class Received:
    headers: dict[str, str]  # lower-cased names
    body: bytes


@dataclass
class Receiver:
    """A real HTTP webhook receiver on 127.0.0.1: records (headers, raw body) and answers `statuses`
    in order (the last one repeats; 200 when empty)."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def __call__(self, scope, receive, send) -> None:  # a bare ASGI app
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while (await receive())["type"] != "lifespan.shutdown":
                    pass
                await send({"type": "lifespan.shutdown.complete"})
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        with self._lock:
            index = len(self.requests)
            self.requests.append(Received(headers, body))
            status = self.statuses[min(index, len(self.statuses) - 1)] if self.statuses else 200
        await send({"type": "http.response.start", "status": status, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def of_type(self, event_type: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.headers.get("x-hadar-event") == event_type]

    def wait(self, n: int = 1, timeout: float = 15.0) -> list[Received]:
        """Wait until at least `n` requests arrived; returns them all."""
        wait_for(lambda: self.count() >= n, timeout)
        with self._lock:
            return list(self.requests)


@pytest.fixture
def make_receiver() -> Iterator[Callable[..., Receiver]]:
    """`make_receiver(statuses=[500, 200])` -> a started Receiver (stopped after the test)."""
    from contextlib import ExitStack

    with ExitStack() as stack:

        def make(statuses: list[int] | None = None) -> Receiver:
            receiver = Receiver(statuses=list(statuses or []))
            receiver.url = stack.enter_context(serve_in_thread(receiver, lifespan="off")) + "/hook"
            return receiver

        yield make


@pytest.fixture
def receiver(make_receiver) -> Receiver:
    return make_receiver()


@pytest.fixture
def control(server: str) -> Iterator[httpx.Client]:
    """The /_sandbox control plane of the `server` fixture (open: no admin token)."""
    with httpx.Client(base_url=server + "/_sandbox", timeout=30) as c:
        yield c


class Recorder:
    """A loopback webhook receiver: records (lower-cased headers, raw body) of every POST."""

    def __init__(self) -> None:
        self.url = ""
        self._lock = threading.Lock()
        self._seen: list[tuple[dict[str, str], bytes]] = []

        async def hook(request: Request) -> PlainTextResponse:
            body = await request.body()
            with self._lock:
                self._seen.append(({k.lower(): v for k, v in request.headers.items()}, body))
            return PlainTextResponse("ok")

        self.app = Starlette(routes=[Route("/{path:path}", hook, methods=["POST"])])

    def received(self) -> list[tuple[dict[str, str], bytes]]:
        with self._lock:
            return list(self._seen)

    def first(self, timeout: float = 2.0) -> tuple[dict[str, str], bytes]:
        """The first webhook received (waits up to `timeout`)."""
        wait_for(lambda: self.received(), timeout)
        return self.received()[0]

    def wait(self, n: int) -> list[tuple[dict[str, str], bytes]]:
        """Wait until at least `n` webhooks arrived; returns them all."""
        wait_for(lambda: len(self.received()) >= n)
        return self.received()

    def wait_event(self, event: str, predicate: Callable[[dict], bool] = lambda _: True) -> tuple[dict[str, str], bytes]:
        def find() -> tuple[dict[str, str], bytes] | None:
            for headers, body in self.received():
                payload = json.loads(body)
                if payload.get("event") == event and predicate(payload):
                    return headers, body
            return None

        return wait_for(find)  # type: ignore[return-value]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    """A loopback receiver that records every webhook and answers 200 (payloads with an `event` key)."""
    rec = Recorder()
    with serve_in_thread(rec.app, lifespan="off") as origin:
        rec.url = origin + "/webhooks"
        yield rec
