"""Our checks of each vendor's conventions, registered with Schemathesis (`SCHEMATHESIS_HOOKS=sandbox.contracts.hooks`).

Each check is small and named; it fails by raising AssertionError with a one-line title. The vendor
comes from `LEAD_SANDBOX_CONTRACT_API`, the keys from `LEAD_SANDBOX_CONTRACT_KEY` and
`LEAD_SANDBOX_CONTRACT_OTHER_KEY` (a second tenant's key, for isolation; optional against live)."""

from __future__ import annotations

import os
import sys
import threading
import time
import uuid
from collections import Counter
from typing import Any

import schemathesis

from sandbox.contracts.vendors import VENDORS, Conventions

_once_lock = threading.Lock()
_done: set[tuple[str, str]] = set()


def _conventions() -> Conventions:
    return VENDORS[os.environ.get("LEAD_SANDBOX_CONTRACT_API", "hadar")]


def _header(response: Any, name: str) -> str | None:
    for key, value in response.headers.items():
        if key.lower() == name.lower():
            return value[0] if isinstance(value, list) else value
    return None


def _json(response: Any) -> Any:
    try:
        return response.json()
    except Exception:  # noqa: BLE001 - any undecodable body is "not JSON" here
        return None


def _first_time(check: str, case: Any) -> bool:
    """Expensive checks run once per operation."""
    key = (check, case.operation.label)
    with _once_lock:
        if key in _done:
            return False
        _done.add(key)
        return True


MAX_RETRY_AFTER = 65.0


def _call(case: Any, **kwargs: Any) -> Any:
    """`case.call`, honouring 429 Retry-After like the main run does (`--rate-limit auto`)."""
    for _ in range(5):
        response = case.call(**kwargs)
        retry_after = _header(response, "Retry-After") if response.status_code == 429 else None
        if retry_after is None or not retry_after.isdigit():
            return response
        time.sleep(min(float(retry_after), MAX_RETRY_AFTER))
    return response


def _auth(conv: Conventions, key: str) -> dict[str, str]:
    return {conv.auth_header: conv.auth(key)}


def _primary_key() -> str | None:
    return os.environ.get("LEAD_SANDBOX_CONTRACT_KEY")


@schemathesis.hook
def filter_failure(ctx: Any, failure: Any, case: Any, response: Any) -> bool:
    """429s and two "valid request rejected" findings are dropped; every other failure stays.

    Cursors are opaque: only values the API returned mean anything, and any other value answers 400 on
    the cursor (documented in the specs); real cursors are followed by `vendor_pagination_walk`. And a
    documented 422 business rule depends on state no schema can express."""
    if response is not None and response.status_code == 429:
        return False  # a rate limit is the deployment's policy, waited out (Retry-After), never a defect
    if getattr(failure, "code", None) != "ST202":
        return True
    body = _json(response)
    generated_cursor = (
        response.status_code == 400
        and isinstance(case.query, dict)
        and "cursor" in case.query
        and _conventions().error_field(body) == "cursor"
    )
    # A 422 with a code the spec's catalogue lists for 422 is a documented business rule about state
    # (e.g. the WhatsApp 24-hour window) that no schema can express.
    documented_rule = response.status_code == 422 and _conventions().error(body)[0] in case.operation.schema.raw_schema.get(
        "x-error-codes", {}
    ).get("422", [])
    return not (generated_cursor or documented_rule)


_sent: dict[str, Any] = {"requests": 0, "started": time.monotonic()}


@schemathesis.hook
def after_call(ctx: Any, case: Any, response: Any) -> None:
    """Count requests; on a 429, say what Schemathesis is waiting for: the budget, the wait and roughly
    how long the rest of the run takes at that budget."""
    _sent["requests"] += 1
    if response.status_code != 429:
        return
    print(rate_limit_note(case.operation.label, response.headers, _sent["requests"],
                          int(os.environ.get("LEAD_SANDBOX_CONTRACT_PLANNED", "0") or 0)), file=sys.stderr, flush=True)


