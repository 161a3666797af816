"""The store's schema, as ordered migrations the sandbox applies itself at start-up.

`schema_version` holds the highest migration applied. Each migration runs in one transaction under a
lock every process takes (SQLite's write lock, a PostgreSQL advisory lock), so N workers starting at once
on a new database create it once. Append new migrations at the end; never edit one that has shipped.
Column types `{seq}`, `{json}` and `{blob}` are filled in by the dialect.
"""

from __future__ import annotations

from sandbox.core.dialects import Connection, Dialect

# Version 1 is the schema from before migrations existed: `IF NOT EXISTS` adopts those databases as they are.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE IF NOT EXISTS tenants (
            api VARCHAR(32) NOT NULL,
            slug VARCHAR(64) NOT NULL,
            name VARCHAR(200) NOT NULL,
            plan VARCHAR(32) NOT NULL,
            data {json} NOT NULL,
            created_at VARCHAR(32) NOT NULL,
            PRIMARY KEY (api, slug)
        )""",
        """CREATE TABLE IF NOT EXISTS api_keys (
            key_hash VARCHAR(64) NOT NULL PRIMARY KEY,  -- SHA-256 hex; the key itself is never stored
            api VARCHAR(32) NOT NULL,
            tenant VARCHAR(64) NOT NULL,
            role VARCHAR(32) NOT NULL,
            plan VARCHAR(32) NOT NULL,
            last4 VARCHAR(4) NOT NULL,
            label VARCHAR(200) NOT NULL DEFAULT '',
            created_at VARCHAR(32) NOT NULL,
            revoked_at VARCHAR(32)
        )""",
        "CREATE INDEX IF NOT EXISTS ix_api_keys_tenant ON api_keys (api, tenant)",
        """CREATE TABLE IF NOT EXISTS records (
            -- seq orders every list (newest first) and is what cursors point at: inserts never move it.
            seq {seq},
            api VARCHAR(32) NOT NULL,
            tenant VARCHAR(64) NOT NULL,
            kind VARCHAR(32) NOT NULL,
            id VARCHAR(64) NOT NULL,
            created_at VARCHAR(32) NOT NULL,
            data {json} NOT NULL,
            CONSTRAINT uq_records_id UNIQUE (api, tenant, kind, id)
        )""",
        "CREATE INDEX IF NOT EXISTS ix_records_scan ON records (api, tenant, kind, seq)",
        """CREATE TABLE IF NOT EXISTS idempotency_keys (
            api VARCHAR(32) NOT NULL,
            tenant VARCHAR(64) NOT NULL,
            "key" VARCHAR(255) NOT NULL,
            fingerprint VARCHAR(64) NOT NULL,
            state VARCHAR(16) NOT NULL,  -- pending | done
            status INTEGER,
            headers {json},
            body {blob},
            created_at VARCHAR(32) NOT NULL,
            expires_at VARCHAR(32) NOT NULL,
            PRIMARY KEY (api, tenant, "key")
        )""",
        """CREATE TABLE IF NOT EXISTS jobs (
            -- Timed work that must survive a restart: webhook attempts, message status changes.
            id VARCHAR(64) NOT NULL PRIMARY KEY,
            api VARCHAR(32) NOT NULL,
            tenant VARCHAR(64) NOT NULL,
            kind VARCHAR(64) NOT NULL,
            due_at VARCHAR(32) NOT NULL,
            payload {json} NOT NULL,
            state VARCHAR(16) NOT NULL  -- pending | running
        )""",
        "CREATE INDEX IF NOT EXISTS ix_jobs_due ON jobs (state, due_at)",
        """CREATE TABLE IF NOT EXISTS sandbox_meta (
            "key" VARCHAR(128) NOT NULL PRIMARY KEY,
            value {json} NOT NULL
        )""",
    ),
    (
        # Job claims are leases (wall-clock epoch seconds): a worker killed mid-job leaves a lease that
        # runs out, and any worker then runs the job again; a live worker's claims are never taken.
        "ALTER TABLE jobs ADD COLUMN lease_until DOUBLE PRECISION",
        # Test clocks, per tenant; api = tenant = '' is the clock of every tenant without a row of its own.
        """CREATE TABLE IF NOT EXISTS clocks (
            api VARCHAR(32) NOT NULL,
            tenant VARCHAR(64) NOT NULL,
            offset_ms BIGINT NOT NULL,
            frozen_at VARCHAR(32),
            PRIMARY KEY (api, tenant)
        )""",
        # Injected faults, counted down by whichever worker serves the call.
        """CREATE TABLE IF NOT EXISTS faults (
            seq {seq},
            api VARCHAR(32) NOT NULL,
            operation_id VARCHAR(128) NOT NULL,
            status INTEGER,
            remaining INTEGER NOT NULL,
            latency_ms INTEGER NOT NULL
        )""",
        # Rate-limit windows when no Redis is configured: one row per key, shared by every worker.
        """CREATE TABLE IF NOT EXISTS rate_counters (
            bucket VARCHAR(255) NOT NULL PRIMARY KEY,
            hits INTEGER NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL
        )""",
        # Ephemeral tenants: deleted with their data once the wall clock passes expires_at.
        """CREATE TABLE IF NOT EXISTS tenant_ttls (
            api VARCHAR(32) NOT NULL,
            slug VARCHAR(64) NOT NULL,
            expires_at DOUBLE PRECISION NOT NULL,
            PRIMARY KEY (api, slug)
        )""",
    ),
    (
        """CREATE TABLE IF NOT EXISTS request_journal (
            -- What every request asked and got (GET /_sandbox/requests, the inspector, `lead-sandbox logs`).
            -- seq orders it (newest first); tenant is '' for requests without one (control plane, unknown paths).
            seq {seq},
            id VARCHAR(40) NOT NULL,
            api VARCHAR(32) NOT NULL,
            tenant VARCHAR(64) NOT NULL,
            status INTEGER NOT NULL,
            trace_id VARCHAR(64) NOT NULL,
            data {json} NOT NULL
        )""",
        "CREATE INDEX IF NOT EXISTS ix_request_journal_tenant ON request_journal (api, tenant, seq)",
        "CREATE INDEX IF NOT EXISTS ix_request_journal_trace ON request_journal (trace_id)",
    ),
    (
        # How many records of a kind a tenant has, kept in the transaction that inserts or deletes them:
        # a page's `total` is one row read, not a count over the tenant's records.
        """CREATE TABLE IF NOT EXISTS record_counts (
            api VARCHAR(32) NOT NULL,
            tenant VARCHAR(64) NOT NULL,
            kind VARCHAR(32) NOT NULL,
            n BIGINT NOT NULL,
            PRIMARY KEY (api, tenant, kind)
        )""",
        "INSERT INTO record_counts (api, tenant, kind, n) SELECT api, tenant, kind, count(*) FROM records "
        "GROUP BY api, tenant, kind",
        # retention (sandbox/core/retention.py): expired idempotency entries, deliveries by age
        "CREATE INDEX IF NOT EXISTS ix_idempotency_expiry ON idempotency_keys (expires_at)",
        "CREATE INDEX IF NOT EXISTS ix_records_deliveries_age ON records (created_at) WHERE kind = 'webhook_deliveries'",
    ),
)

LATEST = len(MIGRATIONS)


def migrate(conn: Connection, dialect: Dialect) -> int:
    """Apply what is missing; returns the schema version now in place."""
    dialect.lock_migrations(conn)
    ok = False
    try:
        conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = conn.execute("SELECT max(version) FROM schema_version").fetchone()
        current = int(row[0]) if row and row[0] is not None else 0
        for version in range(current + 1, LATEST + 1):
            for statement in MIGRATIONS[version - 1]:
                conn.execute(dialect.ddl(statement))
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
        ok = True
        return max(current, LATEST)
    finally:
        dialect.unlock_migrations(conn, ok)
