"""What each vendor promises beyond its schemas: envelope, error catalogue, headers, idempotency,
pagination style. Our checks read these; the default keys come from `fixtures/`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sandbox.seeding import load_fixture


def _hadar_envelope(status: int, body: Any) -> str | None:
    if not isinstance(body, dict) or set(body) != {"data", "error"}:
        return "body must be exactly {data, error}"
    if (body["data"] is None) == (body["error"] is None):
        return "exactly one of data and error must be non-null"
    if status >= 400 and body["error"] is None:
        return f"a {status} must carry an error"
    if status < 400 and body["data"] is None:
        return f"a {status} must carry data"
    return None


def _hadar_error(body: Any) -> tuple[str | None, str | None]:
    """(code, trace_id) of an error body."""
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return None, None
    return error.get("code"), error.get("trace_id")


def _hadar_error_field(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("field") if isinstance(error, dict) else None


def _hadar_items(body: Any) -> list[Any]:
    return list(body["data"]["items"])


def _hadar_next(body: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    pagination = body["data"]["pagination"]
    if not pagination["has_more"]:
        if pagination["next_cursor"] is not None:
            raise ValueError("has_more is false but next_cursor is not null")
        return None
    return {**params, "cursor": pagination["next_cursor"]}


def _crm_envelope(status: int, body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if status >= 400:
        if not set(body) <= {"error", "details"} or not isinstance(body.get("error"), dict):
            return "an error must be {error: {code, message}} with optional details"
        if not {"code", "message"} <= set(body["error"]):
            return "error must carry code and message"
        if "details" in body and "fieldErrors" not in body["details"]:
            return "details must carry fieldErrors"
        return None
    if set(body) not in ({"data"}, {"data", "meta"}):
        return "a success must be {data} or {data, meta}"
    return None


def _crm_error(body: Any) -> tuple[str | None, str | None]:
    error = body.get("error") if isinstance(body, dict) else None
    return (error.get("code"), None) if isinstance(error, dict) else (None, None)


def _crm_error_field(body: Any) -> str | None:
    fields = ((body or {}).get("details") or {}).get("fieldErrors") or {}
    return next(iter(fields), None)


def _crm_next(body: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    meta = body["meta"]
    return {**params, "page": meta["page"] + 1} if meta["has_next"] else None


def _leaditio_envelope(status: int, body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if status >= 400 and not ({"code", "message"} <= set(body) <= {"code", "message", "field"}):
        return "an error must be {code, message}"
    return None


def _leaditio_error(body: Any) -> tuple[str | None, str | None]:
    return (body.get("code"), None) if isinstance(body, dict) else (None, None)


def _leaditio_next(body: Any, params: dict[str, Any]) -> dict[str, Any] | None:
    return {**params, "page": body["page"] + 1} if body["page"] * body["limit"] < body["total"] else None


def _askad_envelope(status: int, body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if status >= 400:
        error = body.get("error")
        if set(body) != {"error"} or not isinstance(error, dict) or not {"code", "message"} <= set(error):
            return "an error must be {error: {code, message}}"
    return None


def _href_envelope(status: int, body: Any) -> str | None:
    if not isinstance(body, dict):
        return "body must be a JSON object"
    if status >= 400:
        if not {"error", "message"} <= set(body) <= {"error", "message", "details"}:
            return "an error must be {error, message} with optional details"
        if body["error"] == "invalid_request" and not isinstance(body.get("details"), list):
            return "invalid_request must carry a details array"
    return None


def _href_error(body: Any) -> tuple[str | None, str | None]:
    return (body.get("error"), None) if isinstance(body, dict) else (None, None)


def _href_error_field(body: Any) -> str | None:
    details = body.get("details") if isinstance(body, dict) else None
    return details[0].get("field") if isinstance(details, list) and details else None


@dataclass(frozen=True)
class Conventions:
    api: str
    spec_file: str
    #: mount of a single-API sandbox (what `serve --api NAME` serves)
    solo_base: str
    auth_header: str
    auth_format: str  # "Bearer {key}" or "{key}"
    live_prefixes: tuple[str, ...]
    envelope: Callable[[int, Any], str | None]
    error: Callable[[Any], tuple[str | None, str | None]]
    error_field: Callable[[Any], str | None]
    trace_id: bool
    rate_limited: bool
    idempotency: bool
    pagination: Literal["cursor", "page"] | None
    page_items: Callable[[Any], list[Any]] = lambda body: []
    next_page: Callable[[Any, dict[str, Any]], dict[str, Any] | None] = lambda body, params: None

    def auth(self, key: str) -> str:
        return self.auth_format.format(key=key)

    def default_keys(self) -> tuple[str, str]:
        """(primary, other tenant) admin keys on the highest plan of each of the first two tenants."""
        tenants = load_fixture(self.api)["tenants"]
        chosen = []
        for tenant in tenants[:2]:
            admin = [k for k in tenant["keys"] if k.get("role", "admin") == "admin"]
            chosen.append(admin[0]["key"])
        return chosen[0], chosen[1]


VENDORS: dict[str, Conventions] = {
    "hadar": Conventions(
        api="hadar",
        spec_file="hadar.yaml",
        solo_base="/v1",
        auth_header="Authorization",
        auth_format="Bearer {key}",
        live_prefixes=("hdr_live_",),
        envelope=_hadar_envelope,
        error=_hadar_error,
        error_field=_hadar_error_field,
        trace_id=True,
        rate_limited=True,
        idempotency=True,
        pagination="cursor",
        page_items=_hadar_items,
        next_page=_hadar_next,
    ),
    "hadar-crm": Conventions(
        api="hadar-crm",
        spec_file="hadar-crm.yaml",
        solo_base="/api/v1",
        auth_header="X-API-Key",
        auth_format="{key}",
        live_prefixes=("ak_live_",),
        envelope=_crm_envelope,
        error=_crm_error,
        error_field=_crm_error_field,
        trace_id=False,
        rate_limited=True,
        idempotency=False,
        pagination="page",
        page_items=lambda body: list(body["data"]),
        next_page=_crm_next,
    ),
    "leaditio": Conventions(
        api="leaditio",
        spec_file="leaditio.yaml",
        solo_base="/api/v1",
        auth_header="Authorization",
        auth_format="Bearer {key}",
        live_prefixes=("ldt_live_",),
        envelope=_leaditio_envelope,
        error=_leaditio_error,
        error_field=lambda body: body.get("field") if isinstance(body, dict) else None,
        trace_id=False,
        rate_limited=True,
        idempotency=False,
        pagination="page",
        page_items=lambda body: list(body["leads"]),
        next_page=_leaditio_next,
    ),
    "askad": Conventions(
        api="askad",
        spec_file="askad.yaml",
        solo_base="/api/v1",
        auth_header="Authorization",
        auth_format="Bearer {key}",
        live_prefixes=("ask_live_",),
        envelope=_askad_envelope,
        error=_crm_error,
        error_field=lambda body: ((body or {}).get("error") or {}).get("field") if isinstance(body, dict) else None,
        trace_id=False,
        rate_limited=True,
        idempotency=False,
        pagination="page",
        page_items=lambda body: list(body["data"]),
        next_page=lambda body, params: {**params, "page": body["page"] + 1} if body["has_more"] else None,
    ),
    "href": Conventions(
        api="href",
        spec_file="href.yaml",
        # the path form of the tenant: a contract run needs no DNS for <tenant>.localtest.me
        solo_base="/acme/api",
        auth_header="X-API-Key",
        auth_format="{key}",
        live_prefixes=(),
        envelope=_href_envelope,
        error=_href_error,
        error_field=_href_error_field,
        trace_id=False,
        rate_limited=False,
        idempotency=False,
        pagination=None,
    ),
}
