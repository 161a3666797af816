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
