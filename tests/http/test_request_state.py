"""One typed request state: the edge creates it, the gate completes it, handlers read that same object.

Before, the tenant reached handlers on three channels (loose `scope["state"]` keys, a ContextVar and
Connexion's security context); now `RequestState` is the only one, in the scope under `STATE_KEY`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from sandbox.apis.hadar.events import STYLE
from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.core import webhooks
from sandbox.core.clock import Clock
from sandbox.core.errors import TenantNotFound, ValidationFailed
from sandbox.core.ids import IdFactory
from sandbox.core.store import Store
from sandbox.core.workspace import Workspace
from sandbox.http.connexion_fence.routing import routed_scope_extensions
from sandbox.http.context import STATE_KEY, RequestState, current, state_of, tenant_workspace
from sandbox.http.middleware import EdgeMiddleware, GateMiddleware
from sandbox.runtime import Runtime
from sandbox.serving import serve_in_thread

HADAR_KEY = "hdr_test_marina_growth_admin_4f9c2a7b"
ACME_KEY = "hcrm_acme_7Yq2Lm9Xv4Tb8Rw1"


@pytest.fixture(scope="module")
def app() -> Any:
    return create_app(Config(db="memory", plans={"*": 10**9}))


@pytest.fixture(scope="module")
def runtime(app: Any) -> Runtime:
    return runtime_of(app)


def _scope(path: str, *, host: str = "127.0.0.1:4010", headers: dict[str, str] | None = None,
           operation_id: str | None = None) -> dict[str, Any]:
    raw = [(b"host", host.encode())] + [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": path, "raw_path": path.encode(),
                             "query_string": b"", "headers": raw, "client": ("127.0.0.1", 5000)}
    if operation_id is not None:
        scope["extensions"] = routed_scope_extensions(operation_id)
    return scope


class _Inner:
    """The layers below: records the scope it got and answers 204."""

    def __init__(self) -> None:
        self.scope: Scope | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def _call(app: Any, scope: dict[str, Any]) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return sent


def test_the_edge_puts_one_typed_state_in_the_scope(runtime: Runtime) -> None:
    inner = _Inner()
    sent = _call(EdgeMiddleware(inner, runtime), _scope("/hadar/v1/leads"))
    assert inner.scope is not None
    assert set(inner.scope["state"]) == {STATE_KEY}  # no loose keys beside it
    state = inner.scope["state"][STATE_KEY]
    assert isinstance(state, RequestState)
    assert state.mount is not None and state.mount.api.name == "hadar"
    assert state.principal is None and state.addressed_tenant is None
    assert (b"x-trace-id", state.trace_id.encode()) in sent[0]["headers"]


@pytest.mark.parametrize(
    ("path", "host", "tenant"),
    [("/href/acme/api/leads/intake", "127.0.0.1:4010", "acme"), ("/href/api/leads/intake", "acme.localtest.me", "acme")],
)
def test_the_tenant_a_path_or_host_names_is_recorded_before_any_key(
    runtime: Runtime, path: str, host: str, tenant: str
) -> None:
    inner = _Inner()
    _call(EdgeMiddleware(inner, runtime), _scope(path, host=host))
    assert inner.scope is not None
    state = state_of(inner.scope)
    assert state is not None and state.addressed_tenant == tenant and state.principal is None
    assert inner.scope["path"] == "/href/api/leads/intake"


def test_the_gate_completes_the_same_state_with_the_verified_principal(runtime: Runtime) -> None:
    inner = _Inner()
    scope = _scope("/hadar/v1/leads", headers={"Authorization": f"Bearer {HADAR_KEY}"}, operation_id="listLeads")
    _call(EdgeMiddleware(GateMiddleware(inner, runtime), runtime), scope)
    assert inner.scope is not None
    state = state_of(inner.scope)
    assert state is not None and state.principal is not None
    assert state.tenant == state.principal.tenant == "marina-homes"
    assert state.rate is not None  # the gate's counter, which the edge turns into headers


def test_the_gate_judges_the_tenant_the_edge_recorded(runtime: Runtime) -> None:
    # The edge answers errors only through Connexion's handlers (not in this bare stack): the gate raises.
    scope = _scope("/href/nowhere/api/leads/intake", headers={"X-API-Key": ACME_KEY}, operation_id="intakeLead")
    with pytest.raises(TenantNotFound, match="No tenant 'nowhere' here"):
        _call(EdgeMiddleware(GateMiddleware(_Inner(), runtime), runtime), scope)


def test_outside_a_request_there_is_no_state() -> None:
    with pytest.raises((LookupError, RuntimeError)):
        current()


# --- handlers: the same object, and their workspace --------------------------------------------------
@pytest.fixture(scope="module")
def origin(app: Any) -> Iterator[str]:
    with serve_in_thread(app) as url:
        yield url


def test_a_handler_sees_the_tenant_the_gate_verified(origin: str) -> None:
    with httpx.Client(base_url=origin, timeout=10, trust_env=False) as client:
        created = client.post(
            "/hadar/v1/leads", headers={"Authorization": f"Bearer {HADAR_KEY}"},
            json={"name": "Request State", "phone": "+971500000321", "source": "website"},
        )
        assert created.status_code == 201, created.text
        trace_id = created.headers["x-trace-id"]
        journal = client.get("/_sandbox/requests", params={"trace_id": trace_id}).json()
    mine = [entry for entry in journal["data"] if entry["trace_id"] == trace_id]
    assert mine and mine[0]["tenant"] == "marina-homes" and mine[0]["api"] == "hadar"


def test_tenant_workspace_is_the_verified_tenants_workspace(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    inner = _Inner()
    scope = _scope("/hadar/v1/leads", headers={"Authorization": f"Bearer {HADAR_KEY}"}, operation_id="listLeads")
    _call(EdgeMiddleware(GateMiddleware(inner, runtime), runtime), scope)
    assert inner.scope is not None
    from sandbox.http import context

    monkeypatch.setattr(context, "connexion_scope", inner.scope)  # what Connexion's context holds in a handler
    assert current() is inner.scope["state"][STATE_KEY]
    ws = tenant_workspace("hadar")
    assert (ws.api, ws.tenant) == ("hadar", "marina-homes")
    assert ws.events is not None  # Hadar's events go out as its webhooks


# --- the webhook functions take a Workspace -----------------------------------------------------------
def _ws(store: Store, tenant: str, hosts: str = "loopback") -> Workspace:
    return Workspace(store, "hadar", tenant, Clock(), IdFactory("request-state"), webhook_hosts=hosts)


def test_webhooks_publish_and_redeliver_within_the_workspaces_tenant() -> None:
    store = Store("memory")
    mine, other = _ws(store, "t1"), _ws(store, "t2")
    endpoint = webhooks.create_endpoint(mine, STYLE, "http://127.0.0.1:9/hook", ["lead.created"], "whsec_" + "s" * 32)
    webhooks.create_endpoint(other, STYLE, "http://127.0.0.1:9/other", ["lead.created"], "whsec_" + "o" * 32)
    event = webhooks.publish(mine, STYLE, "lead.created", {"id": "lead_1"})
    assert event is not None and event["type"] == "lead.created"
    [delivery] = mine.collection("webhook_deliveries").all()
    assert delivery["endpoint_id"] == endpoint["id"] and delivery["event_id"] == event["id"]
    assert other.collection("webhook_deliveries").all() == []
    assert webhooks.publish(other, STYLE, "lead.updated", {"id": "x"}, always=False) is None  # nobody subscribed
    queued = webhooks.redeliver(mine, delivery["id"])
    assert queued is not None and queued["state"] == "pending"
    assert webhooks.redeliver(other, delivery["id"]) is None


def test_an_endpoint_is_checked_against_the_workspaces_egress_policy() -> None:
    store = Store("memory")
    url = "http://10.0.0.5/hook"  # a private address: refused under `loopback`, allowed under `any`
    with pytest.raises(ValidationFailed) as refused:
        webhooks.create_endpoint(_ws(store, "t1", hosts="loopback"), STYLE, url, ["*"], "s" * 32, field="webhook.url")
    assert refused.value.field == "webhook.url"
    endpoint = webhooks.create_endpoint(_ws(store, "t1", hosts="any"), STYLE, url, ["*"], "s" * 32)
    assert endpoint["url"] == url


def test_a_write_reads_its_tenants_clock_once_and_every_layer_sees_that_instant(tmp_path: Any) -> None:
    """The idempotency check, the write unit and the handler's workspace share the request's clock
    (`RequestState.clock_for`): one query of the clocks table per request, not one per layer."""
    app = create_app(Config(db=str(tmp_path / "clock.db"), apis=("hadar",), plans={"*": 10**9}))
    runtime = runtime_of(app)
    statements: list[str] = []
    with serve_in_thread(app) as base:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {HADAR_KEY}"}, timeout=10) as client:
            runtime.store._conn.set_trace_callback(statements.append)
            try:
                created = client.post("/v1/leads", json={"name": "Aisha Rahman", "phone": "+971501234567"},
                                      headers={"Idempotency-Key": "clock-once"})
            finally:
                runtime.store._conn.set_trace_callback(None)
    assert created.status_code == 201, created.text
    assert any("INSERT INTO idempotency_keys" in sql for sql in statements)
    assert sum("FROM clocks" in sql for sql in statements) == 1, [s for s in statements if "clocks" in s]
    runtime.store.close()


def test_request_state_reads_each_tenants_clock_once(runtime: Runtime) -> None:
    state = RequestState(runtime, "trace")
    first = state.clock_for("hadar", "marina-homes")
    assert state.clock_for("hadar", "marina-homes") is first
    assert state.clock_for("hadar", "palmcrest") is not first
    assert RequestState(runtime, "other").clock_for("hadar", "marina-homes") is not first
