"""Leads matched to buyers over sandbox time: one an hour per buyer while the month's quota lasts.

A job per buyer; when the clock jumps (control plane), every hour it passed over delivers its lead,
up to a day's worth at once."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sandbox.apis.leaditio import models
from sandbox.apis.leaditio.factories import lead_record
from sandbox.core.clock import parse_iso, utc_iso
from sandbox.core.store import Job
from sandbox.core.workspace import Workspace
from sandbox.seeding import later_context

if TYPE_CHECKING:
    from sandbox.runtime import Runtime

MAX_CATCH_UP = 24


def new_match(runtime: Runtime, ws: Workspace) -> dict[str, Any]:
    """Deliver one new lead for the buyer's verticals now (emits lead.new)."""
    tenant = runtime.store.get_tenant(ws.api, ws.tenant)
    assert tenant is not None
    ctx = later_context(runtime, ws, "match")
    return models.deliver(ws, lead_record(ctx, list(tenant.data.get("verticals", ["solar"])), ctx.anchor))


def schedule(runtime: Runtime, tenant: str, due: datetime) -> None:
    runtime.store.add_job(Job(runtime.ids.new("job", due), "leaditio", tenant, models.MATCH_JOB, utc_iso(due), {}))


def ensure_jobs(runtime: Runtime) -> None:
    """On start (and after a reset): every buyer has its next match job."""
    pending = {job.tenant for job in runtime.store.pending_jobs("leaditio") if job.kind == models.MATCH_JOB}
    for tenant in runtime.store.list_tenants("leaditio"):
        if tenant.slug not in pending:
            schedule(runtime, tenant.slug, runtime.clock_for("leaditio", tenant.slug).now() + models.MATCH_EVERY)


async def run_match(runtime: Runtime, job: Job) -> None:
    ws = runtime.workspace("leaditio", job.tenant)
    tenant = runtime.store.get_tenant("leaditio", job.tenant)
    if tenant is None:  # reset removed the buyer
        return
    chain = [j.id for j in runtime.store.pending_jobs("leaditio") if j.kind == models.MATCH_JOB and j.tenant == job.tenant]
    if any(other < job.id for other in chain if other != job.id):
        return  # two workers started at once and each scheduled a chain: the one with the smaller id goes on
    due = parse_iso(job.due_at)
    now = ws.clock.now()
    hours = min(MAX_CATCH_UP, 1 + int((now - due) / models.MATCH_EVERY))
    quota = int(tenant.data.get("quota_this_month", 0))
    for _ in range(hours):
        if models.delivered_this_month(ws) >= quota:
            break
        new_match(runtime, ws)
    following = due + models.MATCH_EVERY
    while following <= now:
        following += models.MATCH_EVERY
    schedule(runtime, job.tenant, following)
