"""One answer to "is this this machine?" for the Host guard, webhook egress and the contract runner."""

from __future__ import annotations

import pytest

from sandbox.core.loopback import is_localhost_name, is_loopback_name, is_loopback_url


@pytest.mark.parametrize("name", ["localhost", "a.localhost", "127.0.0.1", "127.8.9.10", "::1", "localtest.me",
                                  "acme.localtest.me"])
def test_loopback_names(name: str) -> None:
    assert is_loopback_name(name)


@pytest.mark.parametrize("name", ["example.com", "localtest.me.evil.com", "evillocaltest.me", "10.0.0.1", "0.0.0.0",
                                  "notlocalhost", "localhost.example", ""])
def test_not_loopback_names(name: str) -> None:
    assert not is_loopback_name(name)


def test_localhost_names_are_only_the_rfc_6761_ones() -> None:
    """Egress never looks these up; `*.localtest.me` needs DNS, so it is loopback but not a localhost name."""
    assert is_localhost_name("localhost") and is_localhost_name("x.localhost")
    assert not is_localhost_name("acme.localtest.me") and not is_localhost_name("127.0.0.1")


@pytest.mark.parametrize(("url", "expected"), [
    ("http://127.0.0.1:4010/v1", True), ("http://[::1]:4010/", True), ("http://LOCALHOST./x", True),
    ("http://acme.localtest.me:4010/api", True), ("https://staging.example/v1", False), ("not a url", False),
])
def test_loopback_urls(url: str, expected: bool) -> None:
    assert is_loopback_url(url) is expected
