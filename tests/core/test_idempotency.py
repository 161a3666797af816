from __future__ import annotations

from sandbox.core.idempotency import Decision, decide, fingerprint, should_store
from sandbox.core.store import IdempotencyEntry


def _entry(fp: str, state: str) -> IdempotencyEntry:
    return IdempotencyEntry(
        fp, state, 201 if state == "done" else None, None, None, "2099-01-01T00:00:00.000Z"
    )


def test_fingerprint_is_stable():
    assert fingerprint("post", "/leads", b"{}") == fingerprint("POST", "/leads", b"{}")


def test_fingerprint_differs_by_method_path_and_body():
    base = fingerprint("POST", "/leads", b'{"a":1}')
    assert fingerprint("PATCH", "/leads", b'{"a":1}') != base
    assert fingerprint("POST", "/bookings", b'{"a":1}') != base
    assert fingerprint("POST", "/leads", b'{"a":2}') != base


def test_fingerprint_is_not_fooled_by_moving_bytes_between_parts():
    assert fingerprint("POST", "/leads", b"x") != fingerprint("POST", "/leadsx", b"")


def test_decide_outcomes():
    assert decide(None, "fp").decision is Decision.PROCEED
    assert decide(_entry("fp", "done"), "fp").decision is Decision.REPLAY
    assert decide(_entry("fp", "pending"), "fp").decision is Decision.WAIT
    assert decide(_entry("other", "done"), "fp").decision is Decision.CONFLICT
    assert decide(_entry("other", "pending"), "fp").decision is Decision.CONFLICT


def test_decide_carries_the_entry_for_replay():
    entry = _entry("fp", "done")
    assert decide(entry, "fp").entry is entry


def test_should_store():
    assert should_store(201)
    assert should_store(404)
    assert should_store(422)
    assert not should_store(500)
    assert not should_store(503)
