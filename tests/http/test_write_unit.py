"""The write unit without HTTP: one transaction per write, the idempotency entry inside it."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.responses import Response

from sandbox.core import errors as E
from sandbox.core.clock import Clock, utc_iso
from sandbox.core.store import Job, Store
from sandbox.http.context import IdempotencyClaim, RequestState
from sandbox.http.write_unit import HandlerSuspended, run_unit


def _ctx(store: Store, key: str | None = "k") -> RequestState:
    clock = Clock()
    runtime: Any = SimpleNamespace(store=store, clock_for=lambda _api, _tenant: clock)
    claim = IdempotencyClaim("hadar", "t", key, "fp") if key else None
    return RequestState(runtime, "trace-1", write=True, idempotency=claim)


def _leads(store: Store):
    return store.collection("hadar", "t", "leads")


def _handler(store: Store, *, fail: BaseException | None = None):
    async def handler() -> Response:
        _leads(store).insert(f"lead_{_leads(store).count()}", "2026-01-01T00:00:00.000Z", {"n": 1})
        store.add_job(Job(f"job_{_leads(store).count()}", "hadar", "t", "x", "2026-01-01T00:00:00.000Z", {}))
        if fail is not None:
            raise fail
        return Response(b'{"id":"lead_0"}', status_code=201, media_type="application/json")

    return handler


def _entry(store: Store):
    return store.idempotency_get("hadar", "t", "k", utc_iso(Clock().now()))


def test_a_crash_inside_the_handler_commits_nothing_and_the_retry_runs_once():
    store = Store("memory")
    with pytest.raises(KeyboardInterrupt):  # the nearest thing to kill -9 inside one process
        run_unit(_ctx(store), _handler(store, fail=KeyboardInterrupt()))
    assert _leads(store).count() == 0 and store.pending_jobs() == [] and _entry(store) is None
    response = run_unit(_ctx(store), _handler(store))
    assert response.status_code == 201
    assert _leads(store).count() == 1 and len(store.pending_jobs()) == 1
    assert _entry(store).status == 201


def test_a_second_run_with_the_key_replays_instead_of_writing():
    store = Store("memory")
    run_unit(_ctx(store), _handler(store))
    again = run_unit(_ctx(store), _handler(store))
    assert again.headers["idempotent-replayed"] == "true"
    assert again.body == b'{"id":"lead_0"}' and again.status_code == 201
    assert _leads(store).count() == 1


def test_a_4xx_is_stored_with_its_writes():
    store = Store("memory")
    response = run_unit(_ctx(store), _handler(store, fail=E.NotFound("gone")))
    assert response.status_code == 404
    assert _entry(store).status == 404 and _entry(store).body == response.body
    assert _leads(store).count() == 1  # what the handler wrote before deciding stays, as without a key


def test_a_5xx_is_not_stored_and_its_writes_are_undone():
    store = Store("memory")
    with pytest.raises(E.InternalError):
        run_unit(_ctx(store), _handler(store, fail=E.InternalError()))
    assert _entry(store) is None and _leads(store).count() == 0


def test_without_a_key_a_4xx_is_raised_after_the_commit():
    store = Store("memory")
    with pytest.raises(E.NotFound):
        run_unit(_ctx(store, key=None), _handler(store, fail=E.NotFound()))
    assert _leads(store).count() == 1


def test_a_handler_that_suspends_is_refused_and_rolled_back():
    store = Store("memory")

    async def suspends() -> Response:
        _leads(store).insert("lead_x", "2026-01-01T00:00:00.000Z", {})
        await asyncio.sleep(0)
        return Response(b"")

    with pytest.raises(HandlerSuspended):
        run_unit(_ctx(store), suspends)
    assert _leads(store).count() == 0 and _entry(store) is None
