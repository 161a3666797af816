"""The request journal: what every request asked and got, kept per tenant for the inspector, the
console log, `GET /_sandbox/requests` and `lead-sandbox logs` (like WireMock's journal or Stripe's
request logs).

Cheap on the request path: a request only appends its raw parts (bytes as received, capped) to an
in-memory list. A background task flushes that list every `FLUSH_SECONDS`: it masks secrets and writes
the batch to the store in one transaction (so every worker process reads every worker's requests), each
request in its stored form (`stored_of`: the parts as received, secrets masked, byte strings as latin-1
text), and hands a summary of each to listeners (the console log). The readable entry (headers as a
mapping, JSON bodies as JSON) is built when someone reads it (`entry_of_stored`): most requests are
never read, and building it for every request was a fifth of a GET's CPU under `make bench`. A reader
flushes first, so a test sees its own request at once.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sandbox.core import jsonio
from sandbox.core.clock import utc_iso

if TYPE_CHECKING:
    from sandbox.core.errors import SandboxError
    from sandbox.core.store import Store

log = logging.getLogger(__name__)

#: Bodies longer than this are cut (request and response each); the entry says how long they were.
#: 2 KiB shows a whole error, one record and the start of a page, and keeps an entry within one SQLite
#: page (no overflow pages to write and free): the journal's cost grows with it (`make bench`).
BODY_LIMIT = 2 * 1024
#: Entries kept per (api, tenant); older ones are dropped as new ones arrive.
KEEP_PER_TENANT = 1000
FLUSH_SECONDS = 0.1
#: Requests waiting for a flush; beyond this the oldest are dropped (a stalled store must not grow memory).
MAX_PENDING = 20_000

_SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "x-api-key", "cookie", "set-cookie"})
_SECRET_WORDS = ("secret", "token", "password", "api-key", "apikey", "signature")
# A JSON member whose name says it holds a secret or a key ("key", "api_key", "signing_secret", …), but
# not ids and last-four digits of keys, which are how a key is referred to.
_SECRET_MEMBER = re.compile(
    rb'("(?:[A-Za-z_]*_)?(?:key|secret|token|password|signature)"\s*:\s*)"([^"\\]*(?:\\.[^"\\]*)*)"', re.IGNORECASE
)
_SECRET_QUERY = re.compile(r"((?:^|&)(?:[A-Za-z_]*_)?(?:key|secret|token|password)=)([^&]*)", re.IGNORECASE)


def mask(value: str) -> str:
    """`hdr_test_marina_growth_admin_4f9c2a7b` -> `****2a7b`; short values lose everything."""
    return "****" + value[-4:] if len(value) >= 12 else "****"


def _mask_credential(value: str) -> str:
    scheme, sep, rest = value.partition(" ")
    if sep and scheme.lower() in ("bearer", "basic", "token"):
        return f"{scheme} {mask(rest.strip())}"
    return mask(value)


_secret_names: dict[bytes, bool] = {}


def _is_secret(raw_name: bytes) -> bool:
    """Whether a header carries a credential; decided once per header name (a few dozen names ever)."""
    known = _secret_names.get(raw_name)
    if known is None:
        name = raw_name.decode("latin-1").lower()
        known = name in _SECRET_HEADERS or any(word in name for word in _SECRET_WORDS)
        if len(_secret_names) < 1024:  # names are the client's: bound what it can make us keep
            _secret_names[raw_name] = known
    return known


#: How a member name that _SECRET_MEMBER matches ends: looked for first (plain substring scans), as the
#: regex over a page of records costs a tenth of a millisecond.
#: The regex ignores case, so the scan looks at the lower-cased body (`API_KEY`, `Signing_SECRET` are secrets too).
_SECRET_ENDINGS = tuple(f'{stem}"'.encode() for stem in ("key", "secret", "token", "password", "signature"))


def _mask_body(body: bytes) -> bytes:
    lowered = body.lower()
    if not any(ending in lowered for ending in _SECRET_ENDINGS):
        return body
    return _SECRET_MEMBER.sub(
        lambda m: m.group(1) + b'"' + mask(m.group(2).decode("utf-8", "replace")).encode() + b'"', body
    )


def mask_query(query: str) -> str:
    return _SECRET_QUERY.sub(lambda m: m.group(1) + mask(m.group(2)), query) if "=" in query else query


def headers_view(raw: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in raw:
        name = key.decode("latin-1").lower()
        text = value.decode("latin-1")
        if _is_secret(key):
            text = _mask_credential(text)
        out[name] = f"{out[name]}, {text}" if name in out else text
    return out


def body_view(body: bytes, size: int, content_type: str) -> Any:
    """A body as the journal shows it: JSON as JSON, anything else as text, masked, cut past BODY_LIMIT."""
    return _readable_body(_mask_body(body[:BODY_LIMIT]), size, content_type)


def _readable_body(body: bytes, size: int, content_type: str) -> Any:
    """`body_view` of a body already cut and masked."""
    if size == 0:
        return None
    if size <= BODY_LIMIT and "json" in content_type:
        try:
            return jsonio.loads(body)
        except ValueError:
            pass
    text = body.decode("utf-8", "replace")
    if size > BODY_LIMIT:
        text += f"… [truncated: {size} bytes]"
    return text


def _violation(item: Any, code: str | None) -> dict[str, Any]:
    if isinstance(item, dict):
        violation = dict(item)
    elif hasattr(item, "_asdict"):  # a (field, message) named tuple
        violation = dict(item._asdict())
    elif hasattr(item, "message"):
        violation = {"field": getattr(item, "field", None), "message": item.message}
    else:
        violation = {"message": str(item)}
    if violation.get("field") is None:
        violation.pop("field", None)
    if code:
        violation.setdefault("code", code)
    return violation


def violations_of(error: SandboxError) -> list[dict[str, Any]]:
    """Every reason an error names: its list of field errors when it carries one, else its message."""
    code = error.code or error.kind
    # ValidationFailed always carries at least its own (field, message); an explicit list of details
    # names more, so it wins over that single fallback.
    listed = list(getattr(error, "violations", None) or ())
    if len(listed) <= 1 and isinstance(error.details, list) and error.details:
        listed = error.details
    if listed:
        return [_violation(item, code) for item in listed]
    return [_violation({"field": error.field, "message": error.message}, code)]


@dataclass(slots=True)
class Captured:
    """One request's raw parts, as the request path hands them over (no decoding there)."""

    started: float  # wall time, seconds
    duration_ms: float
    api: str | None
    tenant: str | None
    method: str
    path: str
    query: bytes
    status: int
    trace_id: str
    key_last4: str | None
    request_headers: Sequence[tuple[bytes, bytes]]
    request_body: bytes
    request_size: int
    response_headers: Sequence[tuple[bytes, bytes]]
    response_body: bytes
    response_size: int
    violations: list[dict[str, Any]] = field(default_factory=list)


