"""Key authentication, vendor-neutral: read the credential, refuse live keys, look up the hash."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sandbox.core.errors import InvalidApiKey, LiveKeyRefused, Unauthorized
from sandbox.core.keys import hash_key
from sandbox.core.store import Store

if TYPE_CHECKING:
    from sandbox.core.definition import KeyAuth

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class Principal:
    api: str
    tenant: str
    key_hash: str
    role: str
    plan: str

    @property
    def can_write(self) -> bool:
        return self.role != "read_only"


def credential(auth: KeyAuth, header_value: str | None) -> str:
    """The key in the request; `Unauthorized` when it is missing or not shaped like one, and
    `LiveKeyRefused` for anything with a live prefix, whatever its length or characters (the refusal a
    caller needs to read is "test keys only", not "malformed")."""
    if not header_value:
        where = "Authorization: Bearer <key>" if auth.scheme else f"{auth.header}: <key>"
        raise Unauthorized(f"Missing API key: send `{where}` with a {auth.test_prefix}… key")
    if auth.scheme:
        scheme, _, token = header_value.strip().partition(" ")
        if scheme.lower() != auth.scheme or not token.strip():
            raise Unauthorized(f"Malformed Authorization header: expected `Bearer {auth.test_prefix}…`")
        header_value = token.strip()
    if header_value.startswith(auth.live_prefixes):
        raise LiveKeyRefused(
            f"This is a sandbox: it accepts test keys ({auth.test_prefix}…) only, never live keys. "
            "Use a test key from `lead-sandbox keys`."
        )
    if not auth.pattern.fullmatch(header_value):
        raise Unauthorized(f"Malformed API key: {malformation(auth, header_value)}")
    return header_value


#: the body of every vendor's key pattern (after its prefix): `[A-Za-z0-9_]{MIN,MAX}`
_KEY_BODY = re.compile(r"\[A-Za-z0-9_\]\{(\d+),(\d+)\}")


def malformation(auth: KeyAuth, key: str) -> str:
    """What is wrong with a key `auth.pattern` does not match, in the terms of that pattern."""
    if not key.startswith(auth.test_prefix):
        return f"expected a key starting with {auth.test_prefix}"
    body = _KEY_BODY.search(auth.pattern.pattern)
    if body is None or not auth.pattern.pattern.endswith(body.group(0)):
        return f"expected {auth.test_prefix} followed by the vendor's key characters"  # a pattern of another form
    low, high = int(body.group(1)), int(body.group(2))
    rest = key[len(auth.test_prefix):]
    expected = f"expected {auth.test_prefix} followed by {low} to {high} letters, digits or underscores"
    wrong = sorted({c for c in rest if not (c.isascii() and (c.isalnum() or c == "_"))})
    if wrong:
        return f"{expected}; {', '.join(repr(c) for c in wrong)} {'is' if len(wrong) == 1 else 'are'} not allowed"
    return f"{expected}, not {len(rest)}"


def authenticate(auth: KeyAuth, api: str, header_value: str | None, store: Store) -> Principal:
    key = credential(auth, header_value)
    record = store.find_key(hash_key(key))
    if record is None or record.api != api:
        raise InvalidApiKey("Invalid API key: it is unknown to this workspace")
    if record.revoked_at is not None:
        raise InvalidApiKey("Invalid API key: it was revoked")
    return Principal(api=api, tenant=record.tenant, key_hash=record.key_hash, role=record.role, plan=record.plan)
