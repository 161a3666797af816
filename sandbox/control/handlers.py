"""Handlers of openapi/sandbox.yaml: one per operationId, each a thin call into the runtime."""

from __future__ import annotations

import heapq
import itertools
from datetime import timedelta
from typing import Any

from starlette.responses import Response

from sandbox import tenants
from sandbox.core import webhooks
from sandbox.core.clock import StoredClock, parse_iso
from sandbox.core.definition import ApiDefinition
from sandbox.core.errors import NotFound, ValidationFailed
from sandbox.core.keys import new_secret
from sandbox.core.store import FaultRecord
from sandbox.http.context import current
from sandbox.http.responses import json_response
from sandbox.runtime import Runtime
from sandbox.seeding import reset as reset_state
from sandbox.spec import load_spec


def _rt() -> Runtime:
    return current().runtime


def _ok(data: Any, status: int = 200) -> Response:
    return json_response({"data": data}, status)


def _api(name: str) -> ApiDefinition:
    api = _rt().apis.get(name)
    if api is None:
        raise NotFound(f"No API {name!r} in this sandbox; served: {', '.join(_rt().apis)}", field="api")
    return api


def _tenant(api: str, slug: str) -> None:
    if _rt().store.get_tenant(api, slug) is None:
        raise NotFound(f"No tenant {slug!r} in {api}", field="tenant")


def _tenants(api: str | None, tenant: str | None) -> list[tuple[str, str]]:
    store = _rt().store
    names = [api] if api is not None else list(_rt().apis)
    return [(t.api, t.slug) for name in names for t in store.list_tenants(name) if tenant in (None, t.slug)]


# --- APIs, reset, tenants, keys -------------------------------------------------------------------
async def list_apis() -> Response:
    runtime = _rt()
    return _ok(
        [
            {
                "name": api.name,
                "title": api.title,
                "base_paths": [m.prefix for m in runtime.mounts if m.api is api and m.unserved is None],
                "events": sorted(api.triggers),
            }
            for api in runtime.apis.values()
            if not api.admin_only
        ]
    )


async def reset(body: dict[str, Any] | None = None) -> Response:
    body = body or {}
    runtime = _rt()
    api, tenant = body.get("api"), body.get("tenant")
    if tenant is not None and api is None:
        raise ValidationFailed("tenant needs api", field="api")
    if api is not None:
        _api(api)
        if tenant is not None:
            _tenant(api, tenant)
    seeded = {name: d for name, d in runtime.apis.items() if d.seed is not None}
    # the world is re-anchored on the sandbox's now: the tenant's own clock when one tenant is reset
    now = (runtime.clock_for(api, tenant) if api is not None and tenant is not None else runtime.clock).now()
    reset_state(runtime.store, seeded, runtime.config.seed, api=api, tenant=tenant, now=now)
    for definition in seeded.values():
        if definition.on_start is not None and api in (None, definition.name):
            definition.on_start(runtime)
    return _ok({"apis": [api] if api else sorted(seeded), "tenant": tenant, "seed": runtime.config.seed})


async def list_tenants(api: str | None = None) -> Response:
    if api is not None:
        _api(api)
    return _ok([tenants.tenant_view(_rt(), a, slug) for a, slug in _tenants(api, None)])


async def create_tenant(body: dict[str, Any]) -> Response:
    return _ok(
        tenants.provision(
            _rt(), _api(body["api"]), body.get("slug"), body.get("name"), body.get("plan"), body.get("ttl_seconds")
        ),
        201,
    )


async def rotate_tenant_key(api: str, slug: str) -> Response:
    return _ok(tenants.rotate(_rt(), _api(api), slug), 201)


async def list_keys(api: str | None = None, tenant: str | None = None) -> Response:
    return _ok([tenants.key_view(k) for k in _rt().store.list_keys(api, tenant)])


async def mint_key(body: dict[str, Any]) -> Response:
    runtime = _rt()
    api = _api(body["api"])
    _tenant(api.name, body["tenant"])
    tenant = runtime.store.get_tenant(api.name, body["tenant"])
    assert tenant is not None
    plan = body.get("plan") or tenants.new_key_plan(api, tenant.plan)
    return _ok(tenants.mint(runtime, api, tenant.slug, body.get("role", "admin"), plan, body.get("label", "")), 201)


async def revoke_key(key_id: str) -> Response:
    runtime = _rt()
    for record in runtime.store.list_keys():
        if f"key_{record.key_hash[:16]}" == key_id:
            runtime.store.revoke_key(record.key_hash, runtime.clock.now_iso())
            revoked = runtime.store.find_key(record.key_hash)
            assert revoked is not None
            return _ok(tenants.key_view(revoked))
    raise NotFound(f"No key {key_id!r}", field="key_id")


