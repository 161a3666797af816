"""The /_sandbox control plane (openapi/sandbox.yaml): test helpers for the sandbox itself."""

from __future__ import annotations

from sandbox.core.definition import ApiDefinition
from sandbox.http.errors import neutral_body

API = ApiDefinition(
    name="sandbox",
    title="lead-sandbox control plane",
    spec_file="sandbox.yaml",
    mounts=("/_sandbox",),
    solo_mounts=("/_sandbox",),
    handlers_module="sandbox.control.handlers",
    auth=None,
    render_error=neutral_body,
    admin_only=True,
)
