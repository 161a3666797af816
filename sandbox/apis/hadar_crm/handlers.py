"""One function per operationId of openapi/hadar-crm.yaml."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.responses import Response

from sandbox.apis.hadar_crm import models
from sandbox.http.context import tenant_workspace
from sandbox.http.responses import json_response

_ws = partial(tenant_workspace, "hadar-crm")


async def list_leads(
    page: int = 1,
    limit: int = 20,
    status: str | None = None,
    channel: str | None = None,
    search: str | None = None,
    score_min: int | None = None,
    score_max: int | None = None,
) -> Response:
    return json_response(
        models.list_leads(
            _ws(), page=page, limit=limit, status=status, channel=channel, search=search,
            score_min=score_min, score_max=score_max,
        )
    )


async def create_lead(body: dict[str, Any]) -> Response:
    return json_response({"data": models.create_lead(_ws(), body)}, 201)


async def get_lead(lead_id: str) -> Response:
    return json_response({"data": models.get_lead(_ws(), lead_id)})


async def list_properties(
    page: int = 1,
    limit: int = 20,
    type: str | None = None,
    status: str | None = None,
    min_price: int | None = None,
    max_price: int | None = None,
    bedrooms: int | None = None,
    community: str | None = None,
) -> Response:
    return json_response(
        models.list_properties(
            _ws(), page=page, limit=limit, type=type, status=status, min_price=min_price,
            max_price=max_price, bedrooms=bedrooms, community=community,
        )
    )


async def create_property(body: dict[str, Any]) -> Response:
    return json_response({"data": models.create_property(_ws(), body)}, 201)


async def list_appointments(
    page: int = 1,
    limit: int = 20,
    type: str | None = None,
    status: str | None = None,
    lead_id: str | None = None,
) -> Response:
    return json_response(
        models.list_appointments(_ws(), page=page, limit=limit, type=type, status=status, lead_id=lead_id)
    )


async def schedule_appointment(body: dict[str, Any]) -> Response:
    return json_response({"data": models.schedule_appointment(_ws(), body)}, 201)


async def list_webhooks(page: int = 1, limit: int = 20) -> Response:
    return json_response(models.list_webhooks(_ws(), page=page, limit=limit))