# --- clock ----------------------------------------------------------------------------------------
def _clock(api: str | None, tenant: str | None) -> StoredClock:
    """One tenant's clock (`api` and `tenant`), or the clock of every tenant (neither)."""
    if (api is None) != (tenant is None):
        raise ValidationFailed("api and tenant go together: one tenant's clock, or neither for every tenant",
                               field="tenant" if tenant is None else "api")
    if api is None or tenant is None:
        return _rt().clock
    _api(api)
    _tenant(api, tenant)
    return StoredClock(_rt().store, api, tenant, _rt().clock.wall)


def _clock_view(clock: StoredClock, jobs_run: int | None = None) -> dict[str, Any]:
    state_now, frozen = clock.now_iso(), clock.frozen
    view: dict[str, Any] = {"now": state_now, "frozen": frozen}
    if not clock.every_tenant:
        view.update(api=clock.api, tenant=clock.tenant)
    if jobs_run is not None:
        view["jobs_run"] = jobs_run
    return view


async def _run_due() -> int:
    """Run due jobs until none is left (a job may queue another that is already due)."""
    total = 0
    for _ in range(1000):
        ran = await _rt().worker.run_due()
        total += ran
        if not ran:
            break
    return total


async def get_clock(api: str | None = None, tenant: str | None = None) -> Response:
    return _ok(_clock_view(_clock(api, tenant)))


async def freeze_clock(body: dict[str, Any] | None = None) -> Response:
    body = body or {}
    at = body.get("at")
    clock = _clock(body.get("api"), body.get("tenant"))
    if at is not None:
        moment = parse_iso(at)
        if moment < clock.now():
            raise ValidationFailed("the sandbox clock only moves forward: `at` is in its past", field="at")
        clock.freeze(moment)
    else:
        clock.freeze()
    return _ok(_clock_view(clock, await _run_due()))


async def advance_clock(body: dict[str, Any]) -> Response:
    clock = _clock(body.get("api"), body.get("tenant"))
    clock.advance(timedelta(seconds=body["seconds"]))
    return _ok(_clock_view(clock, await _run_due()))


async def unfreeze_clock(body: dict[str, Any] | None = None) -> Response:
    body = body or {}
    clock = _clock(body.get("api"), body.get("tenant"))
    clock.unfreeze()
    return _ok(_clock_view(clock))


async def reset_clock(body: dict[str, Any] | None = None) -> Response:
    body = body or {}
    clock = _clock(body.get("api"), body.get("tenant"))
    clock.reset()
    return _ok(_clock_view(clock))


# --- webhooks -------------------------------------------------------------------------------------
async def create_webhook_endpoint(body: dict[str, Any]) -> Response:
    runtime = _rt()
    api = _api(body["api"])
    _tenant(api.name, body["tenant"])
    if api.webhooks is None:
        raise ValidationFailed(f"{api.name} sends no webhooks", field="api")
    known = set(api.triggers)
    unknown = [event for event in body["events"] if event not in known and event != "*"]
    if unknown:
        raise ValidationFailed(f"{api.name} has no event {unknown[0]!r}; events: {', '.join(sorted(known))}", field="events")
    secret = body.get("secret") or new_secret()
    endpoint = webhooks.create_endpoint(
        runtime.workspace(api.name, body["tenant"]), api.webhooks, body["url"], body["events"], secret,
        body.get("description"),
    )
    return _ok(endpoint, 201)


async def delete_webhook_endpoint(endpoint_id: str, api: str, tenant: str) -> Response:
    _api(api)
    _tenant(api, tenant)
    if not _rt().store.collection(api, tenant, "webhook_endpoints").delete(endpoint_id):
        raise NotFound(f"No webhook endpoint {endpoint_id!r} for {api} tenant {tenant!r}", field="endpoint_id")
    return Response(status_code=204)


# --- outbox and deliveries -------------------------------------------------------------------------
def _newest(kind: str, api: str | None, tenant: str | None, limit: int, keep: Any = None) -> list[dict[str, Any]]:
    store = _rt().store
    if api is not None:
        _api(api)
    streams = []
    for api_name, slug in _tenants(api, tenant):
        items = store.collection(api_name, slug, kind).page(before_seq=None, limit=limit).items
        streams.append([{"api": api_name, "tenant": slug, **item} for item in items if keep is None or keep(item)])
    merged = heapq.merge(*streams, key=lambda item: item.get("created_at", ""), reverse=True)
    return list(itertools.islice(merged, limit))


async def list_outbox(
    api: str | None = None, tenant: str | None = None, channel: str | None = None, limit: int = 100
) -> Response:
    return _ok(_newest("outbox", api, tenant, limit, None if channel is None else lambda i: i.get("channel") == channel))


