"""Hadar REST API v1 (vendor page: shared/seeds/hadar-api-reference.txt)."""

from __future__ import annotations

import re

from sandbox.apis.hadar.errors import render
from sandbox.apis.hadar.events import STYLE
from sandbox.apis.hadar.simulations import SIMULATIONS
from sandbox.apis.hadar.triggers import TRIGGERS
from sandbox.core.definition import ApiDefinition, KeyAuth, lazy

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
    # The vendor page: "Auth and revenue routes are fail-closed". Every route here authenticates with a
    # key, and /invoices is the revenue route, so every route fails closed.
    rate_limits_fail_closed=True,
    idempotency=True,
    seed=lazy("sandbox.apis.hadar.factories:seed"),
    docs_path="/developers/api-docs",
    webhooks=STYLE,
    jobs={
        "hadar.whatsapp.status": lazy("sandbox.apis.hadar.whatsapp:advance_status"),
        "hadar.booking.complete": lazy("sandbox.apis.hadar.models:complete_booking_job"),
    },
    triggers=TRIGGERS,
    simulations=SIMULATIONS,
    # "The unversioned alias /api/* exists for the dashboard only — do not rely on it from integrations."
    unserved=(
        ("/hadar/api",),
        ("/api",),
        "The unversioned /api/* alias serves Hadar's dashboard only; integrations call /v1/* or /api/v1/*",
    ),
    # a lead's conversations, bookings and messages (the WhatsApp window), a conversation's messages,
    # an endpoint's deliveries
    indexes=(("conversations", "lead_id"), ("bookings", "lead_id"), ("messages", "lead_id"),
             ("messages", "conversation_id"), ("webhook_deliveries", "endpoint_id")),
    order=1,
)
