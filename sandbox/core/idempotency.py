"""Idempotency-Key decisions as pure functions; the middleware only moves bytes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from sandbox.core.store import IdempotencyEntry

#: Hadar: "stores the request hash and the first response under that key for 24 hours per tenant".
DEFAULT_TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


def fingerprint(method: str, path: str, body: bytes) -> str:
    """The request hash. The path is part of it: one key reused on another route is another payload."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


class Decision(Enum):
    PROCEED = "proceed"  # the key is ours: run the handler, then store its response
    REPLAY = "replay"  # same payload, response stored: send it again
    CONFLICT = "conflict"  # same key, another payload: 409
    WAIT = "wait"  # same payload, first request still running: wait for its response


@dataclass(frozen=True, slots=True)
class Outcome:
    decision: Decision
    entry: IdempotencyEntry | None = None


def decide(existing: IdempotencyEntry | None, request_fingerprint: str) -> Outcome:
    if existing is None:
        return Outcome(Decision.PROCEED)
    if existing.fingerprint != request_fingerprint:
        return Outcome(Decision.CONFLICT, existing)
    if existing.state == "done":
        return Outcome(Decision.REPLAY, existing)
    return Outcome(Decision.WAIT, existing)


def should_store(status: int) -> bool:
    """Keep what the handler decided (2xx, 4xx); never pin a transient 5xx, so a retry with the same
    key can succeed, which is what the vendor tells integrators to do on failures."""
    return status < 500
