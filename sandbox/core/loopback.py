"""What counts as this machine, in one place: the control plane's Host and Origin guard, webhook egress and
the contract runner's live-key guard all ask here."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

#: `localtest.me` and its subdomains resolve to 127.0.0.1 in public DNS (how HREF's Host tenants work locally)
_LOCALTEST = "localtest.me"


def is_localhost_name(name: str) -> bool:
    """`localhost` and `*.localhost`: loopback by RFC 6761 whatever a resolver says, so never looked up."""
    return name == "localhost" or name.endswith(".localhost")


def is_loopback_name(name: str) -> bool:
    """127.0.0.0/8, ::1, `localhost`, `*.localhost` (RFC 6761) and `*.localtest.me` (public DNS -> 127.0.0.1).
    `name` is a lower-case host name or address without port or brackets."""
    if is_localhost_name(name) or name == _LOCALTEST or name.endswith("." + _LOCALTEST):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """Whether a URL's host is a loopback name or address (`is_loopback_name`)."""
    return is_loopback_name((urlsplit(url).hostname or "").rstrip("."))
