"""Hadar CRM API (vendor page: shared/seeds/hadar-crm-api.txt)."""

from __future__ import annotations

import re

from sandbox.apis.hadar_crm.errors import render
from sandbox.apis.hadar_crm.events import STYLE
from sandbox.apis.hadar_crm.triggers import TRIGGERS
from sandbox.core.definition import ApiDefinition, KeyAuth, lazy

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
    # "Standard — 60 — Default tier for all API keys" (vendor page, Rate Limiting)
    default_plan="standard",
    seed=lazy("sandbox.apis.hadar_crm.factories:seed"),
    webhooks=STYLE,
    jobs={"hadar-crm.appointment.complete": lazy("sandbox.apis.hadar_crm.models:complete_job")},
    triggers=TRIGGERS,
    indexes=(("appointments", "lead_id"), ("leads", "status")),
    order=2,
)
