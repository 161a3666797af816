"""API keys: SHA-256 at rest, shown once when minted, instantly revocable."""

from __future__ import annotations

import hashlib
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def mint_key(prefix: str, length: int = 32) -> str:
    """A fresh key such as `hdr_test_…`: real randomness, since a minted key is a credential."""
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_secret(prefix: str = "whsec_") -> str:
    """A webhook signing secret: a credential, so real randomness, never the seeded id stream."""
    return mint_key(prefix)


def last4(key: str) -> str:
    return key[-4:]
