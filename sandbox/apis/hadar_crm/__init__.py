"""Hadar CRM API (vendor page: shared/seeds/hadar-crm-api.txt)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sandbox.apis.base import ApiDefinition, KeyAuth
from sandbox.apis.hadar_crm.errors import render
from sandbox.apis.hadar_crm.events import STYLE

if TYPE_CHECKING:
    from sandbox.core.store import Job
    from sandbox.runtime import Runtime
    from sandbox.seeding import SeedContext


def _seed(ctx: SeedContext) -> None:
    from fixtures.hadar_crm import seed

    seed(ctx)


async def _complete(runtime: Runtime, job: Job) -> None:
    from sandbox.apis.hadar_crm.models import complete_appointment

    complete_appointment(runtime.workspace("hadar-crm", job.tenant), job.payload["appointment_id"])


def _triggers() -> dict[str, Any]:
    from sandbox.apis.hadar_crm.triggers import TRIGGERS

    return TRIGGERS


API = ApiDefinition(
    name="hadar-crm",
    title="Hadar CRM API",
    spec_file="hadar-crm.yaml",
    mounts=("/hadar-crm/api/v1",),
    solo_mounts=("/api/v1",),
    handlers_module="sandbox.apis.hadar_crm.handlers",
    auth=KeyAuth(
        header="x-api-key",
        scheme=None,
        test_prefix="ak_test_",
        live_prefixes=("ak_live_",),
        pattern=re.compile(r"ak_(test|live)_[A-Za-z0-9_]{8,128}"),
    ),
    render_error=render,
    plans={"standard": 60, "professional": 300, "enterprise": 1000},
    anonymous_plan="standard",
    seed=_seed,
    webhooks=STYLE,
    jobs={"hadar-crm.appointment.complete": _complete},
    triggers=_triggers(),
)
