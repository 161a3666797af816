"""AskAd universal webhook API (vendor page: shared/seeds/askad-webhook-api.txt)."""

from __future__ import annotations

import re

from sandbox.apis.askad.errors import render
from sandbox.apis.askad.events import STYLE
from sandbox.apis.askad.triggers import TRIGGERS
from sandbox.core.definition import ApiDefinition, KeyAuth, lazy

API = ApiDefinition(
    name="askad",
    title="AskAd Universal Webhook API",
    spec_file="askad.yaml",
    mounts=("/askad/api/v1",),
    solo_mounts=("/api/v1",),
    handlers_module="sandbox.apis.askad.handlers",
    auth=KeyAuth(
        header="authorization",
        scheme="bearer",
        test_prefix="ask_test_",
        live_prefixes=("ask_live_",),
        pattern=re.compile(r"ask_(test|live)_[A-Za-z0-9_]{8,128}"),
    ),
    render_error=render,
    plans={"standard": 100},  # "100 requests per minute per API key"
    anonymous_plan="standard",
    seed=lazy("sandbox.apis.askad.factories:seed"),
    webhooks=STYLE,
    triggers=TRIGGERS,
    indexes=(("contacts", "dedupe_key"), ("deals", "stage")),
    order=4,
)
