"""One function per operationId of openapi/leaditio.yaml."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from sandbox.apis.leaditio import models
from sandbox.core.errors import Unauthorized
from sandbox.core.workspace import Workspace
from sandbox.http.context import current, tenant_workspace
from sandbox.http.responses import json_response


def _ws() -> Workspace:
    ctx = current()
    if ctx.principal is None:  # the gate lets no keyless request reach a secured operation; say so if one does
        raise Unauthorized()
    models.require_api_access(ctx.principal.plan)  # keys inherit the buyer's plan
    return tenant_workspace("leaditio")


async def list_leads(
    vertical: str | None = None,
    score_tier: str | None = None,
    suburb: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
    page: int = 1,
    limit: int = 25,
) -> Response:
    return json_response(
        models.list_leads(
            _ws(), vertical=vertical, score_tier=score_tier, suburb=suburb, date_from=date_from, date_to=date_to,
            page=page, limit=limit,
        )
    )


async def get_lead(id: str) -> Response:
    return json_response(models.get_lead(_ws(), id))


async def register_webhook(body: dict[str, Any]) -> Response:
    return json_response(models.register_webhook(_ws(), body), 201)


async def get_account_stats() -> Response:
    ws = _ws()
    tenant = ws.store.get_tenant(ws.api, ws.tenant)
    assert tenant is not None
    return json_response(models.account_stats(ws, tenant.plan, int(tenant.data.get("quota_this_month", 0))))
