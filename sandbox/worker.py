"""The job worker: runs due jobs (webhook attempts, message status changes) on the app's event loop.

Jobs are rows in the store, so a restart resumes them; time is the sandbox clock, so advancing the
clock makes later jobs due at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import httpx

from sandbox.core.store import Job

if TYPE_CHECKING:
    from sandbox.runtime import Runtime

log = logging.getLogger(__name__)

JobHandler = Callable[["Runtime", Job], Awaitable[Any]]
POLL_SECONDS = 0.1


class JobWorker:
    def __init__(self, runtime: Runtime, handlers: dict[str, JobHandler]) -> None:
        self.runtime = runtime
        self.handlers = handlers
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        # One batch at a time: a caller of run_due (the control plane advancing the clock) waits for
        # the batch in flight, so when it returns every job due by then has run.
        self._lock = asyncio.Lock()

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
        self.runtime.store.requeue_running_jobs()
        self._task = asyncio.get_running_loop().create_task(self._loop(), name="lead-sandbox-jobs")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _loop(self) -> None:
        while True:
            try:
                ran = await self.run_due()
            except Exception:
                log.exception("job loop failed")
                ran = 0
            await asyncio.sleep(0 if ran else POLL_SECONDS)

    async def run_due(self) -> int:
        """Run every job due now (by the sandbox clock), concurrently; returns how many ran."""
        async with self._lock:
            jobs = self.runtime.store.claim_due_jobs(self.runtime.clock.now_iso())
            if jobs:
                await asyncio.gather(*(self._run(job) for job in jobs))
            return len(jobs)

    async def _run(self, job: Job) -> None:
        handler = self.handlers.get(job.kind)
        try:
            if handler is None:
                log.error("no handler for job kind %s", job.kind)
            else:
                await handler(self.runtime, job)
        except Exception:
            log.exception("job %s (%s) failed", job.id, job.kind)
        finally:
            self.runtime.store.finish_job(job.id)
