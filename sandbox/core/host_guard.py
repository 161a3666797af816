"""The control plane is not a CSRF or DNS-rebinding target (design.md, "The control plane is not a CSRF
target"): pure decisions over the request's Host, Origin and Sec-Fetch-Site headers.

A web page on another origin can send a "simple" cross-origin POST (no body, or a form) without any CORS
preflight, and the browser delivers it: without this guard, any page open while `make serve` runs could
reset the sandbox or rotate its keys. A DNS-rebinding page reaches 127.0.0.1 under its own name, which
shows in `Host`. curl and scripts send no `Origin` and a loopback `Host`, so they pass as before."""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from sandbox.core.loopback import is_loopback_name

CONTROL_PREFIX = "/_sandbox"
_ANY_ADDRESS = frozenset({"0.0.0.0", "::", ""})


def guards(path: str) -> bool:
    """Whether a path belongs to the control plane (its API, its spec and the web inspector)."""
    return path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/")


def split_host(value: str) -> tuple[str, str]:
    """`Example.COM:4010` -> (`example.com`, `4010`); `[::1]:4010` -> (`::1`, `4010`)."""
    value = value.strip().lower()
    if value.startswith("["):
        name, _, rest = value[1:].partition("]")
        return name, rest.removeprefix(":")
    name, _, port = value.partition(":") if value.count(":") == 1 else (value, "", "")
    return name.rstrip("."), port


def _matches(name: str, patterns: Iterable[str]) -> bool:
    for pattern in patterns:
        pattern = pattern.strip().lower().rstrip(".")
        if pattern == "*" or pattern == name:
            return True
        if pattern.startswith("*.") and name.endswith(pattern[1:]):
            return True
    return False


def host_refusal(host: str | None, configured_host: str, allowed_hosts: Iterable[str]) -> str | None:
    """Why a `Host` is refused (DNS rebinding), or None. No Host (HTTP/1.0 scripts) is not a browser."""
    if host is None:
        return None
    name, _ = split_host(host)
    if is_loopback_name(name) or _matches(name, allowed_hosts):
        return None
    if configured_host.lower() not in _ANY_ADDRESS and name == split_host(configured_host)[0]:
        return None
    return (
        f"Host {name!r} is not this sandbox's: the control plane answers loopback names and the --host or "
        "--allowed-hosts it was started with (DNS-rebinding protection)"
    )


def origin_refusal(origin: str | None, sec_fetch_site: str | None, host: str | None) -> str | None:
    """Why a browser request from another site is refused (CSRF), or None. Scripts send neither header."""
    if sec_fetch_site is not None and sec_fetch_site.strip().lower() == "cross-site":
        return "Cross-site requests to the control plane are refused (Sec-Fetch-Site: cross-site)"
    if origin is None:
        return None
    parts = urlsplit(origin.strip())
    if parts.scheme in ("http", "https") and parts.hostname:
        if is_loopback_name(parts.hostname.lower().rstrip(".")):
            return None
        if host is not None and parts.netloc.lower() == host.strip().lower():
            return None  # the sandbox's own origin (e.g. the web inspector on a --host name)
    return f"Origin {origin[:100]!r} may not use the control plane: only the sandbox's own or a loopback origin"
