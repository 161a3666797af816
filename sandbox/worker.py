"""The job worker: runs due jobs (webhook attempts, message status changes) on the app's event loop.

Jobs are rows in the store, so a restart resumes them; time is the sandbox clock, so advancing the
clock makes later jobs due at once."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import httpx

from sandbox.core.clock import utc_iso
from sandbox.core.store import ALL_TENANTS, Job

if TYPE_CHECKING:
    from sandbox.runtime import Runtime

log = logging.getLogger(__name__)

JobHandler = Callable[["Runtime", Job], Awaitable[Any]]
POLL_SECONDS = 0.1
#: How long a claimed job is this worker's: longer than any handler runs (a webhook attempt times out
#: after 30 s). A worker killed mid-job leaves its claim to run out; then any worker runs the job again.
LEASE_SECONDS = 60.0
#: How often the worker looks for ephemeral tenants past their TTL.
PURGE_SECONDS = 1.0


class JobWorker:
    def __init__(self, runtime: Runtime, handlers: dict[str, JobHandler]) -> None:
        self.runtime = runtime
        self.handlers = handlers
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        # One batch at a time: a caller of run_due (the control plane advancing the clock) waits for
        # the batch in flight, so when it returns every job due by then has run.
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
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._running:
            self.runtime.store.release_jobs(sorted(self._running))
            self._running.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _loop(self) -> None:
        from sandbox.tenants import purge_expired

        purged_at = 0.0
        while True:
            try:
                ran = await self.run_due()
                if (now := time.monotonic()) - purged_at >= PURGE_SECONDS:  # ephemeral tenants past their TTL
                    purged_at = now
                    purge_expired(self.runtime)
            except Exception:
                log.exception("job loop failed")
                ran = 0
            await asyncio.sleep(0 if ran else POLL_SECONDS)

    async def run_due(self) -> int:
        """Run every job due now (by the sandbox clock), concurrently; returns how many ran."""
        async with self._lock:
            jobs = self.claim_due()
            if jobs:
                await asyncio.gather(*(self._run(job) for job in jobs))
            return len(jobs)

    def claim_due(self) -> list[Job]:
        """Jobs due by their own tenant's clock: a claim per tenant with a clock of its own, then one for
        every other tenant on the clock of every tenant."""
        store, clock = self.runtime.store, self.runtime.clock
        wall = clock.wall()
        lease = {"wall_now": wall.timestamp(), "lease_seconds": LEASE_SECONDS}
        own = {key: state for key, state in store.clock_states().items() if key != ALL_TENANTS}
        jobs: list[Job] = []
        for key, state in own.items():
            now = state.frozen_at or utc_iso(wall + timedelta(milliseconds=state.offset_ms))
            jobs += store.claim_due_jobs(now, tenant=key, **lease)  # type: ignore[arg-type]
        jobs += store.claim_due_jobs(clock.now_iso(), exclude=list(own), **lease)  # type: ignore[arg-type]
        return jobs

    async def _run(self, job: Job) -> None:
        self._running.add(job.id)
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                log.error("no handler for job kind %s", job.kind)
            else:
                await handler(self.runtime, job)
        except Exception:
            log.exception("job %s (%s) failed", job.id, job.kind)
        # Not reached when shutdown cancels the run: stop() then hands the claim back.
        self.runtime.store.finish_job(job.id)
        self._running.discard(job.id)
