"""Who holds a cross-process claim, and whether that process still lives.

A claim row (seeding markers, and any other "I am doing this" row several processes may race for)
names its owner: host, pid and the process's start time (pids are reused; a start time is not). On the
owner's host a dead owner is seen at once. A claim from another host (a database shared over the
network) cannot be probed, so it also carries a lease: past it, the claim is treated as abandoned."""

from __future__ import annotations

import os
import socket
import time
from typing import Any

#: how long a claim from another host is trusted without being renewed
LEASE_SECONDS = 60.0


def _start_ticks(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux /proc), or None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode(errors="replace")
    except OSError:
        return None
    # the command name (2nd field) may hold spaces and parentheses: fields after the last ')' are fixed
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields and fields[0] in {"Z", "X"}:  # a zombie has exited; only its parent has not reaped it yet
        return "exited"
    return fields[19] if len(fields) > 19 else None


def me(lease_seconds: float = LEASE_SECONDS) -> dict[str, Any]:
    """This process as a claim's owner."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "started": _start_ticks(pid),
            "lease_until": time.time() + lease_seconds}


def is_alive(owner: dict[str, Any] | None) -> bool:
    """False when the owner is known to be gone: dead or reused pid on this host, or an expired lease."""
    if not owner or "pid" not in owner:
        return False  # a claim that names no owner (older sandboxes) cannot be waited on safely
    if owner.get("host") != socket.gethostname():
        return time.time() < float(owner.get("lease_until", 0))
    pid = int(owner["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, owned by another user
    started = _start_ticks(pid)
    if started == "exited":
        return False
    return owner.get("started") is None or started is None or started == owner["started"]
