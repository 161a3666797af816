"""One function per operationId of openapi/askad.yaml."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.responses import Response

from sandbox.apis.askad import models
from sandbox.http.context import tenant_workspace
from sandbox.http.responses import json_response

_ws = partial(tenant_workspace, "askad")


async def push_inbound_lead(body: dict[str, Any]) -> Response:
    return json_response(models.push_inbound(_ws(), body), 201)


async def capture_lead(body: dict[str, Any]) -> Response:
    return json_response(models.capture(_ws(), body), 201)


async def list_contacts(page: int = 1, limit: int = 50) -> Response:
    return json_response(models.list_contacts(_ws(), page=page, limit=limit))


async def list_deals(page: int = 1, limit: int = 50, stage: str | None = None) -> Response:
    return json_response(models.list_deals(_ws(), page=page, limit=limit, stage=stage))