#: the first item of a stored entry: which layout the rest follows (rows written before it are entries)
STORED_FORMAT = 2


def _stored_headers(raw: Sequence[tuple[bytes, bytes]]) -> list[list[str]]:
    return [
        [key.decode("latin-1"), _mask_credential(value.decode("latin-1")) if _is_secret(key) else value.decode("latin-1")]
        for key, value in raw
    ]


def stored_of(c: Captured) -> list[Any]:
    """What the store keeps of a request: its parts as received with secrets masked (credential headers,
    secret JSON members, secret query values), bodies cut at BODY_LIMIT, byte strings as latin-1 text (a
    lossless decoding done in C). `entry_of_stored` turns it into the readable entry."""
    return [
        STORED_FORMAT, c.started, c.duration_ms, c.api, c.tenant, c.method, c.path, mask_query(c.query.decode("latin-1")),
        c.status, c.trace_id, c.key_last4,
        _stored_headers(c.request_headers), _mask_body(c.request_body[:BODY_LIMIT]).decode("latin-1"), c.request_size,
        _stored_headers(c.response_headers), _mask_body(c.response_body[:BODY_LIMIT]).decode("latin-1"), c.response_size,
        c.violations,
    ]


def _headers_of(stored: list[list[str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in stored:
        name = key.lower()
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def _content_type_of(stored: list[list[str]]) -> str:
    for key, value in stored:
        if key.lower() == "content-type":
            return value.lower()
    return ""


def entry_id(trace_id: str) -> str:
    return "req_" + trace_id.replace("-", "")[:24]


def summary_of(stored: list[Any]) -> dict[str, Any]:
    """The entry without headers and bodies: what the console log prints."""
    _, started, duration, api, tenant, method, path, query, status, trace_id, last4 = stored[:11]
    return {
        "id": entry_id(trace_id),
        "at": utc_iso(datetime.fromtimestamp(started, UTC)),
        "api": api,
        "tenant": tenant,
        "method": method,
        "path": path,
        "query": query,
        "status": status,
        "duration_ms": round(duration, 2),
        "trace_id": trace_id,
        "key_last4": last4,
        "violations": stored[17],
    }


def entry_of_stored(stored: Any) -> dict[str, Any]:
    """The JSON entry of `GET /_sandbox/requests` (design.md, "Seeing what happened") from its stored
    form; a row written before the stored form existed is that entry already."""
    if not isinstance(stored, list) or not stored or stored[0] != STORED_FORMAT:
        return stored  # type: ignore[no-any-return]
    entry = summary_of(stored)
    violations = entry.pop("violations")
    request_headers, request_body, request_size = stored[11:14]
    response_headers, response_body, response_size = stored[14:17]
    entry["request"] = {
        "headers": _headers_of(request_headers),
        "body": _readable_body(request_body.encode("latin-1"), request_size, _content_type_of(request_headers)),
    }
    entry["response"] = {
        "headers": _headers_of(response_headers),
        "body": _readable_body(response_body.encode("latin-1"), response_size, _content_type_of(response_headers)),
    }
    entry["violations"] = violations
    return entry


def entry_of(captured: Captured) -> dict[str, Any]:
    """The JSON entry of one captured request (what a reader gets back once it is stored)."""
    return entry_of_stored(stored_of(captured))


def status_range(status: str | None) -> tuple[int, int] | None:
    """`4xx` -> (400, 499), `404` -> (404, 404), None -> None; ValueError otherwise."""
    if status is None:
        return None
    text = status.strip().lower()
    if len(text) == 3 and text[0] in "12345" and text[1:] == "xx":
        return int(text[0]) * 100, int(text[0]) * 100 + 99
    if len(text) == 3 and text.isdigit():
        return int(text), int(text)
    raise ValueError(f"status takes a code like 404 or a class like 4xx, got {status!r}")


Listener = Callable[[list[dict[str, Any]]], None]


class Journal:
    """Pending requests in memory, flushed in batches to the store by a background task."""

    def __init__(
        self,
        store: Store,
        *,
        keep_per_tenant: int = KEEP_PER_TENANT,
        flush_seconds: float = FLUSH_SECONDS,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.keep_per_tenant = keep_per_tenant
        self.flush_seconds = flush_seconds
        #: Wall time, not the sandbox clock: a log says when a request really came, even with time frozen.
        self.wall = wall
        self.listeners: list[Listener] = []
        self.dropped = 0
        self._pending: list[Captured] = []
        self._since_prune: dict[tuple[str, str], int] = {}
        self._task: asyncio.Task[None] | None = None

    def record(self, captured: Captured) -> None:
        pending = self._pending
        pending.append(captured)
        if len(pending) > MAX_PENDING:
            self.dropped += len(pending) - MAX_PENDING
            del pending[: len(pending) - MAX_PENDING]

    def flush(self) -> list[dict[str, Any]]:
        """Write what is pending; returns the summaries the listeners got (oldest first; none without
        listeners)."""
        if not self._pending:
            return []
        batch, self._pending = self._pending, []
        stored = [stored_of(captured) for captured in batch]
        rows: list[tuple[str, str, str, int, str, str]] = [
            (entry_id(c.trace_id), c.api or "", c.tenant or "", c.status, c.trace_id, jsonio.dumps_document(kept))
            for c, kept in zip(batch, stored, strict=True)
        ]
        self.store.journal_append(rows)
        self._prune(batch)
        if not self.listeners:
            return []
        entries = [summary_of(kept) for kept in stored]
        for listener in self.listeners:
            try:
                listener(entries)
            except Exception:  # a broken console must not lose the journal
                log.exception("journal listener failed")
        return entries

    def _prune(self, batch: list[Captured]) -> None:
        # Pruning a group once per tenth of its budget keeps it at most 10% over, for one DELETE per many requests.
        step = max(1, self.keep_per_tenant // 10)
        for c in batch:
            group = (c.api or "", c.tenant or "")
            count = self._since_prune.get(group, 0) + 1
            if count >= step:
                self.store.journal_prune(*group, self.keep_per_tenant)
                count = 0
            self._since_prune[group] = count

    def query(
        self,
        *,
        api: str | None = None,
        tenant: str | None = None,
        status: str | None = None,
        trace_id: str | None = None,
        after_seq: int | None = None,
        limit: int = 100,
    ) -> list[tuple[int, dict[str, Any]]]:
        self.flush()
        rows = self.store.journal_list(
            api=api, tenant=tenant, status_range=status_range(status), trace_id=trace_id, after_seq=after_seq,
            limit=limit,
        )
        return [(seq, entry_of_stored(stored)) for seq, stored in rows]

    def ensure_started(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._loop(), name="lead-sandbox-journal")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.flush_seconds)
            try:
                self.flush()
            except Exception:
                log.exception("journal flush failed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            self._task = None
        self.flush()
