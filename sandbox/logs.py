"""`lead-sandbox logs [--follow]`: the request journal of a running sandbox, one line per request
(like `stripe logs tail`). Reads `GET /_sandbox/requests` over HTTP, so it works against any sandbox,
local or shared."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import IO, Any

import httpx

from sandbox.console import ConsoleLog

POLL_SECONDS = 1.0
#: entries read per poll when following: more new requests than this between two polls are not all shown
FOLLOW_WINDOW = 500


class LogsError(Exception):
    """Why the journal could not be read, in one line."""


def fetch(
    http: httpx.Client, *, api: str | None, tenant: str | None, status: str | None, limit: int
) -> list[dict[str, Any]]:
    params = {name: value for name, value in (("api", api), ("tenant", tenant), ("status", status)) if value}
    try:
        response = http.get("/_sandbox/requests", params={**params, "limit": limit})
    except httpx.HTTPError as exc:
        raise LogsError(f"cannot reach the sandbox at {http.base_url}: {exc}") from None
    if response.status_code != 200:
        try:
            message = response.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = response.text[:200]
        raise LogsError(f"{response.status_code} from {response.request.url}: {message}")
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def tail(
    base_url: str,
    *,
    api: str | None = None,
    tenant: str | None = None,
    status: str | None = None,
    follow: bool = False,
    limit: int = 20,
    admin_token: str | None = None,
    stream: IO[str] | None = None,
    log_format: str = "text",
    poll_seconds: float = POLL_SECONDS,
    keep_going: Callable[[], bool] = lambda: True,
) -> int:
    """Print the newest `limit` entries (oldest first), then with `follow` every new one until stopped."""
    console = ConsoleLog(log_format, stream)
    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    seen: deque[str] = deque(maxlen=5000)
    seen_set: set[str] = set()
    first = True
    with httpx.Client(base_url=base_url.rstrip("/"), headers=headers, timeout=10, trust_env=False) as http:
        while True:
            # Following, every poll reads the newest FOLLOW_WINDOW and prints what was not seen. The first
            # poll reads that window too and prints only the newest `limit`: the rest counts as seen, so the
            # second poll does not print the older history the user did not ask for.
            batch = fetch(http, api=api, tenant=tenant, status=status, limit=FOLLOW_WINDOW if follow else limit)
            unseen = [entry for entry in reversed(batch) if entry["id"] not in seen_set]  # oldest first
            console(unseen[-limit:] if first else unseen)
            for entry in unseen:
                if len(seen) == seen.maxlen:
                    seen_set.discard(seen[0])
                seen.append(entry["id"])
                seen_set.add(entry["id"])
            first = False
            if not follow or not keep_going():
                return 0
            time.sleep(poll_seconds)
