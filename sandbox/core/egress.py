"""Where webhooks may go: the egress policy, checked at registration and again on the resolved address at
connect time, so a name that resolves (or re-resolves: DNS rebinding) to an internal address is refused.

Policies (`LEAD_SANDBOX_WEBHOOK_HOSTS`, `serve --webhook-hosts`):
- `loopback`: this machine only (127.0.0.0/8, ::1, `localhost` and `*.localhost`). Tests and contract runs,
  where fuzzed endpoint URLs must never cause traffic off the machine.
- `public` (default): this machine and public internet addresses; private networks (10/8, 172.16/12,
  192.168/16, 100.64/10, fc00::/7, ...) are refused.
- `any`: private networks too.
Under every policy link-local addresses (169.254/16, fe80::/10, where cloud metadata services answer), the
cloud metadata addresses and names, and unspecified/multicast/reserved addresses are refused.

`localhost` and `*.localhost` are never passed to DNS (RFC 6761: they are loopback, whatever a resolver
says), and a connection goes to the address that was checked, with the URL's name kept in `Host` and in
TLS SNI (httpcore's documented `sni_hostname` request extension)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sandbox.core.loopback import is_localhost_name

if TYPE_CHECKING:  # httpx is imported when a webhook is sent, not when the command line reads its options
    import httpx

POLICIES = ("loopback", "public", "any")
DEFAULT_POLICY = "public"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

#: metadata services outside the link-local ranges (AWS IPv6, Alibaba, Azure wireserver, Oracle)
_METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("fd00:ec2::254", "100.100.100.200", "168.63.129.16", "192.0.0.192")
)
_METADATA_NAMES = frozenset({
    "metadata", "metadata.google.internal", "metadata.goog", "metadata.azure.internal", "instance-data",
    "instance-data.ec2.internal", "metadata.tencentyun.com", "metadata.packet.net",
})
#: not "private" to the standard library, but not the public internet either (carrier-grade NAT)
_SHARED = ipaddress.ip_network("100.64.0.0/10")


class EgressRefused(ValueError):
    """A webhook URL this sandbox will not deliver to; the message says why."""


class Unresolved(OSError):
    """The URL's host name does not resolve (an attempt that failed, not a refusal)."""


def parse_policy(value: str | None) -> str:
    policy = (value or DEFAULT_POLICY).strip().lower()
    if policy not in POLICIES:
        raise ValueError(f"webhook hosts must be one of {', '.join(POLICIES)}, got {value!r}")
    return policy


def check_address(address: IPAddress, policy: str) -> None:
    """Raise EgressRefused unless `policy` lets a webhook connect to `address`."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # ::ffff:169.254.169.254 is 169.254.169.254
    if address in _METADATA_ADDRESSES or address.is_link_local:
        raise EgressRefused(f"{address} is a link-local or cloud metadata address; webhooks never go there")
    if address.is_unspecified or address.is_multicast or (address.is_reserved and not address.is_loopback):
        raise EgressRefused(f"{address} is not a unicast address a webhook can reach")
    if address.is_loopback:
        return
    if policy == "loopback":
        raise EgressRefused(f"{address} is not loopback; this sandbox delivers webhooks to loopback only")
    if policy == "public" and (address.is_private or address in _SHARED or not address.is_global):
        raise EgressRefused(
            f"{address} is a private address; set LEAD_SANDBOX_WEBHOOK_HOSTS=any to deliver to private networks"
        )


def check_url(url: str, policy: str) -> None:
    """What can be decided without DNS, at registration: scheme, host, literal addresses, metadata names.
    A host name passes here (under `loopback` too: `*.localtest.me` is loopback in public DNS); its
    addresses are checked when a delivery connects."""
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"}:
        raise EgressRefused("a webhook URL is http:// or https://")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise EgressRefused("a webhook URL needs a host")
    try:
        check_address(ipaddress.ip_address(host), policy)
        return
    except ValueError as exc:
        if isinstance(exc, EgressRefused):
            raise
    if host in _METADATA_NAMES or host.endswith(".internal"):
        raise EgressRefused(f"{host} is a cloud metadata or internal name; webhooks never go there")


async def resolve(url: httpx.URL, policy: str) -> IPAddress:
    """The address to connect to for `url`: resolved once, every answer checked against `policy`."""
    check_url(str(url), policy)
    host = url.host.rstrip(".").lower()
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if is_localhost_name(host):
        return ipaddress.ip_address("127.0.0.1")
    if policy == "loopback":  # no lookup at all: under this policy nothing may leave the machine, DNS included
        raise EgressRefused(f"{host} is not a loopback name; this sandbox delivers webhooks to loopback only")
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        # the standard resolver in a thread, as asyncio's own loop does (uvloop's resolver is its own)
        infos = await asyncio.to_thread(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise Unresolved(f"cannot resolve {host}: {exc.strerror}") from exc
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]  # IPv6 scope id off
    for address in addresses:  # one bad answer refuses the name: a resolver mixing in internal addresses
        check_address(address, policy)
    return addresses[0]


@dataclass(frozen=True)
class Pinned:
    """A request target pinned to a checked address: the URL to send to, and what keeps the name."""

    url: httpx.URL
    headers: dict[str, str]
    extensions: dict[str, str]


async def pin(url: str, policy: str) -> Pinned:
    """Resolve and check `url`'s host, then aim the request at that address, keeping Host and SNI."""
    import httpx

    target = httpx.URL(url)
    address = await resolve(target, policy)
    if target.host.strip("[]").lower() == str(address).lower():
        return Pinned(target, {}, {})
    host_header = target.netloc.decode("ascii").rpartition("@")[2]  # host[:port] as the client would send it
    extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
    return Pinned(target.copy_with(host=str(address)), {"Host": host_header}, extensions)
