"""One function per operationId of openapi/href.yaml."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox.apis.href import models
from sandbox.http.context import current
from sandbox.http.responses import json_response


async def intake_lead(body: dict[str, Any]) -> Response:
    ctx = current()
    return json_response(models.intake(ctx.runtime.workspace("href", ctx.tenant), body), 201)
