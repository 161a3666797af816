"""One function per operationId of openapi/hadar.yaml: validated arguments -> one model call -> response."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.responses import Response

from sandbox.apis.hadar import models, whatsapp
from sandbox.core.keys import new_secret
from sandbox.http.context import current, tenant_workspace
from sandbox.http.responses import json_response

_ws = partial(tenant_workspace, "hadar")


def _ok(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response({"data": data, "error": None}, status, headers)


def _created(data: dict[str, Any], collection_path: str | None) -> Response:
    headers = None
    if collection_path is not None:
        mount = current().mount
        prefix = mount.prefix if mount else ""
        headers = {"Location": f"{prefix}{collection_path}/{data['id']}"}
    return _ok(data, 201, headers)


# --- leads --------------------------------------------------------------------------------------
async def list_leads(
    limit: int = 25,
    cursor: str | None = None,
    source: str | None = None,
    score_min: int | None = None,
    created_after: str | None = None,
    assigned_to: str | None = None,
    status: str | None = None,
) -> Response:
    return _ok(
        models.list_leads(
            _ws(),
            limit=limit,
            cursor=cursor,
            source=source,
            score_min=score_min,
            created_after=created_after,
            assigned_to=assigned_to,
            status=status,
        )
    )


async def create_lead(body: dict[str, Any]) -> Response:
    return _created(models.create_lead(_ws(), body), "/leads")


async def get_lead(lead_id: str) -> Response:
    return _ok(models.get_lead(_ws(), lead_id))


async def update_lead(lead_id: str, body: dict[str, Any]) -> Response:
    return _ok(models.update_lead(_ws(), lead_id, body))


# --- conversations ------------------------------------------------------------------------------
async def list_conversations(
    limit: int = 25,
    cursor: str | None = None,
    lead_id: str | None = None,
    channel: str | None = None,
    status: str | None = None,
) -> Response:
    return _ok(
        models.list_conversations(_ws(), limit=limit, cursor=cursor, lead_id=lead_id, channel=channel, status=status)
    )


async def get_conversation(conversation_id: str) -> Response:
    return _ok(models.get_conversation(_ws(), conversation_id))


# --- properties ---------------------------------------------------------------------------------
async def list_properties(
    limit: int = 25,
    cursor: str | None = None,
    type: str | None = None,
    status: str | None = None,
    community: str | None = None,
    bedrooms: int | None = None,
) -> Response:
    return _ok(
        models.list_properties(
            _ws(), limit=limit, cursor=cursor, type=type, status=status, community=community, bedrooms=bedrooms
        )
    )


async def create_property(body: dict[str, Any]) -> Response:
    return _created(models.create_property(_ws(), body), "/properties")


async def get_property(property_id: str) -> Response:
    return _ok(models.get_property(_ws(), property_id))


# --- bookings -----------------------------------------------------------------------------------
async def list_bookings(
    limit: int = 25,
    cursor: str | None = None,
    lead_id: str | None = None,
    status: str | None = None,
    type: str | None = None,
) -> Response:
    return _ok(models.list_bookings(_ws(), limit=limit, cursor=cursor, lead_id=lead_id, status=status, type=type))


async def create_booking(body: dict[str, Any]) -> Response:
    return _created(models.create_booking(_ws(), body), "/bookings")


async def get_booking(booking_id: str) -> Response:
    return _ok(models.get_booking(_ws(), booking_id))


async def cancel_booking(booking_id: str, body: dict[str, Any] | None = None) -> Response:
    return _ok(models.cancel_booking(_ws(), booking_id, (body or {}).get("reason")))


# --- invoices -----------------------------------------------------------------------------------
async def list_invoices(limit: int = 25, cursor: str | None = None, status: str | None = None) -> Response:
    return _ok(models.list_invoices(_ws(), limit=limit, cursor=cursor, status=status))


async def get_invoice(invoice_id: str) -> Response:
    return _ok(models.get_invoice(_ws(), invoice_id))


# --- webhook endpoints --------------------------------------------------------------------------
async def list_webhook_endpoints(limit: int = 25, cursor: str | None = None) -> Response:
    return _ok(models.list_webhook_endpoints(_ws(), limit=limit, cursor=cursor))


async def create_webhook_endpoint(body: dict[str, Any]) -> Response:
    return _created(models.create_webhook_endpoint(_ws(), body, new_secret()), "/webhooks")


async def rotate_webhook_secret(endpoint_id: str) -> Response:
    return _ok(models.rotate_webhook_secret(_ws(), endpoint_id, new_secret()))


async def list_webhook_deliveries(
    endpoint_id: str, limit: int = 25, cursor: str | None = None, state: str | None = None
) -> Response:
    return _ok(models.list_webhook_deliveries(_ws(), endpoint_id, limit=limit, cursor=cursor, state=state))


async def redeliver_webhook(endpoint_id: str, delivery_id: str) -> Response:
    return _ok(models.redeliver_webhook(_ws(), endpoint_id, delivery_id), 202)


async def get_webhook_endpoint(endpoint_id: str) -> Response:
    return _ok(models.get_webhook_endpoint(_ws(), endpoint_id))


async def delete_webhook_endpoint(endpoint_id: str) -> Response:
    return _ok(models.delete_webhook_endpoint(_ws(), endpoint_id))


# --- WhatsApp -----------------------------------------------------------------------------------
async def send_whatsapp_message(body: dict[str, Any]) -> Response:
    return _ok(whatsapp.send(_ws(), body), 201)


async def get_whatsapp_message(message_id: str) -> Response:
    return _ok(whatsapp.get(_ws(), message_id))