def rate_limit_note(operation: str, headers: Any, sent: int, planned: int) -> str:
    """`rate limited on GET /leads: 0 of 60 requests left in this window; waiting 42 s (Retry-After); …`"""

    def first(name: str) -> str:
        value = headers.get(name) or headers.get(name.lower()) or ""
        return str(value[0] if isinstance(value, list) and value else value)

    limit, remaining, retry_after = first("X-RateLimit-Limit"), first("X-RateLimit-Remaining"), first("Retry-After")
    note = f"lead-sandbox contract: rate limited on {operation}"
    if limit.isdigit():
        note += f": {remaining or '0'} of {limit} requests left in this window"
    note += f"; waiting {retry_after or '?'} s (Retry-After)"
    if limit.isdigit() and int(limit) > 0 and planned > sent:
        minutes = (planned - sent) / int(limit)
        note += f"; {sent} requests so far, up to {planned - sent} to go: about {minutes:.0f} min more at this budget"
    return note


@schemathesis.check
def vendor_envelope(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every response body has the vendor's envelope."""
    if response.status_code == 204 or case.method.upper() == "HEAD":
        return None
    body = _json(response)
    if body is None and response.content:
        raise AssertionError(f"Envelope: the {response.status_code} response is not JSON")
    problem = _conventions().envelope(response.status_code, body)
    if problem:
        raise AssertionError(f"Envelope: {problem}")
    return None


@schemathesis.check
def vendor_error_code(ctx: Any, response: Any, case: Any) -> bool | None:
    """An error's code belongs to the vendor's catalogue for that status (`x-error-codes` in the spec)."""
    if response.status_code < 400:
        return None
    catalogue = case.operation.schema.raw_schema.get("x-error-codes", {})
    allowed = catalogue.get(str(response.status_code))
    code, _ = _conventions().error(_json(response))
    if allowed is None:
        raise AssertionError(f"Error catalogue: status {response.status_code} is not in the spec's x-error-codes")
    if code not in allowed:
        raise AssertionError(
            f"Error catalogue: code {code!r} is not one of {allowed} for status {response.status_code}"
        )
    return None


@schemathesis.check
def vendor_trace_id(ctx: Any, response: Any, case: Any) -> bool | None:
    """A trace id on every response (X-Trace-Id), equal to the error body's trace_id.

    A replayed response (`Idempotent-Replayed: true`) is the first response again, body included: its
    trace_id names the request that ran (what support needs), the header names this one; both must be there."""
    conv = _conventions()
    if not conv.trace_id:
        return None
    header = _header(response, "X-Trace-Id")
    if not header:
        raise AssertionError("Trace id: X-Trace-Id header is missing")
    if response.status_code >= 400:
        _, body_trace = conv.error(_json(response))
        if (_header(response, "Idempotent-Replayed") or "").lower() == "true":
            if not body_trace:
                raise AssertionError("Trace id: a replayed error body has no trace_id")
            return None
        if body_trace != header:
            raise AssertionError(f"Trace id: error body trace_id {body_trace!r} differs from header {header!r}")
    return None


@schemathesis.check
def vendor_rate_limit_headers(ctx: Any, response: Any, case: Any) -> bool | None:
    """X-RateLimit-Limit/Remaining/Reset on every response; Retry-After on 429."""
    if not _conventions().rate_limited:
        return None
    for name in ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"):
        value = _header(response, name)
        if value is None or not value.isdigit():
            raise AssertionError(f"Rate-limit headers: {name} is missing or not an integer ({value!r})")
    if response.status_code == 429 and not (_header(response, "Retry-After") or "").isdigit():
        raise AssertionError("Rate-limit headers: a 429 without a Retry-After in seconds")
    return None


def _declares_idempotency(case: Any) -> bool:
    for parameter in case.operation.definition.raw.get("parameters", []):
        if isinstance(parameter, dict) and parameter.get("name", "").lower() == "idempotency-key":
            return True
    return False


@schemathesis.check
def vendor_idempotent_replay(ctx: Any, response: Any, case: Any) -> bool | None:
    """Same Idempotency-Key -> the same response; the same key with another payload -> 409 conflict."""
    conv = _conventions()
    key = _primary_key()
    if (
        not conv.idempotency
        or key is None
        or case.method.upper() in ("GET", "HEAD", "OPTIONS")
        or not 200 <= response.status_code < 300
        or not _declares_idempotency(case)
        or not _first_time("idempotency", case)
    ):
        return None
    idem = f"contract-{uuid.uuid4()}"
    headers = {**_auth(conv, key), "Idempotency-Key": idem}
    first = _call(case, headers=headers)
    if not 200 <= first.status_code < 300:
        return None  # e.g. the record this case referred to is gone; nothing to replay
    again = _call(case, headers=headers)
    if again.status_code != first.status_code or _json(again) != _json(first):
        raise AssertionError(
            f"Idempotent replay: a repeat with the same Idempotency-Key answered {again.status_code} "
            f"with another body instead of replaying the first {first.status_code}"
        )
    other_body = {**case.body, "x_contract_probe": True} if isinstance(case.body, dict) else {"x_contract_probe": True}
    conflict = _call(case, headers=headers, json=other_body)
    code, _ = conv.error(_json(conflict))
    if conflict.status_code != 409 or code not in ("conflict", "CONFLICT"):
        raise AssertionError(
            f"Idempotent replay: the same key with another payload answered {conflict.status_code} {code!r}, "
            "expected 409 conflict"
        )
    return None


@schemathesis.check
def vendor_pagination_walk(ctx: Any, response: Any, case: Any) -> bool | None:
    """Walking a list page by page (cursor or page number) returns each record exactly once."""
    conv = _conventions()
    key = _primary_key()
    parameter = {"cursor": "cursor", "page": "page"}.get(conv.pagination or "")
    if (
        parameter is None
        or key is None
        or case.method.upper() != "GET"
        or response.status_code != 200
        or "{" in case.operation.path
        or not any(
            p.get("name") == parameter for p in case.operation.definition.raw.get("parameters", []) if isinstance(p, dict)
        )
        or not _first_time("pagination", case)
    ):
        return None
    params: dict[str, Any] | None = {k: v for k, v in (case.query or {}).items() if k not in ("cursor", "page")}
    assert params is not None
    params["limit"] = 7  # small pages: many page boundaries over the seeded data
    seen: list[Any] = []
    pages = 0
    while params is not None and pages < 200:
        page = _call(case, headers=_auth(conv, key), params=params)
        pages += 1
        if page.status_code != 200:
            raise AssertionError(f"Pagination walk: page {pages} answered {page.status_code}")
        body = _json(page)
        seen.extend(item.get("id") for item in conv.page_items(body) if isinstance(item, dict))
        try:
            params = conv.next_page(body, params)
        except ValueError as exc:
            raise AssertionError(f"Pagination walk: {exc}") from None
    duplicates = [record for record, times in Counter(seen).items() if times > 1]
    if duplicates:
        raise AssertionError(f"Pagination walk: {len(duplicates)} record(s) returned twice, e.g. {duplicates[0]}")
    return None


@schemathesis.check
def vendor_tenant_isolation(ctx: Any, response: Any, case: Any) -> bool | None:
    """A record read with tenant A's key is never readable with tenant B's key."""
    conv = _conventions()
    other = os.environ.get("LEAD_SANDBOX_CONTRACT_OTHER_KEY")
    if other is None or case.method.upper() != "GET" or response.status_code != 200 or "{" not in case.operation.path:
        return None
    probe = _call(case, headers=_auth(conv, other))
    if probe.status_code not in (403, 404):
        raise AssertionError(
            f"Tenant isolation: another tenant's key read this record ({probe.status_code} instead of 404)"
        )
    return None
