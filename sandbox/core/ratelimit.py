"""Per-key rate limits on fixed one-minute windows: `limits` (in memory or on Redis), or the store."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

if TYPE_CHECKING:
    from sandbox.core.store import Store


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


class RateLimitsUnavailable(Exception):
    """The counters cannot be reached (Redis down): each API decides to fail closed or serve unmetered."""


@dataclass(slots=True)
class _Lease:
    ends: float  # when the window the hits were claimed in ends
    top: int  # the window's count in the store right after the claim
    unused: int  # hits claimed and not used yet


class _StoreWindows:
    """Fixed windows counted in the store (`rate_counters`): shared by every worker on one database
    when there is no Redis.

    A hit is one atomic upsert, a commit per request. With a budget of LEASE_FROM hits a window or more
    (load tests: `make bench` runs with `--plan '*=1000000000'`) that commit was a fifth of a GET's SQLite
    time, so for such budgets a process claims hits in blocks (a lease: one upsert) and counts them off
    locally. A block is at most MAX_LEASE hits and at most 1/SHARE of what this process last saw left of the
    budget (its view, which other workers' hits make stale). So:
    - a budget under LEASE_FROM is written hit by hit, as before: exact across workers, as a 429 test needs;
    - one process counts exactly either way: each response's count and remaining are the window's own;
    - across workers no budget ever admits more than its limit (a hit gets its number in the store before
      it is allowed), and a worker can be refused early only by hits another worker claimed and has not used
      yet: at most MAX_LEASE per worker;
    - a reset made in this process clears its leases; one made in another worker is seen here once the
      current block is used up."""

    LEASE_FROM = 10_000
    SHARE = 1_000
    MAX_LEASE = 64
    #: leases kept before those of ended windows are dropped (one per bucket with a big budget)
    KEEP = 4096

    def __init__(self, store: Store) -> None:
        self.store = store
        self._leases: dict[str, _Lease] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, window: int, wall_now: float, limit: int) -> tuple[int, float]:
        """(this hit's count in its window, when the window ends)."""
        if limit < self.LEASE_FROM:
            return self.store.hit_window(key, wall_now, window)
        with self._lock:
            lease = self._leases.get(key)
            if lease is not None and wall_now >= lease.ends:
                lease = None  # the window it was claimed in has ended
            if lease is not None and lease.unused > 0:
                lease.unused -= 1
                return lease.top - lease.unused, lease.ends
            known = lease.top if lease is not None else 0
            block = max(1, min(self.MAX_LEASE, (limit - known) // self.SHARE))
            top, ends = self.store.hit_window(key, wall_now, window, block)
            if key not in self._leases and len(self._leases) >= self.KEEP:
                self._leases = {k: v for k, v in self._leases.items() if v.ends > wall_now}
            # A window that ended between two claims started again at this claim: the block is all of it.
            self._leases[key] = _Lease(ends, top, block - 1)
            return top - (block - 1), ends

    def reset(self) -> None:
        with self._lock:
            self._leases.clear()
            self.store.clear_windows()


class RateLimiter:
    """`hit` counts one request against `bucket` at `per_minute` and reports the window.

    The window is one minute, as every vendor documents; `window_seconds` shortens it so client
    back-off can be tested in seconds. Windows follow wall time, not the sandbox test clock: clients see
    real `Retry-After` seconds. Where the counters live decides what shares them:
    - `redis://…` (`serve --redis`): `limits`' Redis storage; every worker and machine shares budgets.
    - no Redis, a database file or PostgreSQL: a row per key in the store; the workers on it share budgets.
    - `memory` database: `limits`' in-process storage (one process is all there is).
    """

    #: After a failed Redis call, calls fail at once for this long instead of each waiting on a timeout.
    DOWN_SECONDS = 1.0

    def __init__(
        self, storage_uri: str | None = None, window_seconds: int = 60, *, store: Store | None = None,
        key_prefix: str = "lead-sandbox", wall: Callable[[], float] = time.time,
    ) -> None:
        self._window = window_seconds
        self._items: dict[int, RateLimitItemPerSecond] = {}
        self._wall = wall
        self._windows: _StoreWindows | None = None
        self.redis = bool(storage_uri and storage_uri.startswith(("redis://", "rediss://", "redis+unix://")))
        self._down_until = 0.0
        self._failures: tuple[type[BaseException], ...] = ()
        if self.redis:
            assert storage_uri is not None
            # Imported here: the redis client is not worth its import time on a laptop without Redis.
            from limits.errors import StorageError
            from limits.storage import RedisStorage
            from redis.exceptions import RedisError

            self._failures = (StorageError, RedisError, OSError)
            # wrap_exceptions: every Redis failure arrives as limits' StorageError. Short timeouts: an
            # unreachable Redis must turn into a quick 503, not a hung request.
            self._storage: Storage | None = RedisStorage(
                storage_uri, key_prefix=key_prefix, wrap_exceptions=True,
                socket_connect_timeout=0.5, socket_timeout=0.5,
            )
        elif storage_uri:
            self._storage = cast(Storage, storage_from_string(storage_uri))
        elif store is not None and not store.in_memory:
            self._storage = None
            self._windows = _StoreWindows(store)
        else:
            self._storage = MemoryStorage()
        self._limiter = FixedWindowRateLimiter(self._storage) if self._storage is not None else None

    @property
    def backend(self) -> str:
        return "redis" if self.redis else "store" if self._windows is not None else "memory"

    def _item(self, per_minute: int) -> RateLimitItemPerSecond:
        # A budget per window; the window is a minute unless shortened (`serve --rate-window`).
        item = self._items.get(per_minute)
        if item is None:
            item = self._items[per_minute] = RateLimitItemPerSecond(per_minute, self._window)
        return item

    def hit(self, bucket: str, per_minute: int) -> RateState:
        if self._windows is not None:
            hits, ends = self._windows.hit(f"{bucket}/{per_minute}/{self._window}", self._window, self._wall(), per_minute)
            return RateState(per_minute, max(0, per_minute - hits), math.ceil(ends), hits <= per_minute)
        assert self._limiter is not None
        if self.redis and time.monotonic() < self._down_until:
            raise RateLimitsUnavailable("Redis was unreachable a moment ago")
        item = self._item(per_minute)
        try:
            allowed = self._limiter.hit(item, bucket)
            stats = self._limiter.get_window_stats(item, bucket)
        except self._failures as exc:
            self._down_until = time.monotonic() + self.DOWN_SECONDS
            raise RateLimitsUnavailable(str(exc)) from exc
        return RateState(
            limit=per_minute,
            remaining=max(0, stats.remaining),
            reset=math.ceil(stats.reset_time),
            allowed=allowed,
        )

    def check(self) -> str:
        """Health: "ok", or why the counters cannot be reached."""
        if not self.redis:
            return "ok"
        assert self._storage is not None
        try:
            return "ok" if self._storage.check() else "unreachable"
        except Exception as exc:  # noqa: BLE001 - any failure is the answer
            return f"unreachable ({type(exc).__name__})"

    def reset(self) -> None:
        if self._windows is not None:
            self._windows.reset()
        elif self._storage is not None:
            self._storage.reset()
