"""Idempotency-Key decisions as pure functions; the write unit and the middleware only move bytes.

Design (crash-safe by construction): a key's entry is written in the SAME transaction as the handler's
writes (the record, the events and jobs it queues), together with the response the client is about to
get. There is no visible "pending" state: a process killed half-way commits nothing, so a retry with the
key runs the request once; a process killed after the commit (acknowledged or not) left the response,
so a retry replays it. Concurrent duplicates serialise on the store's write lock (SQLite) or the
entry's primary key (PostgreSQL): the second one finds the first's entry and replays it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

import orjson

from sandbox.core import jsonio
from sandbox.core.store import IdempotencyEntry

#: Hadar: "stores the request hash and the first response under that key for 24 hours per tenant".
DEFAULT_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def canonical_body(body: bytes) -> bytes:
    """The body as the server understands it: JSON re-serialised with sorted keys and no whitespace, so
    the same payload with other whitespace or key order is the same request. Anything that is not JSON
    is compared byte for byte."""
    if not body:
        return body
    try:
        parsed = jsonio.loads(body)  # integers beyond 64 bits stay exact (not floats that could collide)
    except ValueError:  # not UTF-8 or not JSON
        return body
    try:
        return orjson.dumps(parsed, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # what orjson cannot encode (those integers): the standard library, same canonical form
        return json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The request hash over the canonical request. The path is part of it: one key reused on another
    route is another payload."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), canonical_body(body)):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class Decision(Enum):
    PROCEED = "proceed"  # the key is free: run the handler and store its response with its writes
    REPLAY = "replay"  # same payload, response stored: send it again
    CONFLICT = "conflict"  # same key, another payload: 409


@dataclass(frozen=True, slots=True)
class Outcome:
    decision: Decision
    entry: IdempotencyEntry | None = None


def decide(existing: IdempotencyEntry | None, request_fingerprint: str) -> Outcome:
    if existing is None:
        return Outcome(Decision.PROCEED)
    if existing.fingerprint != request_fingerprint:
        return Outcome(Decision.CONFLICT, existing)
    return Outcome(Decision.REPLAY, existing)


def should_store(status: int) -> bool:
    """Keep what the handler decided (2xx, and 4xx such as 404 or a business 422); never pin a 5xx,
    so a retry with the same key can succeed, which is what the vendor tells integrators to do."""
    return status < 500
