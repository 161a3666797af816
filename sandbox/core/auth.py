"""Key authentication, vendor-neutral: read the credential, refuse live keys, look up the hash."""

from __future__ import annotations

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
    """The key in the request, or `Unauthorized` when it is missing or not shaped like one."""
    if not header_value:
        where = "Authorization: Bearer <key>" if auth.scheme else f"{auth.header}: <key>"
        raise Unauthorized(f"Missing API key: send `{where}` with a {auth.test_prefix}… key")
    if auth.scheme:
        scheme, _, token = header_value.strip().partition(" ")
        if scheme.lower() != auth.scheme or not token.strip():
            raise Unauthorized(f"Malformed Authorization header: expected `Bearer {auth.test_prefix}…`")
        header_value = token.strip()
    if not auth.pattern.fullmatch(header_value):
        raise Unauthorized(f"Malformed API key: expected a key starting with {auth.test_prefix}")
    return header_value


def authenticate(auth: KeyAuth, api: str, header_value: str | None, store: Store) -> Principal:
    key = credential(auth, header_value)
    if key.startswith(auth.live_prefixes):
        raise LiveKeyRefused(
            f"This is a sandbox: it accepts test keys ({auth.test_prefix}…) only, never live keys. "
            "Use a test key from `lead-sandbox keys`."
        )
    record = store.find_key(hash_key(key))
    if record is None or record.api != api:
        raise InvalidApiKey("Invalid API key: it is unknown to this workspace")
    if record.revoked_at is not None:
        raise InvalidApiKey("Invalid API key: it was revoked")
    return Principal(api=api, tenant=record.tenant, key_hash=record.key_hash, role=record.role, plan=record.plan)
