"""Per-key rate limits on fixed one-minute windows, counted by the `limits` library."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import cast

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter


@dataclass(frozen=True, slots=True)
class RateState:
    limit: int
    remaining: int
    reset: int  # epoch seconds at which the window restarts
    allowed: bool

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }

    def raw_headers(self) -> list[tuple[bytes, bytes]]:
        return [
            (b"x-ratelimit-limit", str(self.limit).encode()),
            (b"x-ratelimit-remaining", str(self.remaining).encode()),
            (b"x-ratelimit-reset", str(self.reset).encode()),
        ]

    def retry_after(self, now: float | None = None) -> int:
        return max(1, math.ceil(self.reset - (time.time() if now is None else now)))


class RateLimiter:
    """`hit` counts one request against `bucket` at `per_minute` and reports the window.

    The window is one minute, as every vendor documents; `window_seconds` shortens it so client
    back-off can be tested in seconds. Storage is in memory by default; any `limits` storage URI (e.g. `redis://…`) shares budgets
    between several sandbox processes. Windows follow wall time, not the sandbox test clock:
    clients see real `Retry-After` seconds.
    """

    def __init__(self, storage_uri: str | None = None, window_seconds: int = 60) -> None:
        # Only synchronous storages make sense here (the limiter is called from sync code).
        self._storage = cast(Storage, storage_from_string(storage_uri)) if storage_uri else MemoryStorage()
        self._limiter = FixedWindowRateLimiter(self._storage)
        self._window = window_seconds
        self._items: dict[int, RateLimitItemPerSecond] = {}

    def _item(self, per_minute: int) -> RateLimitItemPerSecond:
        # A budget per window; the window is a minute unless shortened (`serve --rate-window`).
        item = self._items.get(per_minute)
        if item is None:
            item = self._items[per_minute] = RateLimitItemPerSecond(per_minute, self._window)
        return item

    def hit(self, bucket: str, per_minute: int) -> RateState:
        item = self._item(per_minute)
        allowed = self._limiter.hit(item, bucket)
        stats = self._limiter.get_window_stats(item, bucket)
        return RateState(
            limit=per_minute,
            remaining=max(0, stats.remaining),
            reset=math.ceil(stats.reset_time),
            allowed=allowed,
        )

    def reset(self) -> None:
        self._storage.reset()
