from __future__ import annotations

import pytest

from sandbox.apis import registry
from sandbox.apis.hadar import API as HADAR
from sandbox.core.auth import authenticate, credential
from sandbox.core.definition import KeyAuth
from sandbox.core.errors import InvalidApiKey, LiveKeyRefused, Unauthorized
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


AUTHED = sorted((name, api.auth) for name, api in registry().items() if api.auth is not None)


def _sent(auth: KeyAuth, key: str) -> str:
    return f"Bearer {key}" if auth.scheme else key


@pytest.mark.parametrize(("name", "auth"), AUTHED, ids=[name for name, _ in AUTHED])
def test_credential__a_short_test_key_says_what_shape_is_expected(name: str, auth: KeyAuth) -> None:
    """`hdr_test_typo` does start with hdr_test_: the message says what is wrong with it instead."""
    with pytest.raises(Unauthorized) as info:
        credential(auth, _sent(auth, auth.test_prefix + "typo"))
    assert info.value.message == (f"Malformed API key: expected {auth.test_prefix} followed by 8 to 128 letters, "
                                  "digits or underscores, not 4")
    with pytest.raises(Unauthorized) as info:
        credential(auth, _sent(auth, auth.test_prefix + "abc-def.ghij"))
    assert info.value.message.endswith("underscores; '-', '.' are not allowed")
    with pytest.raises(Unauthorized) as info:
        credential(auth, _sent(auth, "nope_" + "x" * 12))
    assert info.value.message == f"Malformed API key: expected a key starting with {auth.test_prefix}"


@pytest.mark.parametrize(("name", "auth"), [(n, a) for n, a in AUTHED if a.live_prefixes],
                         ids=[n for n, a in AUTHED if a.live_prefixes])
@pytest.mark.parametrize("body", ["", "abc123", "x" * 300, "abc-def"], ids=["empty", "short", "long", "odd-chars"])
def test_credential__any_live_prefixed_key_is_the_live_refusal(name: str, auth: KeyAuth, body: str) -> None:
    with pytest.raises(LiveKeyRefused) as info:
        credential(auth, _sent(auth, auth.live_prefixes[0] + body))
    assert "accepts test keys" in info.value.message and "Malformed" not in info.value.message
