"""The job worker: runs due jobs (webhook attempts, message status changes) on the app's event loop.

Jobs are rows in the store, so a restart resumes them; time is the sandbox clock, so advancing the
clock makes later jobs due at once.

Jobs that only change local state (a message status, an appointment completing) run to completion in
`run_due`. Jobs that talk to the network (webhook attempts) run in the background: a receiver that takes
its 30 s delays neither another tenant's deliveries nor the caller of `run_due` (the control plane
advancing the clock). At most `PER_TENANT` attempts of one tenant are in flight, so one tenant's slow
endpoint cannot take every slot either: that tenant's other jobs stay queued in the store meanwhile."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Protocol

import httpx

from sandbox.core import retention
from sandbox.core.clock import StoredClock, utc_iso
from sandbox.core.definition import JobHandler
from sandbox.core.store import ALL_TENANTS, Job, Store

log = logging.getLogger(__name__)
POLL_SECONDS = 0.1
#: How long a claimed job is this worker's: longer than any handler runs (a webhook attempt times out
#: after 30 s). A worker killed mid-job leaves its claim to run out; then any worker runs the job again.
LEASE_SECONDS = 60.0
#: How often the worker looks for ephemeral tenants past their TTL.
PURGE_SECONDS = 1.0
#: background jobs in flight, in all and per (api, tenant); jobs claimed per look
MAX_IN_FLIGHT = 256
PER_TENANT = 16
BATCH = 50


class WorkerHost(Protocol):
    """What the worker reads of the app's runtime (`sandbox.runtime.Runtime`, the layer above): its store and
    clock. Handlers get the runtime itself."""

    store: Store
    clock: StoredClock


class JobWorker:
    def __init__(self, runtime: WorkerHost, handlers: dict[str, JobHandler], background: Iterable[str] = ()) -> None:
        self.runtime = runtime
        self.handlers = handlers
        #: job kinds run in the background (network I/O), never awaited by run_due
        self.background = frozenset(background)
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._in_flight: set[asyncio.Task[None]] = set()
        self._per_tenant: Counter[tuple[str, str]] = Counter()
        # One claim at a time: a caller of run_due (the control plane advancing the clock) waits for the
        # local jobs in flight, so when it returns every local job due by then has run.
        self._lock = asyncio.Lock()
        self._running: set[str] = set()

    @property
    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            # Deliveries go only to URLs users registered: no proxies from the environment.
            self._client = httpx.AsyncClient(trust_env=False, follow_redirects=False)
        return self._client

    def ensure_started(self) -> None:
        """Start the loop on the running event loop (idempotent; called by lifespan and per request)."""
        if self._task is not None and not self._task.done():
            return
        # No requeue of `running` jobs here: on a shared database they may be another live worker's.
        # Claims are leases; those of a dead worker run out (LEASE_SECONDS) and are claimed again.
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="lead-sandbox-jobs")

    async def stop(self) -> None:
        """Graceful shutdown: jobs in flight are cancelled and their claims handed back at once, so
        another worker (or the next start) runs them; nothing waits for a lease to run out."""
        tasks = [task for task in (self._task, *self._in_flight) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        if self._running:
            self.runtime.store.release_jobs(sorted(self._running))
            self._running.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def purge(self) -> dict[str, int]:
        """Delete what is past its retention window (`sandbox.core.retention`) by the sandbox clock."""
        return retention.purge(self.runtime.store, self.runtime.clock.now())

    def purge_expired_tenants(self) -> list[tuple[str, str]]:
        """Delete ephemeral tenants whose TTL ran out, with everything they own; returns (api, slug) of each."""
        store = self.runtime.store
        expired = store.expired_tenants(self.runtime.clock.wall().timestamp())
        for api, slug in expired:
            store.wipe(api, slug)
        return expired

    async def _loop(self) -> None:
        purged_at, retained_at = 0.0, time.monotonic()
        while True:
            try:
                ran = await self.run_due()
                if (now := time.monotonic()) - purged_at >= PURGE_SECONDS:  # ephemeral tenants past their TTL
                    purged_at = now
                    self.purge_expired_tenants()
                if now - retained_at >= retention.EVERY_SECONDS:  # what is past its retention window
                    retained_at = now
                    self.purge()
            except Exception:
                log.exception("job loop failed")
                ran = 0
            await asyncio.sleep(0 if ran else POLL_SECONDS)

    async def run_due(self) -> int:
        """Start every job due now (by the sandbox clock): local jobs run before this returns, network
        jobs are started in the background. Returns how many were started."""
        async with self._lock:
            room = MAX_IN_FLIGHT - len(self._in_flight)
            if room <= 0:
                return 0
            busy = [scope for scope, count in self._per_tenant.items() if count >= PER_TENANT]
            jobs = self.claim_due(min(BATCH, room), busy)
            local, over = [], []
            for job in jobs:
                if job.kind not in self.background:
                    local.append(job)
                elif self._per_tenant[(job.api, job.tenant)] >= PER_TENANT:
                    over.append(job.id)  # this tenant has enough in flight: back to the queue for later
                else:
                    self._start(job)
            if over:
                self.runtime.store.release_jobs(over)
            if local:
                await asyncio.gather(*(self._run(job) for job in local))
            return len(jobs) - len(over)

    def claim_due(self, limit: int = BATCH, skip: Sequence[tuple[str, str]] = ()) -> list[Job]:
        """Jobs due by their own tenant's clock: a claim per tenant with a clock of its own, then one for
        every other tenant on the clock of every tenant. Tenants in `skip` are left for later."""
        store, clock = self.runtime.store, self.runtime.clock
        wall = clock.wall()
        lease = {"wall_now": wall.timestamp(), "lease_seconds": LEASE_SECONDS}
        own = {key: state for key, state in store.clock_states().items() if key != ALL_TENANTS}
        jobs: list[Job] = []
        for key, state in own.items():
            if key in skip:
                continue
            now = state.frozen_at or utc_iso(wall + timedelta(milliseconds=state.offset_ms))
            jobs += store.claim_due_jobs(now, limit, tenant=key, **lease)  # type: ignore[arg-type]
        jobs += store.claim_due_jobs(clock.now_iso(), limit, exclude=[*own, *skip], **lease)  # type: ignore[arg-type]
        return jobs

    def _start(self, job: Job) -> None:
        scope = (job.api, job.tenant)
        self._per_tenant[scope] += 1
        task = asyncio.get_running_loop().create_task(self._run(job), name=f"job-{job.id}")
        self._in_flight.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._in_flight.discard(finished)
            self._per_tenant[scope] -= 1
            if self._per_tenant[scope] <= 0:
                del self._per_tenant[scope]

        task.add_done_callback(done)

    async def _run(self, job: Job) -> None:
        self._running.add(job.id)
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                log.error("no handler for job kind %s", job.kind)
            else:
                await handler(self.runtime, job)
        except asyncio.CancelledError:
            raise  # shutdown: stop() hands the claim back
        except Exception:
            log.exception("job %s (%s) failed", job.id, job.kind)
        self.runtime.store.finish_job(job.id)
        self._running.discard(job.id)
