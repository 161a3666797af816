from __future__ import annotations

import time

from sandbox.core.ratelimit import RateLimiter, RateState


def test_budget_of_three_counts_down_then_refuses():
    limiter = RateLimiter()
    states = [limiter.hit("key:a", 3) for _ in range(4)]
    assert [s.remaining for s in states[:3]] == [2, 1, 0]
    assert all(s.allowed for s in states[:3])
    assert states[3].allowed is False
    assert states[3].remaining == 0
    assert states[3].limit == 3


def test_buckets_are_independent():
    limiter = RateLimiter()
    for _ in range(3):
        limiter.hit("key:a", 3)
    assert limiter.hit("key:a", 3).allowed is False
    assert limiter.hit("key:b", 3).allowed is True


def test_reset_clears_counters():
    limiter = RateLimiter()
    for _ in range(4):
        limiter.hit("key:a", 3)
    limiter.reset()
    assert limiter.hit("key:a", 3).allowed is True


def test_headers_and_retry_after():
    state = RateState(limit=300, remaining=12, reset=1_800_000_060, allowed=True)
    assert state.headers() == {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "12",
        "X-RateLimit-Reset": "1800000060",
    }
    assert state.retry_after(now=1_800_000_000) == 60
    assert state.retry_after(now=1_800_000_100) == 1  # never below one second


def test_reset_is_within_the_next_minute():
    state = RateLimiter().hit("key:a", 5)
    now = time.time()
    assert now - 1 <= state.reset <= now + 61


# -- counters in the store (no Redis): budgets of LEASE_FROM or more claimed in blocks ------------------
import random  # noqa: E402

import pytest  # noqa: E402

from sandbox.core.ratelimit import _StoreWindows  # noqa: E402
from sandbox.core.store import Store  # noqa: E402

BIG = 100_000  # a load-test budget: counted in blocks


@pytest.fixture
def db(tmp_path):
    return str(tmp_path / "rates.db")


def _counter_writes(store: Store, run) -> int:
    writes: list[str] = []
    store._conn.set_trace_callback(lambda sql: writes.append(sql) if "rate_counters" in sql else None)
    try:
        run()
    finally:
        store._conn.set_trace_callback(None)
    return len(writes)


def test_a_big_budget_is_counted_exactly_in_one_process_with_a_write_per_block(db):
    store = Store(db)
    limiter = RateLimiter(store=store)
    states: list[RateState] = []
    writes = _counter_writes(store, lambda: states.extend(limiter.hit("key:a", BIG) for _ in range(300)))
    assert [s.remaining for s in states] == list(range(BIG - 1, BIG - 301, -1))
    assert all(s.allowed for s in states)
    assert writes == -(-300 // _StoreWindows.MAX_LEASE), writes  # 300 before: one per hit
    store.close()


def test_a_small_budget_is_still_written_on_every_hit(db):
    store = Store(db)
    limiter = RateLimiter(store=store)
    states: list[RateState] = []
    writes = _counter_writes(store, lambda: states.extend(limiter.hit("key:a", 200) for _ in range(203)))
    assert [s.remaining for s in states[:200]] == list(range(199, -1, -1))
    assert all(s.allowed for s in states[:200]) and not any(s.allowed for s in states[200:])
    assert writes == 203
    store.close()


def test_workers_on_one_file_never_admit_more_than_a_big_budget(db):
    """Two processes' limiters (two connections to one file), hits interleaved at random until both refuse:
    exactly the budget is admitted, and a refusal before the end is bounded by the other worker's block."""
    budget = _StoreWindows.LEASE_FROM + 500
    stores = [Store(db), Store(db)]
    limiters = [RateLimiter(store=s) for s in stores]
    rng = random.Random(7)
    admitted = refused_early = 0
    for _ in range(budget + 600):
        state = rng.choice(limiters).hit("key:shared", budget)
        if state.allowed:
            admitted += 1
        elif admitted < budget - _StoreWindows.MAX_LEASE:
            refused_early += 1
    assert admitted == budget
    assert refused_early == 0
    for s in stores:
        s.close()


def test_alternating_workers_get_exactly_sixty_of_a_sixty_budget(db):
    stores = [Store(db), Store(db)]
    limiters = [RateLimiter(store=s) for s in stores]
    states = [limiters[i % 2].hit("key:starter", 60) for i in range(62)]
    assert [s.allowed for s in states] == [True] * 60 + [False, False]
    for s in stores:
        s.close()


def test_a_new_window_starts_from_zero_and_a_reset_forgets_claimed_hits(db):
    now = [1_800_000_000.0]
    store = Store(db)
    limiter = RateLimiter(store=store, window_seconds=10, wall=lambda: now[0])
    assert [limiter.hit("key:a", BIG).remaining for _ in range(3)] == [BIG - 1, BIG - 2, BIG - 3]
    now[0] += 10  # the window ended: the block claimed in it is gone with it
    assert limiter.hit("key:a", BIG).remaining == BIG - 1
    limiter.reset()
    assert limiter.hit("key:a", BIG).remaining == BIG - 1
    store.close()
