"""The one store: tenants, keys, records, idempotency entries, jobs, clocks, faults and rate-limit windows,
every read and write keyed by (api, tenant). Everything workers must agree on lives here, so N worker
processes over one database behave as one sandbox.

Two engines behind this one class (`sandbox.core.dialects`): SQLite by default (a file; `memory` for
tests) and PostgreSQL for a team deployment (`postgresql://…`). Each method is written once, in SQL both
engines run, with bound parameters. The standard library's `sqlite3` rather than an ORM: SQLAlchemy Core
did this job until the benchmark profile showed its engine, pool and result layers costing 100-250
microseconds per query against 6-80 for the query itself (`make bench`, README "Performance").
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from sandbox.core import jsonio
from sandbox.core.dialects import (
    MEMORY_URLS,
    Connection,
    Dialect,
    check_url,
    dialect_for,
    is_postgres,
    sqlite_path,
)
from sandbox.core.migrations import migrate

__all__ = ["MEMORY_URLS", "Collection", "Condition", "Job", "Store", "check_url", "is_postgres", "sqlite_path"]


@dataclass(frozen=True, slots=True)
class KeyRecord:
    key_hash: str
    api: str
    tenant: str
    role: str
    plan: str
    last4: str
    label: str
    created_at: str
    revoked_at: str | None = None


@dataclass(frozen=True, slots=True)
class TenantRecord:
    api: str
    slug: str
    name: str
    plan: str
    data: dict[str, Any]
    created_at: str


@dataclass(frozen=True, slots=True)
class Condition:
    """One filter of a list: `field op value`. `created_at` is a column; anything else a JSON field."""

    field: str
    op: Literal["eq", "ne", "gte", "lte", "gt", "lt", "in", "icontains"]
    value: Any


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Any]  # dicts, or orjson.Fragment with raw=True
    #: seq of the last item when more items follow, else None
    next_seq: int | None


@dataclass(frozen=True, slots=True)
class Job:
    id: str
    api: str
    tenant: str
    kind: str
    due_at: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class IdempotencyEntry:
    fingerprint: str
    state: str
    status: int | None
    headers: dict[str, str] | None
    body: bytes | None
    expires_at: str


def _dump(value: Any) -> str:
    return jsonio.dumps_document(value)


def _load(text: str | bytes | None) -> Any:
    return None if text is None else jsonio.loads_document(text)


_KEY_COLUMNS = "key_hash, api, tenant, role, plan, last4, label, created_at, revoked_at"
_TENANT_COLUMNS = "api, slug, name, plan, data, created_at"


@dataclass(frozen=True, slots=True)
class ClockState:
    """A test clock as stored: an offset from wall time in milliseconds, or frozen at an instant."""

    offset_ms: int = 0
    frozen_at: str | None = None


@dataclass(frozen=True, slots=True)
class FaultRecord:
    seq: int
    api: str
    operation_id: str
    status: int | None
    remaining: int
    latency_ms: int


#: the clock row of every tenant that has none of its own
ALL_TENANTS = ("", "")


class Store:
    """Tenant-keyed persistence. Every method takes `api` and `tenant` first (LocalStack-style)."""

    def __init__(self, url: str = "memory") -> None:
        self.url = url
        self.dialect: Dialect = dialect_for(url)
        self._conn: Connection = self.dialect.connect(url)
        self.in_memory = not is_postgres(url) and sqlite_path(url) == ":memory:"
        self.backend = self.dialect.name
        # One connection per store, shared by the event loop and the threads of in-process servers.
        self._lock = threading.RLock()
        self._depth = 0  # nesting of transaction(), under _lock
        with self._lock:
            self.schema_version = migrate(self._conn, self.dialect)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """A write transaction, holding SQLite's write lock from the start (PostgreSQL: row locks).
        Nested use joins the transaction already open (a request's write unit around a model that writes
        in several statements): everything commits or rolls back as one."""
        with self._lock:
            conn = self._conn
            if self._depth:
                self._depth += 1
                try:
                    yield conn
                finally:
                    self._depth -= 1
                return
            conn.execute(self.dialect.begin_write)
            self._depth = 1
            try:
                yield conn
            except BaseException:
                self._depth = 0
                conn.execute("ROLLBACK")
                raise
            self._depth = 0
            conn.execute("COMMIT")

    @property
    def in_transaction(self) -> bool:
        """Whether this thread's caller is inside `transaction()` (reads join it instead of opening one)."""
        return self._depth > 0

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()  # type: ignore[no-any-return]

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def _returning(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row of a write's RETURNING; every row is fetched, so SQLite finishes (commits) the
        statement now rather than when the cursor is collected."""
        with self._lock:
            rows = self._conn.execute(sql, params).fetchall()
        return rows[0] if rows else None

    def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement (atomic on its own); the number of rows it changed."""
        with self._lock:
            return int(self._conn.execute(sql, params).rowcount)

    def ping(self) -> None:
        """Raises when the database cannot answer (health checks)."""
        self._one("SELECT 1")

    # -- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str) -> Any:
        row = self._one('SELECT value FROM sandbox_meta WHERE "key" = ?', (key,))
        return _load(row[0]) if row else None

    def set_meta(self, key: str, value: Any) -> None:
        self._run(
            'INSERT INTO sandbox_meta ("key", value) VALUES (?, ?) ON CONFLICT ("key") DO UPDATE SET value = excluded.value',
            (key, _dump(value)),
        )

    def meta_keys(self, prefix: str) -> list[str]:
        rows = self._rows('SELECT "key" FROM sandbox_meta WHERE substr("key", 1, ?) = ? ORDER BY "key"', (len(prefix), prefix))
        return [row[0] for row in rows]

    def next_count(self, key: str) -> int:
        """0, 1, 2… on successive calls, across processes and restarts (one write transaction)."""
        with self.transaction() as conn:
            # an object, not a bare number: SQLite's JSON column has numeric affinity and would store 1 as 1
            conn.execute('INSERT INTO sandbox_meta ("key", value) VALUES (?, ?) ON CONFLICT ("key") DO NOTHING',
                         (key, _dump({"count": -1})))
            row = conn.execute(f'SELECT value FROM sandbox_meta WHERE "key" = ?{self.dialect.for_update}', (key,)).fetchone()
            count = int(_load(row[0])["count"]) + 1
            conn.execute('UPDATE sandbox_meta SET value = ? WHERE "key" = ?', (_dump({"count": count}), key))
        return count

    def swap_meta(self, key: str, expected: Any, value: Any) -> bool:
        """Replace `key`'s value (None deletes it) only if it still equals `expected`; True when swapped.
        Several processes may race to take over one claim: exactly one wins."""
        with self.transaction() as conn:
            row = conn.execute('SELECT value FROM sandbox_meta WHERE "key" = ?', (key,)).fetchone()
            if row is None or _load(row[0]) != expected:
                return False
            if value is None:
                conn.execute('DELETE FROM sandbox_meta WHERE "key" = ?', (key,))
            else:
                conn.execute('UPDATE sandbox_meta SET value = ? WHERE "key" = ?', (_dump(value), key))
        return True

    def claim_meta(self, key: str, value: Any) -> bool:
        """Insert `key` unless it exists; True when this call inserted it (a cross-process claim)."""
        return self._run(
            'INSERT INTO sandbox_meta ("key", value) VALUES (?, ?) ON CONFLICT ("key") DO NOTHING', (key, _dump(value))
        ) > 0

    # -- tenants ------------------------------------------------------------------------------
    def put_tenant(self, tenant: TenantRecord) -> None:
        self._run(
            f"INSERT INTO tenants ({_TENANT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (api, slug) DO UPDATE SET "
            "name = excluded.name, plan = excluded.plan, data = excluded.data, created_at = excluded.created_at",
            (tenant.api, tenant.slug, tenant.name, tenant.plan, _dump(tenant.data), tenant.created_at),
        )

    def get_tenant(self, api: str, slug: str) -> TenantRecord | None:
        row = self._one(f"SELECT {_TENANT_COLUMNS} FROM tenants WHERE api = ? AND slug = ?", (api, slug))
        return _tenant(row) if row else None

    def list_tenants(self, api: str | None = None) -> list[TenantRecord]:
        where, params = ("WHERE api = ?", (api,)) if api is not None else ("", ())
        rows = self._rows(f"SELECT {_TENANT_COLUMNS} FROM tenants {where} ORDER BY api, created_at", params)
        return [_tenant(row) for row in rows]

    def set_tenant_ttl(self, api: str, slug: str, expires_at: float) -> None:
        self._run(
            "INSERT INTO tenant_ttls (api, slug, expires_at) VALUES (?, ?, ?) ON CONFLICT (api, slug) "
            "DO UPDATE SET expires_at = excluded.expires_at",
            (api, slug, expires_at),
        )

    def expired_tenants(self, wall_now: float) -> list[tuple[str, str]]:
        rows = self._rows("SELECT api, slug FROM tenant_ttls WHERE expires_at <= ? ORDER BY expires_at", (wall_now,))
        return [(row[0], row[1]) for row in rows]

    # -- keys ---------------------------------------------------------------------------------
    def add_key(self, key: KeyRecord) -> None:
        self._run(
            f"INSERT INTO api_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key.key_hash, key.api, key.tenant, key.role, key.plan, key.last4, key.label, key.created_at,
             key.revoked_at),
        )

    def find_key(self, key_hash: str) -> KeyRecord | None:
        row = self._one(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?", (key_hash,))
        return KeyRecord(*row) if row else None

    def list_keys(self, api: str | None = None, tenant: str | None = None) -> list[KeyRecord]:
        clauses, params = [], []
        if api is not None:
            clauses.append("api = ?")
            params.append(api)
        if tenant is not None:
            clauses.append("tenant = ?")
            params.append(tenant)
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._rows(f"SELECT {_KEY_COLUMNS} FROM api_keys {where} ORDER BY api, tenant, created_at", params)
        return [KeyRecord(*row) for row in rows]

    def revoke_key(self, key_hash: str, at: str) -> bool:
        return self._run(
            "UPDATE api_keys SET revoked_at = ? WHERE key_hash = ? AND revoked_at IS NULL", (at, key_hash)
        ) > 0

    # -- records ------------------------------------------------------------------------------
    def collection(self, api: str, tenant: str, kind: str) -> Collection:
        return Collection(self, api, tenant, kind)

    def insert_records(
        self, api: str, tenant: str, kind: str, rows: Iterable[tuple[str, str, dict[str, Any]]]
    ) -> None:
        """Bulk insert of (id, created_at, data), in the order given (seeding)."""
        values = [(api, tenant, kind, rid, created, _dump(data)) for rid, created, data in rows]
        if values:
            with self.transaction() as conn:
                conn.executemany(_INSERT, values)
                conn.execute(_COUNT_ADD, (api, tenant, kind, len(values)))

    def ensure_index(self, kind: str, field: str) -> None:
        """Make lookups of `kind` records by the JSON `field` (filters on it, and the total of such a page)
        an index search instead of a scan of the tenant's records. A partial index per (kind, field), kept
        by the database itself: queries stay right without it, only slower."""
        if not (_KIND.fullmatch(kind) and _FIELD.fullmatch(field)):
            raise ValueError(f"not an indexable kind/field: {kind!r}/{field!r}")
        column = _column(field, self.dialect)
        with self._lock:
            self._conn.execute(  # records without the field are left out: comparing the field implies NOT NULL
                f"CREATE INDEX IF NOT EXISTS ix_records__{kind}__{field} ON records (api, tenant, {column}, seq) "
                f"WHERE kind = '{kind}' AND {column} IS NOT NULL"
            )

    def purge_records(self, kind: str, before: str, batch: int) -> int:
        """Delete records of `kind` (every tenant) created before `before`, `batch` rows per transaction."""
        if not _KIND.fullmatch(kind):
            raise ValueError(f"not a kind: {kind!r}")
        removed = 0
        while True:
            with self.transaction() as conn:
                rows = conn.execute(
                    f"SELECT seq, api, tenant FROM records WHERE kind = '{kind}' AND created_at < ? LIMIT ?",
                    (before, batch),
                ).fetchall()
                if not rows:
                    return removed
                conn.executemany("DELETE FROM records WHERE seq = ?", [(row[0],) for row in rows])
                per_tenant: dict[tuple[str, str], int] = {}
                for _, api, tenant in rows:
                    per_tenant[(api, tenant)] = per_tenant.get((api, tenant), 0) + 1
                conn.executemany(_COUNT_ADD, [(api, tenant, kind, -n) for (api, tenant), n in per_tenant.items()])
            removed += len(rows)

    def purge_idempotency(self, now: str, batch: int) -> int:
        """Delete idempotency entries expired at `now` (every tenant), `batch` rows per statement."""
        removed = 0
        while True:
            gone = self._run(
                'DELETE FROM idempotency_keys WHERE (api, tenant, "key") IN '
                '(SELECT api, tenant, "key" FROM idempotency_keys WHERE expires_at <= ? LIMIT ?)',
                (now, batch),
            )
            removed += gone
            if gone < batch:
                return removed

    # -- idempotency --------------------------------------------------------------------------
    # Entries become visible only with the response in them: `idempotency_claim` and
    # `idempotency_record` run inside the write transaction of the request they belong to
    # (sandbox.http.write_unit), so a crash between them leaves nothing behind to block a retry.
    def idempotency_get(self, api: str, tenant: str, key: str, now: str) -> IdempotencyEntry | None:
        """The live entry of `key` (not expired), or None."""
        row = self._one(_IDEMPOTENCY_GET, (api, tenant, key, now))
        return _idempotency_entry(row) if row else None

    def idempotency_claim(
        self, api: str, tenant: str, key: str, fingerprint: str, now: str, expires_at: str
    ) -> IdempotencyEntry | None:
        """Within the caller's transaction: take `key` for this request (None), or return the live entry
        that holds it. An expired entry, or a `pending` one left by a version that reserved keys in a
        transaction of their own, is taken over. On PostgreSQL a concurrent claim of the same key waits on
        the primary key until the first transaction ends, then finds its entry."""
        assert self.in_transaction, "idempotency_claim belongs inside the request's write transaction"
        with self._lock:
            claimed = self._conn.execute(
                'INSERT INTO idempotency_keys (api, tenant, "key", fingerprint, state, created_at, expires_at) '
                "VALUES (?, ?, ?, ?, 'pending', ?, ?) "
                'ON CONFLICT (api, tenant, "key") DO UPDATE SET fingerprint = excluded.fingerprint, '
                "state = 'pending', status = NULL, headers = NULL, body = NULL, "
                "created_at = excluded.created_at, expires_at = excluded.expires_at "
                "WHERE idempotency_keys.expires_at <= excluded.created_at OR idempotency_keys.state <> 'done'",
                (api, tenant, key, fingerprint, now, expires_at),
            ).rowcount
            if claimed:
                return None
            row = self._conn.execute(_IDEMPOTENCY_GET, (api, tenant, key, now)).fetchone()
        assert row is not None, "a live entry holds the key"
        return _idempotency_entry(row)

    def idempotency_record(
        self, api: str, tenant: str, key: str, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        """Within the caller's transaction: the response of the request that claimed `key`."""
        assert self.in_transaction, "idempotency_record belongs inside the request's write transaction"
        self._run(
            "UPDATE idempotency_keys SET state = 'done', status = ?, headers = ?, body = ? "
            'WHERE api = ? AND tenant = ? AND "key" = ?',
            (status, _dump(headers), body, api, tenant, key),
        )

    # -- jobs ---------------------------------------------------------------------------------
    def add_job(self, job: Job) -> None:
        self._run(
            "INSERT INTO jobs (id, api, tenant, kind, due_at, payload, state) VALUES (?, ?, ?, ?, ?, ?, 'pending')",
            (job.id, job.api, job.tenant, job.kind, job.due_at, _dump(job.payload)),
        )

    def claim_due_jobs(
        self,
        now: str,
        limit: int = 50,
        *,
        wall_now: float = 0.0,
        lease_seconds: float = 60.0,
        tenant: tuple[str, str] | None = None,
        exclude: Sequence[tuple[str, str]] = (),
    ) -> list[Job]:
        """Due jobs, each claimed in one statement: one worker of all those on the database runs each.

        A claim is a lease until `wall_now + lease_seconds`; a job whose lease ran out (its worker died) is
        claimed again. `now` is the sandbox time of `tenant`, or of every tenant but `exclude`."""
        scope, params = "", [now, wall_now]
        if tenant is not None:
            scope = " AND api = ? AND tenant = ?"
            params += list(tenant)
        for api, slug in exclude:
            scope += " AND NOT (api = ? AND tenant = ?)"
            params += [api, slug]
        rows = self._rows(
            "UPDATE jobs SET state = 'running', lease_until = ? WHERE id IN ("
            "SELECT id FROM jobs WHERE ((state = 'pending' AND due_at <= ?) OR (state = 'running' AND lease_until < ?))"
            f"{scope} ORDER BY due_at LIMIT ?{self.dialect.skip_locked}) RETURNING {_JOB_COLUMNS}",
            (wall_now + lease_seconds, *params, limit),
        )
        rows.sort(key=lambda row: row[4])
        return [_job(row) for row in rows]

    def finish_job(self, job_id: str) -> None:
        self._run("DELETE FROM jobs WHERE id = ?", (job_id,))

    def release_jobs(self, job_ids: Sequence[str]) -> int:
        """Hand claimed jobs back (a worker shutting down): any worker runs them next."""
        return sum(
            self._run("UPDATE jobs SET state = 'pending', lease_until = NULL WHERE id = ? AND state = 'running'", (jid,))
            for jid in job_ids
        )

    def pending_jobs(self, api: str | None = None) -> list[Job]:
        where, params = ("WHERE api = ?", (api,)) if api is not None else ("", ())
        return [_job(row) for row in self._rows(f"SELECT {_JOB_COLUMNS} FROM jobs {where} ORDER BY due_at", params)]

    # -- request journal ----------------------------------------------------------------------
    def journal_append(self, rows: Sequence[tuple[str, str, str, int, str, str]]) -> None:
        """Append (id, api, tenant, status, trace_id, data JSON) rows in one transaction (a flushed batch)."""
        values: Sequence[tuple[Any, ...]] = rows
        if rows and self.backend == "postgresql":  # the JSON column is text there, not SQLite's untyped JSON
            values = [(*row[:5], row[5].decode() if isinstance(row[5], bytes) else row[5]) for row in rows]
        if values:
            with self.transaction() as conn:
                conn.executemany(
                    "INSERT INTO request_journal (id, api, tenant, status, trace_id, data) VALUES (?, ?, ?, ?, ?, ?)",
                    values,
                )

    def journal_prune(self, api: str, tenant: str, keep: int) -> int:
        """Keep the newest `keep` entries of one (api, tenant); returns how many were dropped."""
        return self._run(
            "DELETE FROM request_journal WHERE api = ? AND tenant = ? AND seq < ("
            "SELECT seq FROM request_journal WHERE api = ? AND tenant = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
            (api, tenant, api, tenant, keep - 1),
        )

    def journal_list(
        self,
        *,
        api: str | None = None,
        tenant: str | None = None,
        status_range: tuple[int, int] | None = None,
        trace_id: str | None = None,
        after_seq: int | None = None,
        limit: int = 100,
    ) -> list[tuple[int, Any]]:
        """(seq, entry) newest first; `after_seq` keeps only entries newer than a seq already seen."""
        clauses: list[str] = ["1 = 1"]
        params: list[Any] = []
        for column, value in (("api", api), ("tenant", tenant), ("trace_id", trace_id)):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if status_range is not None:
            clauses.append("status BETWEEN ? AND ?")
            params.extend(status_range)
        if after_seq is not None:
            clauses.append("seq > ?")
            params.append(after_seq)
        rows = self._rows(
            f"SELECT seq, data FROM request_journal WHERE {' AND '.join(clauses)} ORDER BY seq DESC LIMIT ?",
            (*params, limit),
        )
        return [(row[0], _load(row[1])) for row in rows]

    def record_kinds(self, api: str, tenant: str) -> list[tuple[str, int]]:
        """(kind, count) of one tenant's records, by kind (the inspector's overview)."""
        rows = self._rows(
            "SELECT kind, count(*) FROM records WHERE api = ? AND tenant = ? GROUP BY kind ORDER BY kind", (api, tenant)
        )
        return [(row[0], int(row[1])) for row in rows]

    # -- clocks -------------------------------------------------------------------------------
    def clock_states(self) -> dict[tuple[str, str], ClockState]:
        """Every stored clock: (api, tenant) -> state; ALL_TENANTS is the one of tenants without a row."""
        rows = self._rows("SELECT api, tenant, offset_ms, frozen_at FROM clocks")
        return {(row[0], row[1]): ClockState(int(row[2]), row[3]) for row in rows}

    def clock_state(self, api: str, tenant: str) -> ClockState:
        """The tenant's clock: its own row, else the one of every tenant."""
        rows = self._rows(
            "SELECT api, offset_ms, frozen_at FROM clocks WHERE (api = ? AND tenant = ?) OR (api = '' AND tenant = '')",
            (api, tenant),
        )
        best = None
        for row in rows:
            if best is None or row[0] != "":
                best = row
        return ClockState() if best is None else ClockState(int(best[1]), best[2])

    def update_clocks(
        self, api: str, tenant: str, change: Callable[[ClockState], ClockState | None]
    ) -> ClockState:
        """Read, change and write a clock in one transaction (workers moving time at once both count).

        A tenant's clock starts from the one of every tenant; changing the clock of every tenant
        (ALL_TENANTS) changes every tenant's own clock the same way. `change` returning None deletes."""
        with self.transaction() as conn:
            rows = conn.execute(f"SELECT api, tenant, offset_ms, frozen_at FROM clocks{self.dialect.for_update}").fetchall()
            states = {(row[0], row[1]): ClockState(int(row[2]), row[3]) for row in rows}
            default = states.get(ALL_TENANTS, ClockState())
            targets = list(states) if (api, tenant) == ALL_TENANTS else []
            if (api, tenant) not in targets:
                targets.append((api, tenant))
            result = ClockState()
            for key in targets:
                new = change(states.get(key, default))
                if new is None:
                    conn.execute("DELETE FROM clocks WHERE api = ? AND tenant = ?", key)
                    continue
                conn.execute(
                    "INSERT INTO clocks (api, tenant, offset_ms, frozen_at) VALUES (?, ?, ?, ?) ON CONFLICT (api, tenant) "
                    "DO UPDATE SET offset_ms = excluded.offset_ms, frozen_at = excluded.frozen_at",
                    (*key, new.offset_ms, new.frozen_at),
                )
                if key == (api, tenant):
                    result = new
        return result

    def set_clock_states(self, states: dict[tuple[str, str], ClockState]) -> None:
        with self.transaction() as conn:
            for (api, tenant), state in states.items():
                conn.execute(
                    "INSERT INTO clocks (api, tenant, offset_ms, frozen_at) VALUES (?, ?, ?, ?) ON CONFLICT (api, tenant) "
                    "DO UPDATE SET offset_ms = excluded.offset_ms, frozen_at = excluded.frozen_at",
                    (api, tenant, state.offset_ms, state.frozen_at),
                )

    # -- faults -------------------------------------------------------------------------------
    def add_fault(self, api: str, operation_id: str, status: int | None, remaining: int, latency_ms: int) -> FaultRecord:
        row = self._returning(
            "INSERT INTO faults (api, operation_id, status, remaining, latency_ms) VALUES (?, ?, ?, ?, ?) "
            f"RETURNING {_FAULT_COLUMNS}",
            (api, operation_id, status, remaining, latency_ms),
        )
        return FaultRecord(*row)

    def take_fault(self, api: str, operation_id: str | None) -> FaultRecord | None:
        """The oldest fault armed for this call, counted down by one (any worker; each count used once)."""
        match = "api = ? AND operation_id IN (?, '*') AND remaining > 0"
        params = (api, operation_id or "*")
        if self._one(f"SELECT 1 FROM faults WHERE {match} LIMIT 1", params) is None:
            return None  # the common case: a read, no write lock
        with self.transaction() as conn:
            rows = conn.execute(
                f"UPDATE faults SET remaining = remaining - 1 WHERE remaining > 0 AND seq = (SELECT seq FROM faults "
                f"WHERE {match} ORDER BY seq LIMIT 1{self.dialect.for_update}) RETURNING {_FAULT_COLUMNS}",
                params,
            ).fetchall()
            row = rows[0] if rows else None
            if row is not None and row[4] <= 0:
                conn.execute("DELETE FROM faults WHERE seq = ?", (row[0],))
        return None if row is None else FaultRecord(*row)

    def list_faults(self) -> list[FaultRecord]:
        return [FaultRecord(*row) for row in self._rows(f"SELECT {_FAULT_COLUMNS} FROM faults ORDER BY seq")]

    def clear_faults(self) -> int:
        return self._run("DELETE FROM faults")

    # -- rate-limit windows (without Redis) --------------------------------------------------
    def hit_window(self, bucket: str, wall_now: float, window_seconds: int, count: int = 1) -> tuple[int, float]:
        """Counts `count` hits in `bucket`'s fixed window (one that starts at its first hit, as `limits` does):
        (hits so far in the window, when it ends). One atomic statement, so every worker counts in one row."""
        row = self._returning(
            "INSERT INTO rate_counters (bucket, hits, expires_at) VALUES (?, ?, ?) ON CONFLICT (bucket) DO UPDATE SET "
            "hits = CASE WHEN rate_counters.expires_at > ? THEN rate_counters.hits + excluded.hits ELSE excluded.hits END, "
            "expires_at = CASE WHEN rate_counters.expires_at > ? THEN rate_counters.expires_at ELSE excluded.expires_at END "
            "RETURNING hits, expires_at",
            (bucket, count, wall_now + window_seconds, wall_now, wall_now),
        )
        return int(row[0]), float(row[1])

    def clear_windows(self) -> None:
        self._run("DELETE FROM rate_counters")

    # -- reset --------------------------------------------------------------------------------
    def wipe(self, api: str | None = None, tenant: str | None = None) -> None:
        """Delete everything of one API (or tenant), records, keys and tenant rows included."""
        with self.transaction() as conn:
            for table, tenant_column in (
                ("records", "tenant"), ("record_counts", "tenant"), ("jobs", "tenant"), ("api_keys", "tenant"), ("idempotency_keys", "tenant"),
                ("tenants", "slug"), ("clocks", "tenant"), ("tenant_ttls", "slug"),
            ):
                clauses, params = ["1 = 1"], []
                if api is not None:
                    clauses.append("api = ?")
                    params.append(api)
                if tenant is not None:
                    clauses.append(f"{tenant_column} = ?")
                    params.append(tenant)
                if table == "clocks" and api is None:
                    clauses.append("api != ''")  # the clock of every tenant stays
                conn.execute(f"DELETE FROM {table} WHERE {' AND '.join(clauses)}", params)


_FAULT_COLUMNS = "seq, api, operation_id, status, remaining, latency_ms"


def _bytes(value: Any) -> bytes | None:
    return None if value is None else bytes(value)


_JOB_COLUMNS = "id, api, tenant, kind, due_at, payload"
_IDEMPOTENCY_GET = (
    'SELECT fingerprint, state, status, headers, body, expires_at FROM idempotency_keys '
    'WHERE api = ? AND tenant = ? AND "key" = ? AND expires_at > ? AND state = \'done\''
)


def _idempotency_entry(row: Any) -> IdempotencyEntry:
    return IdempotencyEntry(row[0], row[1], row[2], _load(row[3]), _bytes(row[4]), row[5])


def _job(row: Any) -> Job:
    return Job(row[0], row[1], row[2], row[3], row[4], _load(row[5]))


def _tenant(row: Any) -> TenantRecord:
    return TenantRecord(row[0], row[1], row[2], row[3], _load(row[4]), row[5])


# -- records: fixed statements, and filters compiled once per shape ----------------------------------------
_INSERT = "INSERT INTO records (api, tenant, kind, id, created_at, data) VALUES (?, ?, ?, ?, ?, ?)"
_COUNT = "SELECT n FROM record_counts WHERE api = ? AND tenant = ? AND kind = ?"
_COUNT_ADD = (
    "INSERT INTO record_counts (api, tenant, kind, n) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (api, tenant, kind) DO UPDATE SET n = record_counts.n + excluded.n"
)

_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
#: a kind is written into SQL as a literal ('…'): letters, digits and underscores only (`3d_models` too)
_KIND = re.compile(r"[A-Za-z0-9_]+")
_OPERATORS = {"eq": "=", "ne": "!=", "gte": ">=", "lte": "<=", "gt": ">", "lt": "<"}

Shape = tuple[tuple[str, str, int], ...]


@dataclass(frozen=True)
class _ById:
    get: str
    replace: str
    delete: str


@functools.lru_cache(maxsize=256)
def _by_id(kind: str) -> _ById:
    """The statements on one record of `kind`, by id; parameters (api, tenant, id). The kind is written
    out, not bound, as in `_where`: while any partial index says `WHERE kind = '…'` (`Store.ensure_index`),
    SQLite re-plans a statement with a bound `kind = ?` on every run, to see whether the value makes that
    index usable: about 18 µs of re-preparing per lookup, four times the lookup itself."""
    if not _KIND.fullmatch(kind):
        raise ValueError(f"not a kind: {kind!r}")
    scope = f"api = ? AND tenant = ? AND kind = '{kind}' AND id = ?"
    return _ById(f"SELECT data FROM records WHERE {scope}", f"UPDATE records SET data = ? WHERE {scope}",
                 f"DELETE FROM records WHERE {scope}")


def _column(field: str, dialect: Dialect) -> str:
    if field == "created_at":
        return "created_at"
    if not _FIELD.fullmatch(field):  # field names come from the models, never from a request
        raise ValueError(f"not a filterable field: {field!r}")
    return dialect.json_field(field)


@functools.lru_cache(maxsize=512)
def _where(kind: str, shape: Shape, dialect: Dialect) -> str:
    """The WHERE clause of a filter shape: (field, op, in-list size) in order; parameters are positional
    (api and tenant first). The kind is written out, so the planner can use the partial index of a
    (kind, field) lookup (`Store.ensure_index`): it cannot prove that a bound `kind = ?` matches it."""
    if not _KIND.fullmatch(kind):
        raise ValueError(f"not a kind: {kind!r}")
    clauses = [f"api = ? AND tenant = ? AND kind = '{kind}'"]
    for field, op, size in shape:
        column = _column(field, dialect)
        param = "?" if field == "created_at" else dialect.json_param()
        if op == "in":
            clauses.append(f"{column} IN ({', '.join([param] * size)})" if size else "0 = 1")
        elif op == "icontains":
            text = column if field == "created_at" else dialect.json_text(field)
            clauses.append(f"lower({text}) LIKE ? ESCAPE '\\'")
        else:
            clauses.append(f"{column} {_OPERATORS[op]} {param}")
    return " AND ".join(clauses)


def _clamp(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        # SQLite integers are 64-bit; a bigger bound means "no bound" on that side.
        return max(-(2**63), min(2**63 - 1, value))
    return value


def _shape_and_params(where: Sequence[Condition], dialect: Dialect) -> tuple[Shape, list[Any]]:
    shape: list[tuple[str, str, int]] = []
    params: list[Any] = []
    for cond in where:
        as_json = dialect.json_value if cond.field != "created_at" else _same
        if cond.op == "in":
            values = [as_json(_clamp(v)) for v in cond.value]
            shape.append((cond.field, "in", len(values)))
            params.extend(values)
            continue
        value = _clamp(cond.value)
        if cond.op == "icontains":
            escaped = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            value = f"%{escaped.lower()}%"
        else:
            value = as_json(value)
        shape.append((cond.field, cond.op, 0))
        params.append(value)
    return tuple(shape), params


def _same(value: Any) -> Any:
    return value


@functools.lru_cache(maxsize=512)
def _page_sql(kind: str, shape: Shape, after: bool, dialect: Dialect) -> str:
    return f"SELECT seq, data FROM records WHERE {_where(kind, shape, dialect)}{' AND seq < ?' if after else ''} " \
        "ORDER BY seq DESC LIMIT ?"


class Collection:
    """One kind of record of one tenant: the only way handlers and models reach stored records."""

    __slots__ = ("_by_id", "_owner", "_scope", "api", "kind", "store", "tenant")

    def __init__(self, store: Store, api: str, tenant: str, kind: str) -> None:
        self.store = store
        self.api = api
        self.tenant = tenant
        self.kind = kind
        self._scope = (api, tenant, kind)
        self._owner = (api, tenant)
        self._by_id = _by_id(kind)

    def insert(self, record_id: str, created_at: str, data: dict[str, Any]) -> int:
        with self.store.transaction() as conn:  # the record and its count, as one
            row = conn.execute(_INSERT + " RETURNING seq", (*self._scope, record_id, created_at, _dump(data))).fetchall()[0]
            conn.execute(_COUNT_ADD, (*self._scope, 1))
        return int(row[0])

    def get(self, record_id: str) -> dict[str, Any] | None:
        row = self.store._one(self._by_id.get, (*self._owner, record_id))
        return _load(row[0]) if row else None

    def replace(self, record_id: str, data: dict[str, Any]) -> bool:
        return self.store._run(self._by_id.replace, (_dump(data), *self._owner, record_id)) > 0

    def delete(self, record_id: str) -> bool:
        with self.store.transaction() as conn:
            if conn.execute(self._by_id.delete, (*self._owner, record_id)).rowcount == 0:
                return False
            conn.execute(_COUNT_ADD, (*self._scope, -1))
        return True

    def page(
        self, where: Sequence[Condition] = (), *, before_seq: int | None, limit: int, raw: bool = False
    ) -> Page:
        """Newest first; `before_seq` continues after a previous page (cursor pagination).

        `raw`: items as stored JSON (`orjson.Fragment`), for pages sent on unchanged: decoding 25 records
        only to encode them again was 6% of a list request's CPU (`make bench`)."""
        shape, params = _shape_and_params(where, self.store.dialect)
        tail = [before_seq, limit + 1] if before_seq is not None else [limit + 1]
        rows = self.store._rows(_page_sql(self.kind, shape, before_seq is not None, self.store.dialect),
                                (*self._owner, *params, *tail))
        more = len(rows) > limit
        rows = rows[:limit]
        items = [orjson.Fragment(row[1]) for row in rows] if raw else [_load(row[1]) for row in rows]
        return Page(items, rows[-1][0] if more and rows else None)

    def offset_page(self, where: Sequence[Condition] = (), *, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
        """Newest first, page/limit style: (items, total), read in one transaction."""
        shape, params = _shape_and_params(where, self.store.dialect)
        clause = _where(self.kind, shape, self.store.dialect)
        bound = (*self._owner, *params)
        with self.store._lock:
            conn = self.store._conn
            own = not self.store.in_transaction  # inside a write unit the open transaction is one snapshot
            if own:
                conn.execute("BEGIN")
            try:
                total = self._count(conn, shape, params)
                rows = conn.execute(
                    f"SELECT data FROM records WHERE {clause} ORDER BY seq DESC LIMIT ? OFFSET ?",
                    (*bound, limit, _clamp(offset)),
                ).fetchall()
            finally:
                if own:
                    conn.execute("COMMIT")
        return [_load(row[0]) for row in rows], int(total)

    def count(self, where: Sequence[Condition] = ()) -> int:
        shape, params = _shape_and_params(where, self.store.dialect)
        with self.store._lock:
            return self._count(self.store._conn, shape, params)

    def _count(self, conn: Connection, shape: Shape, params: list[Any]) -> int:
        """Every record: the kept count. Filtered: counted through the filter's index where it has one,
        so the cost is what matches, not what the tenant holds."""
        if not shape:
            row = conn.execute(_COUNT, self._scope).fetchone()
        else:
            clause = _where(self.kind, shape, self.store.dialect)
            row = conn.execute(f"SELECT count(*) FROM records WHERE {clause}", (*self._owner, *params)).fetchone()
        return int(row[0]) if row else 0

    def all(self, where: Sequence[Condition] = ()) -> list[dict[str, Any]]:
        shape, params = _shape_and_params(where, self.store.dialect)
        clause = _where(self.kind, shape, self.store.dialect)
        rows = self.store._rows(f"SELECT data FROM records WHERE {clause} ORDER BY seq", (*self._owner, *params))
        return [_load(row[0]) for row in rows]
