"""What each vendor promises beyond its schemas: envelope, error catalogue, headers, idempotency,
pagination style. Our checks read these; the default keys come from `fixtures/`.

Facts the API definitions already state (spec file, base path, key header and format, live prefixes, rate
limits, idempotency) are read from them, never repeated here: only how to read each vendor's bodies (its
`WireShape`) is written down in this module. An API without one here (a scaffolded API) is read in the
default shape of `sandbox.apis.generic`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from sandbox.apis import registry
from sandbox.core.definition import ApiDefinition
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


def _generic_envelope(status: int, body: Any) -> str | None:
    if not isinstance(body, (dict, list)):
        return "body must be JSON"
    if status >= 400:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(body, dict) or set(body) != {"error"} or not isinstance(error, dict) \
                or not {"code", "message"} <= set(error):
            return "an error must be {error: {code, message}}"
    return None


def _nested_error_field(body: Any) -> str | None:
    return ((body or {}).get("error") or {}).get("field") if isinstance(body, dict) else None


@dataclass(frozen=True)
class WireShape:
    """How a vendor's bodies read: the facts only a contract run needs, stated nowhere else."""

    envelope: Callable[[int, Any], str | None]
    error: Callable[[Any], tuple[str | None, str | None]]
    error_field: Callable[[Any], str | None]
    trace_id: bool
    pagination: Literal["cursor", "page"] | None
    page_items: Callable[[Any], list[Any]] = lambda body: []
    next_page: Callable[[Any, dict[str, Any]], dict[str, Any] | None] = lambda body, params: None


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


SHAPES: dict[str, WireShape] = {
    "hadar": WireShape(
        envelope=_hadar_envelope,
        error=_hadar_error,
        error_field=_hadar_error_field,
        trace_id=True,
        pagination="cursor",
        page_items=_hadar_items,
        next_page=_hadar_next,
    ),
    "hadar-crm": WireShape(
        envelope=_crm_envelope,
        error=_crm_error,
        error_field=_crm_error_field,
        trace_id=False,
        pagination="page",
        page_items=lambda body: list(body["data"]),
        next_page=_crm_next,
    ),
    "leaditio": WireShape(
        envelope=_leaditio_envelope,
        error=_leaditio_error,
        error_field=lambda body: body.get("field") if isinstance(body, dict) else None,
        trace_id=False,
        pagination="page",
        page_items=lambda body: list(body["leads"]),
        next_page=_leaditio_next,
    ),
    "askad": WireShape(
        envelope=_askad_envelope,
        error=_crm_error,
        error_field=_nested_error_field,
        trace_id=False,
        pagination="page",
        page_items=lambda body: list(body["data"]),
        next_page=lambda body, params: {**params, "page": body["page"] + 1} if body["has_more"] else None,
    ),
    "href": WireShape(
        envelope=_href_envelope,
        error=_href_error,
        error_field=_href_error_field,
        trace_id=False,
        pagination=None,
    ),
}

#: the default error shape of `sandbox.apis.generic` (`{error: {code, message, field?}}`); pagination is
#: not walked, as a scaffolded spec may page in any of several styles
GENERIC = WireShape(envelope=_generic_envelope, error=_crm_error, error_field=_nested_error_field, trace_id=False,
                    pagination=None)


def header_name(header: str) -> str:
    """A lower-case header name as vendors write it: `authorization` -> `Authorization`, `x-api-key` -> `X-API-Key`."""
    return "-".join(part.upper() if part in {"api", "id"} else part.capitalize() for part in header.split("-"))


def conventions(api: ApiDefinition) -> Conventions:
    """The conventions of one API: its definition's facts and its wire shape."""
    if api.auth is None:
        raise ValueError(f"{api.name} has no key auth: a contract run needs one")
    solo_base = api.solo_mounts[0]
    if api.tenant_from_host:  # the path form of the tenant: a contract run needs no DNS for <tenant>.localtest.me
        solo_base = api.tenant_base(solo_base, load_fixture(api.name)["tenants"][0]["slug"])
    shape = SHAPES.get(api.name, GENERIC)
    return Conventions(
        api=api.name,
        spec_file=api.spec_file,
        solo_base=solo_base,
        auth_header=header_name(api.auth.header),
        auth_format="Bearer {key}" if api.auth.scheme == "bearer" else "{key}",
        live_prefixes=api.auth.live_prefixes,
        envelope=shape.envelope,
        error=shape.error,
        error_field=shape.error_field,
        trace_id=shape.trace_id,
        rate_limited=bool(api.plans),
        idempotency=api.idempotency,
        pagination=shape.pagination,
        page_items=shape.page_items,
        next_page=shape.next_page,
    )


VENDORS: dict[str, Conventions] = {name: conventions(api) for name, api in registry().items() if not api.admin_only}
