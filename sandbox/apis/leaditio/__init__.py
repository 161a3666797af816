"""Leaditio buyer API (vendor page: shared/seeds/leaditio-buyer-api.txt)."""

from __future__ import annotations

import re

from sandbox.apis.leaditio.errors import render
from sandbox.apis.leaditio.events import STYLE
from sandbox.apis.leaditio.triggers import TRIGGERS
from sandbox.core.definition import ApiDefinition, KeyAuth, lazy

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
    # "Keys … inherit your plan's permissions and rate limits"; the page shows 60 (beside a pro account).
    # Enterprise's 300 is our choice (openapi/leaditio.yaml says so); basic's calls are 403 anyway.
    plans={"basic": 60, "pro": 60, "enterprise": 300},
    anonymous_plan="basic",
    seed=lazy("sandbox.apis.leaditio.factories:seed"),
    webhooks=STYLE,
    jobs={"leaditio.match": lazy("sandbox.apis.leaditio.matching:run_match")},
    triggers=TRIGGERS,
    on_start=lazy("sandbox.apis.leaditio.matching:ensure_jobs"),
    # account stats and the monthly quota count leads delivered this month, and converted ones
    indexes=(("leads", "delivered_at"), ("leads", "converted")),
    order=3,
)