async def list_deliveries(
    api: str | None = None, tenant: str | None = None, state: str | None = None, limit: int = 100
) -> Response:
    items = _newest("webhook_deliveries", api, tenant, limit, None if state is None else lambda i: i["state"] == state)
    return _ok([{"api": i["api"], "tenant": i["tenant"], **webhooks.delivery_view(i)} for i in items])


async def redeliver(delivery_id: str) -> Response:
    runtime = _rt()
    for api, slug in _tenants(None, None):
        if runtime.store.collection(api, slug, "webhook_deliveries").get(delivery_id) is not None:
            webhooks.redeliver(runtime.workspace(api, slug), delivery_id)
            await _run_due()
            delivery = runtime.store.collection(api, slug, "webhook_deliveries").get(delivery_id)
            assert delivery is not None
            return _ok({"api": api, "tenant": slug, **webhooks.delivery_view(delivery)}, 202)
    raise NotFound(f"No delivery {delivery_id!r}", field="delivery_id")


# --- events and simulated leads -------------------------------------------------------------------
async def trigger_event(body: dict[str, Any]) -> Response:
    api = _api(body["api"])
    _tenant(api.name, body["tenant"])
    trigger = api.triggers.get(body["type"])
    if trigger is None:
        raise ValidationFailed(
            f"{api.name} documents no event {body['type']!r}; triggerable: {', '.join(sorted(api.triggers))}",
            field="type",
        )
    event = trigger(_rt(), body["tenant"])
    await _run_due()
    return _ok(event, 201)


async def _simulate(api_name: str, simulation: str, body: dict[str, Any]) -> Response:
    """A vendor-side happening the vendor's package simulates (`ApiDefinition.simulations`), for one tenant."""
    api = _api(api_name)
    _tenant(api.name, body["tenant"])
    made = api.simulations[simulation](_rt(), body["tenant"], body)
    await _run_due()
    return _ok(made, 201)


async def hadar_whatsapp_inbound(body: dict[str, Any]) -> Response:
    return await _simulate("hadar", "whatsapp.inbound", body)


async def hadar_whatsapp_opt_out(body: dict[str, Any]) -> Response:
    return await _simulate("hadar", "whatsapp.opt_out", body)


# --- faults -----------------------------------------------------------------------------------------
def _fault_view(fault: FaultRecord) -> dict[str, Any]:
    return {
        "api": fault.api,
        "operation_id": fault.operation_id,
        "status": fault.status,
        "remaining": fault.remaining,
        "latency_ms": fault.latency_ms,
    }


async def list_faults() -> Response:
    return _ok([_fault_view(f) for f in _rt().store.list_faults()])


async def inject_fault(body: dict[str, Any]) -> Response:
    api = _api(body["api"])
    operation_id = body["operation_id"]
    if operation_id != "*":
        spec = load_spec(api.spec_file)
        known = {op.get("operationId") for item in spec["paths"].values() for op in item.values() if isinstance(op, dict)}
        if operation_id not in known:
            raise NotFound(f"{api.name} has no operation {operation_id!r}", field="operation_id")
    # In the store: every worker of a deployment counts the same fault down.
    fault = _rt().store.add_fault(api.name, operation_id, body.get("status"), body.get("count", 1), body.get("latency_ms", 0))
    return _ok(_fault_view(fault), 201)


async def clear_faults() -> Response:
    cleared = _rt().store.clear_faults()
    return _ok({"cleared": cleared})


# --- the request journal -----------------------------------------------------------------------------
async def list_requests(
    api: str | None = None,
    tenant: str | None = None,
    status: str | None = None,
    trace_id: str | None = None,
    limit: int = 100,
) -> Response:
    try:
        rows = _rt().journal.query(api=api, tenant=tenant, status=status, trace_id=trace_id, limit=limit)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="status") from None
    return _ok([entry for _, entry in rows])


# --- health -----------------------------------------------------------------------------------------
async def get_health() -> Response:
    """For load balancers: 200 while this worker, its database and its Redis (if any) answer, else 503."""
    import os

    runtime = _rt()
    try:
        runtime.store.ping()
        db = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure is the answer
        db = f"unreachable ({type(exc).__name__})"
    redis = runtime.limiter.check() if runtime.limiter.redis else "absent"
    healthy = db == "ok" and redis in ("ok", "absent")
    body = {
        "status": "ok" if healthy else "unavailable",
        "db": db,
        "backend": runtime.store.backend,
        "schema_version": runtime.store.schema_version,
        "redis": redis,
        "pid": os.getpid(),
    }
    return json_response(body, 200 if healthy else 503)
