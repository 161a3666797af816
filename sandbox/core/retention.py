"""How long the sandbox keeps what only it needs: expired idempotency entries and old webhook deliveries
(their attempts are part of the delivery) are deleted on a schedule, so a long-running sandbox's database
stays bounded by what its tenants hold, not by how long it has run.

Windows, on the sandbox clock (advancing the clock ages them too):
- idempotency entries: deleted once expired (24 h after the request; a replay needs a live entry);
- webhook deliveries and their attempts: 30 days after the event (Stripe keeps events 30 days;
  every vendor's retries stop long before: Hadar's after 24 h).
Records the APIs show as tenant data (leads, messages, the outbox) are never purged."""

from __future__ import annotations

from datetime import datetime, timedelta

from sandbox.core.clock import utc_iso
from sandbox.core.store import Store

DELIVERIES_KEPT = timedelta(days=30)
#: wall seconds between two purges of a running sandbox (the job worker runs them)
EVERY_SECONDS = 60.0
#: rows deleted per statement: a purge never holds the write lock for long
BATCH = 2000


def purge(store: Store, now: datetime) -> dict[str, int]:
    """Delete what is past its window at `now`; returns how many rows went, per kind."""
    return {
        "idempotency_keys": store.purge_idempotency(utc_iso(now), BATCH),
        "webhook_deliveries": store.purge_records("webhook_deliveries", utc_iso(now - DELIVERIES_KEPT), BATCH),
    }
