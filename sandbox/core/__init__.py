"""Plumbing with no web framework imports: store, clock, ids, pagination, idempotency, rate limits."""
