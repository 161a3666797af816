from __future__ import annotations

import pytest

from sandbox.apis.hadar import API as HADAR
from sandbox.core.auth import authenticate, credential
from sandbox.core.errors import InvalidApiKey, Unauthorized
from sandbox.core.keys import hash_key
from sandbox.core.store import KeyRecord, Store

KEY = "hdr_test_marina_growth_admin_4f9c2a7b"


@pytest.fixture
def store() -> Store:
    s = Store("memory")
    s.add_key(
        KeyRecord(
            hash_key(KEY),
            "hadar",
            "marina-homes",
            "admin",
            "growth",
            KEY[-4:],
            "",
            "2026-01-01T00:00:00.000Z",
        )
    )
    return s


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "Basic xyz",
        "Bearer",
        "Bearer   ",
        "Bearer nope",
        "hdr_test_marina_growth_admin_4f9c2a7b",
        "Bearer hdr_test_x",
    ],
)
def test_credential_missing_or_malformed_is_unauthorized(header):
    with pytest.raises(Unauthorized):
        credential(HADAR.auth, header)


def test_credential_accepts_bearer_case_insensitively():
    assert credential(HADAR.auth, f"bearer {KEY}") == KEY
    assert credential(HADAR.auth, f"Bearer {KEY}") == KEY


def test_authenticate_resolves_principal(store):
    principal = authenticate(HADAR.auth, "hadar", f"Bearer {KEY}", store)
    assert (principal.tenant, principal.role, principal.plan) == ("marina-homes", "admin", "growth")
    assert principal.can_write


def test_authenticate_refuses_live_keys(store):
    with pytest.raises(InvalidApiKey) as info:
        authenticate(HADAR.auth, "hadar", "Bearer hdr_live_abcdefghijkl", store)
    assert "test keys" in info.value.message


def test_authenticate_refuses_unknown_key(store):
    with pytest.raises(InvalidApiKey) as info:
        authenticate(HADAR.auth, "hadar", "Bearer hdr_test_unknown_key_123", store)
    assert "unknown" in info.value.message


def test_authenticate_refuses_key_of_another_api(store):
    with pytest.raises(InvalidApiKey):
        authenticate(HADAR.auth, "other", f"Bearer {KEY}", store)


def test_authenticate_refuses_revoked_key(store):
    assert store.revoke_key(hash_key(KEY), "2026-01-01T00:00:00.000Z") is True
    with pytest.raises(InvalidApiKey) as info:
        authenticate(HADAR.auth, "hadar", f"Bearer {KEY}", store)
    assert "revoked" in info.value.message
