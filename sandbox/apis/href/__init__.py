"""HREF per-tenant lead intake (vendor page: shared/seeds/href-lead-intake-api.txt)."""

from __future__ import annotations

import re

from sandbox.apis.href.errors import render
from sandbox.core.definition import ApiDefinition, KeyAuth, lazy

API = ApiDefinition(
    name="href",
    title="HREF Lead Intake API",
    spec_file="href.yaml",
    # The tenant is the Host (<slug>.localtest.me / <slug>.localhost) or, as a fallback, a path segment:
    # /href/<slug>/api (or /<slug>/api with `serve --api href`).
    mounts=("/href/api",),
    solo_mounts=("/api",),
    handlers_module="sandbox.apis.href.handlers",
    auth=KeyAuth(
        header="x-api-key",
        scheme=None,
        test_prefix="hcrm_",
        live_prefixes=(),
        pattern=re.compile(r"hcrm_[A-Za-z0-9_]{8,128}"),
    ),
    render_error=render,
    plans={},  # "Rate limiting: none in v1"
    seed=lazy("sandbox.apis.href.factories:seed"),
    tenant_from_host=True,
    order=5,
)
