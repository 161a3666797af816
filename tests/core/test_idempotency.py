from __future__ import annotations

from sandbox.core.idempotency import Decision, canonical_body, decide, fingerprint, should_store
from sandbox.core.store import IdempotencyEntry


def _entry(fp: str) -> IdempotencyEntry:
    return IdempotencyEntry(fp, "done", 201, None, None, "2099-01-01T00:00:00.000Z")


def test_fingerprint_is_stable():
    assert fingerprint("post", "/leads", b"{}") == fingerprint("POST", "/leads", b"{}")


def test_fingerprint_differs_by_method_path_and_body():
    base = fingerprint("POST", "/leads", b'{"a":1}')
    assert fingerprint("PATCH", "/leads", b'{"a":1}') != base
    assert fingerprint("POST", "/bookings", b'{"a":1}') != base
    assert fingerprint("POST", "/leads", b'{"a":2}') != base


def test_fingerprint_is_not_fooled_by_moving_bytes_between_parts():
    assert fingerprint("POST", "/leads", b"x") != fingerprint("POST", "/leadsx", b"")


def test_fingerprint__same_json_other_whitespace_and_key_order_is_the_same_request():
    compact = b'{"name":"Aisha","budget":{"min":1,"max":2}}'
    spaced = b'{\n  "budget": { "max": 2, "min": 1 },\n  "name": "Aisha"\n}\n'
    escaped = b'{"name":"\\u0041isha","budget":{"min":1,"max":2}}'
    assert fingerprint("POST", "/leads", compact) == fingerprint("POST", "/leads", spaced)
    assert fingerprint("POST", "/leads", compact) == fingerprint("POST", "/leads", escaped)


def test_canonical_body__non_json_is_compared_byte_for_byte():
    assert canonical_body(b"not json {") == b"not json {"
    assert canonical_body(b"") == b""
    assert canonical_body(b"\xff\xfe") == b"\xff\xfe"


def test_canonical_body__integers_beyond_64_bits_stay_exact():
    big = b'{"n": 123456789012345678901234567890, "a": 1}'
    assert canonical_body(big) == b'{"a":1,"n":123456789012345678901234567890}'
    assert canonical_body(big) != canonical_body(big.replace(b"890", b"891"))


def test_decide_outcomes():
    assert decide(None, "fp").decision is Decision.PROCEED
    assert decide(_entry("fp"), "fp").decision is Decision.REPLAY
    assert decide(_entry("other"), "fp").decision is Decision.CONFLICT


def test_decide_carries_the_entry_for_replay():
    entry = _entry("fp")
    assert decide(entry, "fp").entry is entry


def test_should_store():
    assert should_store(201)
    assert should_store(404)
    assert should_store(422)
    assert not should_store(500)
    assert not should_store(503)
