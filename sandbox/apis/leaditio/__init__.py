"""Leaditio buyer API (vendor page: shared/seeds/leaditio-buyer-api.txt)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sandbox.apis.base import ApiDefinition, KeyAuth
from sandbox.apis.leaditio.errors import render
from sandbox.apis.leaditio.events import STYLE

if TYPE_CHECKING:
    from sandbox.core.store import Job
    from sandbox.runtime import Runtime
    from sandbox.seeding import SeedContext


def _seed(ctx: SeedContext) -> None:
    from fixtures.leaditio import seed

    seed(ctx)


async def _match(runtime: Runtime, job: Job) -> None:
    from sandbox.apis.leaditio.matching import run_match

    await run_match(runtime, job)


def _on_start(runtime: Runtime) -> None:
    from sandbox.apis.leaditio.matching import ensure_jobs

    ensure_jobs(runtime)


def _triggers() -> dict[str, Any]:
    from sandbox.apis.leaditio.triggers import TRIGGERS

    return TRIGGERS


API = ApiDefinition(
    name="leaditio",
    title="Leaditio Buyer API",
    spec_file="leaditio.yaml",
    mounts=("/leaditio/api/v1",),
    solo_mounts=("/api/v1",),
    handlers_module="sandbox.apis.leaditio.handlers",
    auth=KeyAuth(
        header="authorization",
        scheme="bearer",
        test_prefix="ldt_test_",
        live_prefixes=("ldt_live_",),
        pattern=re.compile(r"ldt_(test|live)_[A-Za-z0-9_]{8,128}"),
    ),
    render_error=render,
    # The vendor documents one budget: 60 requests a minute per key, whatever the plan.
    plans={"basic": 60, "pro": 60, "enterprise": 60},
    anonymous_plan="basic",
    seed=_seed,
    webhooks=STYLE,
    jobs={"leaditio.match": _match},
    triggers=_triggers(),
    on_start=_on_start,
)
