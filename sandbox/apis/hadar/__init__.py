"""Hadar REST API v1 (vendor page: shared/seeds/hadar-api-reference.txt)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from sandbox.apis.base import ApiDefinition, KeyAuth
from sandbox.apis.hadar.errors import render

if TYPE_CHECKING:
    from sandbox.core.store import Job
    from sandbox.core.webhooks import WebhookStyle
    from sandbox.runtime import Runtime
    from sandbox.seeding import SeedContext


def _triggers() -> dict[str, Any]:
    from sandbox.apis.hadar.triggers import TRIGGERS

    return TRIGGERS


def _style() -> WebhookStyle:
    from sandbox.apis.hadar.events import STYLE

    return STYLE


async def _advance_status(runtime: Runtime, job: Job) -> None:
    from sandbox.apis.hadar.whatsapp import advance_status

    await advance_status(runtime, job)


def _seed(ctx: SeedContext) -> None:
    from fixtures.hadar import seed  # fixtures import the models; import late to avoid a cycle

    seed(ctx)

API = ApiDefinition(
    name="hadar",
    title="Hadar API v1",
    spec_file="hadar.yaml",
    # The vendor page gives https://api.hadar-ai.com/v1 and routes under /api/v1: serve both.
    mounts=("/hadar/v1", "/hadar/api/v1"),
    solo_mounts=("/v1", "/api/v1"),
    handlers_module="sandbox.apis.hadar.handlers",
    auth=KeyAuth(
        header="authorization",
        scheme="bearer",
        test_prefix="hdr_test_",
        live_prefixes=("hdr_live_",),
        pattern=re.compile(r"hdr_(test|live)_[A-Za-z0-9_]{8,128}"),
    ),
    render_error=render,
    plans={"starter": 60, "growth": 300, "enterprise": 1000},
    anonymous_plan="starter",
    idempotency=True,
    seed=_seed,
    docs_path="/developers/api-docs",
    webhooks=_style(),
    jobs={"hadar.whatsapp.status": _advance_status},
    triggers=_triggers(),
)
