"""One function per operationId of openapi/href.yaml."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox.apis.href import models
from sandbox.http.context import tenant_workspace
from sandbox.http.responses import json_response


async def intake_lead(body: dict[str, Any]) -> Response:
    return json_response(models.intake(tenant_workspace("href"), body), 201)
