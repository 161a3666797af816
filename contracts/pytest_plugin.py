"""pytest plugin (entry point `lead_sandbox`, module `sandbox.contracts.pytest_plugin`).

`lead_sandbox`: a sandbox beside the test process (a `lead-sandbox serve` subprocess on a free loopback
port, started once per session; or a shared deployment with `--lead-sandbox-url`), and per test a fresh
tenant of each API the test touches, so state never leaks between tests. Helpers cover what a test of a
webhook consumer reaches for: trigger an event, advance the clock, read deliveries and the outbox, reset.

`--lead-sandbox-api NAME` adds the contract suite for that API as a test item.

Loaded into every pytest run of the environment it is installed in, this module imports only pytest and
the standard library at import time."""

from __future__ import annotations

import io
import itertools
import os
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

KEY_ENV = "LEAD_SANDBOX_KEY"
#: a test's tenants outlive the test by at most this long (seconds)
TENANT_TTL = 3600
URL_ENV = "LEAD_SANDBOX_URL"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lead-sandbox")
    group.addoption("--lead-sandbox-api", action="append", default=[], help="run the contract suite for this API")
    group.addoption("--lead-sandbox-url", default=None,
                    help=f"a running sandbox (origin, e.g. a shared deployment) for the lead_sandbox fixture, or the "
                         f"API base URL to contract-test (default: ${URL_ENV}, else a sandbox started for the session)")
    group.addoption("--lead-sandbox-key", default=None, help=f"test key for the contract suite (default ${KEY_ENV} or the fixture key)")
    group.addoption("--lead-sandbox-admin-token", default=os.environ.get("LEAD_SANDBOX_ADMIN_TOKEN"),
                    help="admin token of the sandbox at --lead-sandbox-url, when it has one")
    group.addoption("--lead-sandbox-max-examples", type=int, default=25, help="contract suite: examples per operation")
    group.addoption("--lead-sandbox-seed", type=int, default=42, help="seed of the started sandbox's data")


# --- the sandbox process ---------------------------------------------------------------------------
@dataclass
class SandboxServer:
    """A running sandbox: its origin and, when this session started it, its process."""

    origin: str
    admin_token: str | None = None
    process: subprocess.Popen[str] | None = None
    log: list[str] = field(default_factory=list)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


def start_sandbox(seed: int = 42, timeout: float = 90.0) -> SandboxServer:
    """`lead-sandbox serve` on a free loopback port, in memory, limits evaluated but never tripping and
    webhooks to loopback only; returns once it printed `ready on`."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "sandbox", "serve", "--host", "127.0.0.1", "--port", str(port), "--db", "memory",
               "--seed", str(seed), "--plan", f"*={10**9}", "--webhooks-loopback-only"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in [n for n in env if n.startswith("LEAD_SANDBOX_")]:
        del env[name]  # the user's own settings are not this sandbox's
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    server = SandboxServer(origin=f"http://127.0.0.1:{port}", process=process)
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    for line in process.stdout:
        server.log.append(line.rstrip())
        if line.startswith("ready on "):
            # keep draining the pipe so the server never blocks on a full one
            import threading

            threading.Thread(target=_drain, args=(process.stdout, server.log), daemon=True).start()
            return server
        if time.monotonic() > deadline:
            break
    server.stop()
    raise RuntimeError("lead-sandbox serve did not start:\n" + "\n".join(server.log[-30:]))


def _drain(stream: Any, log: list[str]) -> None:
    for line in stream:
        log.append(line.rstrip())
        del log[:-200]


@pytest.fixture(scope="session")
def lead_sandbox_server(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """The sandbox of this session: `--lead-sandbox-url` (or $LEAD_SANDBOX_URL), else one started here."""
    url = request.config.getoption("--lead-sandbox-url") or os.environ.get(URL_ENV)
    token = request.config.getoption("--lead-sandbox-admin-token")
    if url:
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        yield SandboxServer(origin=f"{parts.scheme}://{parts.netloc}", admin_token=token)
        return
    server = start_sandbox(seed=request.config.getoption("--lead-sandbox-seed"))
    try:
        yield server
    finally:
        server.stop()


# --- what a test gets ----------------------------------------------------------------------------
_COUNTER = itertools.count(1)


class LeadSandbox:
    """One test's view of the sandbox. `key(api)` and `base_url(api)` belong to a tenant created for this
    test (seeded like the default ones, admin key minted); `key(api, tenant="marina-homes")` gives a
    default tenant's fixture key (those tenants are shared by the session)."""

    def __init__(self, server: SandboxServer, test_name: str) -> None:
        import httpx

        self.server = server
        self.origin = server.origin
        self._test = re.sub(r"[^a-z0-9]+", "-", test_name.lower()).strip("-")[:40] or "test"
        headers = {"Authorization": f"Bearer {server.admin_token}"} if server.admin_token else {}
        self._control = httpx.Client(base_url=server.origin + "/_sandbox", headers=headers, timeout=60, trust_env=False)
        self._tenants: dict[str, dict[str, Any]] = {}
        self._apis: dict[str, dict[str, Any]] | None = None

    # tenants and keys
    def tenant(self, api: str) -> str:
        """This test's own tenant of `api` (created on first use)."""
        if api not in self._tenants:
            slug = f"t{next(_COUNTER)}-{uuid.uuid4().hex[:8]}-{self._test}"[:63].rstrip("-")
            # ephemeral: on a shared deployment the tenant and its data go away by themselves
            data = self._call("POST", "/tenants", json={"api": api, "slug": slug, "name": f"pytest {self._test}",
                                                        "ttl_seconds": TENANT_TTL})
            self._tenants[api] = data
        return str(self._tenants[api]["tenant"]["slug"])

    def key(self, api: str, tenant: str | None = None, role: str = "admin") -> str:
        """An API key: this test's tenant's admin key, or a default tenant's fixture key with `tenant=`."""
        if tenant is None:
            if role != "admin":
                raise LookupError("a new tenant has an admin key only; pass tenant= for a fixture key of another role")
            self.tenant(api)
            return str(self._tenants[api]["key"]["key"])
        from sandbox.seeding import load_fixture

        for fixture_tenant in load_fixture(api)["tenants"]:
            for key in fixture_tenant.get("keys", []):
                if fixture_tenant["slug"] == tenant and key.get("role", "admin") == role:
                    return str(key["key"])
        raise LookupError(f"no {role} fixture key for {api} tenant {tenant!r}")

    def keys(self, api: str) -> list[dict[str, Any]]:
        """The fixture keys of the default tenants of `api`."""
        from sandbox.seeding import load_fixture

        return [{"tenant": t["slug"], **k} for t in load_fixture(api)["tenants"] for k in t.get("keys", [])]

    def base_url(self, api: str, tenant: str | None = None) -> str:
        """Where `api` answers on this sandbox; for HREF, the path form of the tenant (this test's by default)."""
        if self._apis is None:
            self._apis = {a["name"]: a for a in self._call("GET", "/apis")}
        if api not in self._apis:
            raise LookupError(f"{api} is not served at {self.origin}; served: {', '.join(self._apis)}")
        from sandbox.apis import registry

        definition = registry()[api]
        base = definition.documented_base(self._apis[api]["base_paths"])
        if definition.tenant_from_host:
            base = definition.tenant_base(base, tenant or self.tenant(api))
        return self.origin + base

    # the control plane
    def reset(self, api: str | None = None, tenant: str | None = None) -> None:
        """A clean slate: this test's tenant of `api` (of every API it used) is removed and the next call
        makes a fresh one, with a new slug and key (read `key(api)` again). With `tenant=`, that default
        tenant of `api` goes back to its seeded state."""
        if tenant is not None:
            self._call("POST", "/reset", json={"api": api, "tenant": tenant})
            return
        for name in [api] if api else list(self._tenants):
            if name in self._tenants:
                # a reset takes a tenant back to its seeded state; a tenant made here has none, so it goes
                self._call("POST", "/reset", json={"api": name, "tenant": self._tenants.pop(name)["tenant"]["slug"]})

    def trigger(self, api: str, event: str, tenant: str | None = None) -> dict[str, Any]:
        """Make the state change behind `event` for this test's tenant (like `stripe trigger`)."""
        return dict(self._call("POST", "/events", json={"api": api, "tenant": tenant or self.tenant(api), "type": event}))

    def webhook_endpoint(self, api: str, url: str, events: list[str] | None = None, secret: str | None = None,
                         tenant: str | None = None) -> dict[str, Any]:
        """Register `url` for this test's tenant's events (as the vendor's dashboard would); returns the
        endpoint with its signing secret."""
        body: dict[str, Any] = {"api": api, "tenant": tenant or self.tenant(api), "url": url, "events": events or ["*"]}
        if secret:
            body["secret"] = secret
        return dict(self._call("POST", "/webhooks", json=body))

    def deliveries(self, api: str, tenant: str | None = None, state: str | None = None) -> list[dict[str, Any]]:
        """Webhook deliveries of this test's tenant, newest first, with attempts and payloads."""
        params = {"api": api, "tenant": tenant or self.tenant(api), **({"state": state} if state else {})}
        return list(self._call("GET", "/deliveries", params=params))

    def outbox(self, api: str, tenant: str | None = None, channel: str | None = None) -> list[dict[str, Any]]:
        """Simulated sends (WhatsApp messages, …) of this test's tenant, newest first."""
        params = {"api": api, "tenant": tenant or self.tenant(api), **({"channel": channel} if channel else {})}
        return list(self._call("GET", "/outbox", params=params))

    def advance(self, duration: int | str, api: str | None = None) -> dict[str, Any]:
        """Move this test's tenants' time forward (seconds, or `90s`, `15m`, `2h`, `1d`) and run what became
        due; with `api`, only that API's tenant of this test. Other tests' clocks do not move."""
        from sandbox.cli.helpers import parse_duration

        seconds = duration if isinstance(duration, int) else parse_duration(duration)
        return self._clock("POST", "/clock/advance", api, {"seconds": seconds})

    def freeze(self, api: str | None = None) -> dict[str, Any]:
        """Stop this test's tenants' clocks (or `api`'s)."""
        return self._clock("POST", "/clock/freeze", api)

    def unfreeze(self, api: str | None = None) -> dict[str, Any]:
        return self._clock("POST", "/clock/unfreeze", api)

    def now(self, api: str | None = None) -> str:
        """Sandbox time of this test's tenant of `api` (of its first tenant, or the sandbox's without one)."""
        name = api or next(iter(self._tenants), None)
        params = {"api": name, "tenant": self.tenant(name)} if name else {}
        return str(self._call("GET", "/clock", params=params)["now"])

    def _clock(self, method: str, path: str, api: str | None, body: dict[str, Any] | None = None) -> dict[str, Any]:
        names = [api] if api else list(self._tenants) or [self._default_api()]
        result: dict[str, Any] = {}
        for name in names:
            result = dict(self._call(method, path, json={**(body or {}), "api": name, "tenant": self.tenant(name)}))
        return result

    def _default_api(self) -> str:
        raise LookupError("this test has no tenant yet: pass api=, or use key()/tenant() first")

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._control.request(method, path, **kwargs)
        if response.status_code >= 400:
            raise SandboxCallFailed(f"{method} /_sandbox{path}: {response.status_code} {response.text[:300]}")
        return response.json()["data"] if response.content else None

    def close(self) -> None:
        self._control.close()


class SandboxCallFailed(AssertionError):
    """A control-plane call answered an error (shown as a test failure, with the sandbox's message)."""


@pytest.fixture
def lead_sandbox(lead_sandbox_server: SandboxServer, request: pytest.FixtureRequest) -> Iterator[LeadSandbox]:
    """The sandbox for one test: fresh tenants per API on first use, and the test helpers."""
    handle = LeadSandbox(lead_sandbox_server, request.node.name)
    try:
        yield handle
    finally:
        handle.close()


# --- the contract suite as a test item -------------------------------------------------------------
class ContractItem(pytest.Item):
    def __init__(self, *, api: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api = api
        self.report = ""

    def runtest(self) -> None:
        from sandbox.contracts.runner import ContractOptions, UnreachableTarget, run_contract

        options = self.config.option
        buffer = io.StringIO()
        try:
            code = run_contract(
                ContractOptions(
                    api=self.api,
                    base_url=options.lead_sandbox_url,
                    key=options.lead_sandbox_key or os.environ.get(KEY_ENV),
                    max_examples=options.lead_sandbox_max_examples,
                ),
                output=buffer,
            )
        except UnreachableTarget as exc:
            raise ContractFailed(str(exc)) from None
        self.report = buffer.getvalue()
        if code != 0:
            raise ContractFailed(self.report)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ContractFailed):
            return f"contract suite for {self.api} failed:\n{excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return "lead-sandbox", None, f"contract[{self.api}]"


class ContractFailed(Exception):
    pass


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    for api in config.getoption("--lead-sandbox-api"):
        items.append(ContractItem.from_parent(session, name=f"lead_sandbox_contract[{api}]", api=api))
