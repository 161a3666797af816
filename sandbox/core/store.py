"""The one store: tenants, keys, records, idempotency entries and jobs, every read and write keyed by
(api, tenant). Embedded SQLite: a file by default (state survives restarts and is shared by the worker
processes of one `serve`), `memory` for tests.

The standard library's `sqlite3`, with fixed SQL and bound parameters. SQLAlchemy Core did this job
until the benchmark profile showed its engine, pool and result layers costing 100-250 microseconds per
query against 6-80 for the query itself (`make bench`, README "Performance").
"""

from __future__ import annotations

import functools
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from sandbox.core import jsonio

SCHEMA = """
CREATE TABLE IF NOT EXISTS tenants (
    api VARCHAR(32) NOT NULL,
    slug VARCHAR(64) NOT NULL,
    name VARCHAR(200) NOT NULL,
    plan VARCHAR(32) NOT NULL,
    data JSON NOT NULL,
    created_at VARCHAR(32) NOT NULL,
    PRIMARY KEY (api, slug)
);
CREATE TABLE IF NOT EXISTS api_keys (
    key_hash VARCHAR(64) NOT NULL PRIMARY KEY,  -- SHA-256 hex; the key itself is never stored
    api VARCHAR(32) NOT NULL,
    tenant VARCHAR(64) NOT NULL,
    role VARCHAR(32) NOT NULL,
    plan VARCHAR(32) NOT NULL,
    last4 VARCHAR(4) NOT NULL,
    label VARCHAR(200) NOT NULL DEFAULT '',
    created_at VARCHAR(32) NOT NULL,
    revoked_at VARCHAR(32)
);
CREATE INDEX IF NOT EXISTS ix_api_keys_tenant ON api_keys (api, tenant);
CREATE TABLE IF NOT EXISTS records (
    -- seq orders every list (newest first) and is what cursors point at: inserts never move it.
    seq INTEGER NOT NULL PRIMARY KEY,
    api VARCHAR(32) NOT NULL,
    tenant VARCHAR(64) NOT NULL,
    kind VARCHAR(32) NOT NULL,
    id VARCHAR(64) NOT NULL,
    created_at VARCHAR(32) NOT NULL,
    data JSON NOT NULL,
    CONSTRAINT uq_records_id UNIQUE (api, tenant, kind, id)
);
CREATE INDEX IF NOT EXISTS ix_records_scan ON records (api, tenant, kind, seq);
CREATE TABLE IF NOT EXISTS idempotency_keys (
    api VARCHAR(32) NOT NULL,
    tenant VARCHAR(64) NOT NULL,
    "key" VARCHAR(255) NOT NULL,
    fingerprint VARCHAR(64) NOT NULL,
    state VARCHAR(16) NOT NULL,  -- pending | done
    status INTEGER,
    headers JSON,
    body BLOB,
    created_at VARCHAR(32) NOT NULL,
    expires_at VARCHAR(32) NOT NULL,
    PRIMARY KEY (api, tenant, "key")
);
CREATE TABLE IF NOT EXISTS jobs (
    -- Timed work that must survive a restart: webhook attempts, message status changes.
    id VARCHAR(64) NOT NULL PRIMARY KEY,
    api VARCHAR(32) NOT NULL,
    tenant VARCHAR(64) NOT NULL,
    kind VARCHAR(64) NOT NULL,
    due_at VARCHAR(32) NOT NULL,
    payload JSON NOT NULL,
    state VARCHAR(16) NOT NULL  -- pending | running
);
CREATE INDEX IF NOT EXISTS ix_jobs_due ON jobs (state, due_at);
CREATE TABLE IF NOT EXISTS request_journal (
    -- What every request asked and got (GET /_sandbox/requests, the inspector, `lead-sandbox logs`).
    -- seq orders it (newest first); tenant is '' for requests without one (control plane, unknown paths).
    seq INTEGER NOT NULL PRIMARY KEY,
    id VARCHAR(40) NOT NULL,
    api VARCHAR(32) NOT NULL,
    tenant VARCHAR(64) NOT NULL,
    status INTEGER NOT NULL,
    trace_id VARCHAR(64) NOT NULL,
    data JSON NOT NULL
);
CREATE INDEX IF NOT EXISTS ix_request_journal_tenant ON request_journal (api, tenant, seq);
CREATE INDEX IF NOT EXISTS ix_request_journal_trace ON request_journal (trace_id);
CREATE TABLE IF NOT EXISTS sandbox_meta (
    "key" VARCHAR(128) NOT NULL PRIMARY KEY,
    value JSON NOT NULL
);
"""


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


MEMORY_URLS = frozenset({"memory", ":memory:", "sqlite://", "sqlite:///:memory:"})


def sqlite_path(url: str) -> str:
    """`memory`, a file path, or an `sqlite:///path` URL -> what `sqlite3.connect` takes."""
    if url in MEMORY_URLS:
        return ":memory:"
    if url.startswith("sqlite:///"):
        url = url[len("sqlite:///"):]
    elif "://" in url:
        raise ValueError(f"unsupported database URL {url!r}: the sandbox stores in SQLite (a path, sqlite:///path or memory)")
    Path(url).parent.mkdir(parents=True, exist_ok=True)
    return url


def _dump(value: Any) -> str:
    return jsonio.dumps_document(value)


def _load(text: str | bytes | None) -> Any:
    return None if text is None else jsonio.loads_document(text)


_KEY_COLUMNS = "key_hash, api, tenant, role, plan, last4, label, created_at, revoked_at"
_TENANT_COLUMNS = "api, slug, name, plan, data, created_at"


class Store:
    """Tenant-keyed persistence. Every method takes `api` and `tenant` first (LocalStack-style)."""

    def __init__(self, url: str = "memory") -> None:
        self.url = url
        path = sqlite_path(url)
        self.in_memory = path == ":memory:"
        # Autocommit mode: single statements commit on their own; writes of several statements take the
        # write lock up front (BEGIN IMMEDIATE), so two processes never deadlock upgrading a read lock.
        # timeout: how long a writer waits for another process's transaction (SQLite's busy timeout).
        self._conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0)
        # One connection per store, shared by the event loop and the webhook worker's thread.
        self._lock = threading.RLock()
        if not self.in_memory:
            # WAL + NORMAL: durable across restarts, readers never block the writer, no fsync per request.
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            # Reads straight from the mapped file instead of a read() per page: cursor pages deep in a
            # tenant of a million leads stay as fast as in a small one (`make bench`).
            self._conn.execute("PRAGMA mmap_size=268435456")
        with self._lock:
            self._conn.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction holding SQLite's write lock from the start."""
        with self._lock:
            conn = self._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def _one(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self._lock:
            return self._conn.execute(sql, params).fetchone()

    def _run(self, sql: str, params: Sequence[Any] = ()) -> int:
        """One write statement (atomic on its own); the number of rows it changed."""
        with self._lock:
            return self._conn.execute(sql, params).rowcount

    # -- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str) -> Any:
        row = self._one('SELECT value FROM sandbox_meta WHERE "key" = ?', (key,))
        return _load(row[0]) if row else None

    def set_meta(self, key: str, value: Any) -> None:
        self._run('INSERT OR REPLACE INTO sandbox_meta ("key", value) VALUES (?, ?)', (key, _dump(value)))

    def delete_meta(self, key: str) -> bool:
        return self._run('DELETE FROM sandbox_meta WHERE "key" = ?', (key,)) > 0

    def meta_keys(self, prefix: str) -> list[str]:
        rows = self._rows('SELECT "key" FROM sandbox_meta WHERE substr("key", 1, ?) = ? ORDER BY "key"', (len(prefix), prefix))
        return [row[0] for row in rows]

    def next_count(self, key: str) -> int:
        """0, 1, 2… on successive calls, across processes and restarts (one write transaction)."""
        with self.transaction() as conn:
            row = conn.execute('SELECT value FROM sandbox_meta WHERE "key" = ?', (key,)).fetchone()
            count = 0 if row is None else int(_load(row[0])["count"]) + 1
            # an object, not a bare number: SQLite's JSON column has numeric affinity and would store 1 as 1
            conn.execute('INSERT OR REPLACE INTO sandbox_meta ("key", value) VALUES (?, ?)',
                         (key, _dump({"count": count})))
        return count

    def claim_meta(self, key: str, value: Any) -> bool:
        """Insert `key` unless it exists; True when this call inserted it (a cross-process claim)."""
        return self._run('INSERT OR IGNORE INTO sandbox_meta ("key", value) VALUES (?, ?)', (key, _dump(value))) > 0

    # -- tenants ------------------------------------------------------------------------------
    def put_tenant(self, tenant: TenantRecord) -> None:
        self._run(
            f"INSERT OR REPLACE INTO tenants ({_TENANT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)",
            (tenant.api, tenant.slug, tenant.name, tenant.plan, _dump(tenant.data), tenant.created_at),
        )

    def get_tenant(self, api: str, slug: str) -> TenantRecord | None:
        row = self._one(f"SELECT {_TENANT_COLUMNS} FROM tenants WHERE api = ? AND slug = ?", (api, slug))
        return _tenant(row) if row else None

    def list_tenants(self, api: str | None = None) -> list[TenantRecord]:
        where, params = ("WHERE api = ?", (api,)) if api is not None else ("", ())
        rows = self._rows(f"SELECT {_TENANT_COLUMNS} FROM tenants {where} ORDER BY api, created_at", params)
        return [_tenant(row) for row in rows]

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

    # -- idempotency --------------------------------------------------------------------------
    def idempotency_reserve(
        self, api: str, tenant: str, key: str, fingerprint: str, now: str, expires_at: str
    ) -> IdempotencyEntry | None:
        """Claim `key` for a request. Returns None when claimed, else the live entry that holds it.

        The read and the insert share one write transaction, so concurrent requests (even from several
        worker processes on one database) cannot both run the handler.
        """
        scope = (api, tenant, key)
        with self.transaction() as conn:
            row = conn.execute(
                'SELECT fingerprint, state, status, headers, body, expires_at FROM idempotency_keys '
                'WHERE api = ? AND tenant = ? AND "key" = ?',
                scope,
            ).fetchone()
            if row is not None and row[5] > now:
                return IdempotencyEntry(row[0], row[1], row[2], _load(row[3]), row[4], row[5])
            conn.execute(  # expired or absent: the key is (again) this request's
                'INSERT OR REPLACE INTO idempotency_keys (api, tenant, "key", fingerprint, state, created_at, '
                "expires_at) VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                (*scope, fingerprint, now, expires_at),
            )
        return None

    def idempotency_complete(
        self, api: str, tenant: str, key: str, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        self._run(
            "UPDATE idempotency_keys SET state = 'done', status = ?, headers = ?, body = ? "
            'WHERE api = ? AND tenant = ? AND "key" = ?',
            (status, _dump(headers), body, api, tenant, key),
        )

    def idempotency_release(self, api: str, tenant: str, key: str) -> None:
        self._run('DELETE FROM idempotency_keys WHERE api = ? AND tenant = ? AND "key" = ?', (api, tenant, key))

    # -- jobs ---------------------------------------------------------------------------------
    def add_job(self, job: Job) -> None:
        self._run(
            "INSERT INTO jobs (id, api, tenant, kind, due_at, payload, state) VALUES (?, ?, ?, ?, ?, ?, 'pending')",
            (job.id, job.api, job.tenant, job.kind, job.due_at, _dump(job.payload)),
        )

    def claim_due_jobs(self, now: str, limit: int = 50) -> list[Job]:
        """Due jobs, each claimed (pending -> running) in one write transaction: one worker runs each."""
        with self.transaction() as conn:
            rows = conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE state = 'pending' AND due_at <= ? ORDER BY due_at LIMIT ?",
                (now, limit),
            ).fetchall()
            conn.executemany("UPDATE jobs SET state = 'running' WHERE id = ?", [(row[0],) for row in rows])
        return [_job(row) for row in rows]

    def finish_job(self, job_id: str) -> None:
        self._run("DELETE FROM jobs WHERE id = ?", (job_id,))

    def requeue_running_jobs(self) -> int:
        """After a crash or restart, jobs left `running` are due again."""
        return self._run("UPDATE jobs SET state = 'pending' WHERE state = 'running'")

    def pending_jobs(self, api: str | None = None) -> list[Job]:
        where, params = ("WHERE api = ?", (api,)) if api is not None else ("", ())
        return [_job(row) for row in self._rows(f"SELECT {_JOB_COLUMNS} FROM jobs {where} ORDER BY due_at", params)]

    # -- request journal ----------------------------------------------------------------------
    def journal_append(self, rows: Sequence[tuple[str, str, str, int, str, str]]) -> None:
        """Append (id, api, tenant, status, trace_id, data JSON) rows in one transaction (a flushed batch)."""
        if rows:
            with self.transaction() as conn:
                conn.executemany(
                    "INSERT INTO request_journal (id, api, tenant, status, trace_id, data) VALUES (?, ?, ?, ?, ?, ?)",
                    rows,
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

    # -- reset --------------------------------------------------------------------------------
    def wipe(self, api: str | None = None, tenant: str | None = None) -> None:
        """Delete everything of one API (or tenant), records, keys and tenant rows included."""
        with self.transaction() as conn:
            for table, tenant_column in (
                ("records", "tenant"), ("jobs", "tenant"), ("api_keys", "tenant"), ("idempotency_keys", "tenant"),
                ("tenants", "slug"),
            ):
                clauses, params = ["1 = 1"], []
                if api is not None:
                    clauses.append("api = ?")
                    params.append(api)
                if tenant is not None:
                    clauses.append(f"{tenant_column} = ?")
                    params.append(tenant)
                conn.execute(f"DELETE FROM {table} WHERE {' AND '.join(clauses)}", params)


_JOB_COLUMNS = "id, api, tenant, kind, due_at, payload"


def _job(row: Any) -> Job:
    return Job(row[0], row[1], row[2], row[3], row[4], _load(row[5]))


def _tenant(row: Any) -> TenantRecord:
    return TenantRecord(row[0], row[1], row[2], row[3], _load(row[4]), row[5])


# -- records: fixed statements, and filters compiled once per shape ----------------------------------------
_SCOPE = "api = ? AND tenant = ? AND kind = ?"
_INSERT = "INSERT INTO records (api, tenant, kind, id, created_at, data) VALUES (?, ?, ?, ?, ?, ?)"
_GET = f"SELECT data FROM records WHERE {_SCOPE} AND id = ?"
_REPLACE = f"UPDATE records SET data = ? WHERE {_SCOPE} AND id = ?"
_DELETE = f"DELETE FROM records WHERE {_SCOPE} AND id = ?"

_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPERATORS = {"eq": "=", "ne": "!=", "gte": ">=", "lte": "<=", "gt": ">", "lt": "<"}

Shape = tuple[tuple[str, str, int], ...]


def _column(field: str) -> str:
    if field == "created_at":
        return "created_at"
    if not _FIELD.fullmatch(field):  # field names come from the models, never from a request
        raise ValueError(f"not a filterable field: {field!r}")
    # A JSON number compares as a number, a string as text, true/false as 1/0 (SQLite's json_extract).
    return f"json_extract(data, '$.\"{field}\"')"


@functools.lru_cache(maxsize=512)
def _where(shape: Shape) -> str:
    """The WHERE clause of a filter shape: (field, op, in-list size) in order; parameters are positional."""
    clauses = [_SCOPE]
    for field, op, size in shape:
        column = _column(field)
        if op == "in":
            clauses.append(f"{column} IN ({', '.join('?' * size)})" if size else "0 = 1")
        elif op == "icontains":
            clauses.append(f"lower({column}) LIKE ? ESCAPE '\\'")
        else:
            clauses.append(f"{column} {_OPERATORS[op]} ?")
    return " AND ".join(clauses)


def _clamp(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        # SQLite integers are 64-bit; a bigger bound means "no bound" on that side.
        return max(-(2**63), min(2**63 - 1, value))
    return value


def _shape_and_params(where: Sequence[Condition]) -> tuple[Shape, list[Any]]:
    shape: list[tuple[str, str, int]] = []
    params: list[Any] = []
    for cond in where:
        if cond.op == "in":
            values = [_clamp(v) for v in cond.value]
            shape.append((cond.field, "in", len(values)))
            params.extend(values)
            continue
        value = _clamp(cond.value)
        if cond.op == "icontains":
            escaped = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            value = f"%{escaped.lower()}%"
        shape.append((cond.field, cond.op, 0))
        params.append(value)
    return tuple(shape), params


@functools.lru_cache(maxsize=512)
def _page_sql(shape: Shape, after: bool) -> str:
    return f"SELECT seq, data FROM records WHERE {_where(shape)}{' AND seq < ?' if after else ''} " \
        "ORDER BY seq DESC LIMIT ?"


class Collection:
    """One kind of record of one tenant: the only way handlers and models reach stored records."""

    __slots__ = ("_scope", "api", "kind", "store", "tenant")

    def __init__(self, store: Store, api: str, tenant: str, kind: str) -> None:
        self.store = store
        self.api = api
        self.tenant = tenant
        self.kind = kind
        self._scope = (api, tenant, kind)

    def insert(self, record_id: str, created_at: str, data: dict[str, Any]) -> int:
        with self.store._lock:
            cursor = self.store._conn.execute(_INSERT, (*self._scope, record_id, created_at, _dump(data)))
            assert cursor.lastrowid is not None
            return cursor.lastrowid

    def get(self, record_id: str) -> dict[str, Any] | None:
        row = self.store._one(_GET, (*self._scope, record_id))
        return _load(row[0]) if row else None

    def replace(self, record_id: str, data: dict[str, Any]) -> bool:
        return self.store._run(_REPLACE, (_dump(data), *self._scope, record_id)) > 0

    def delete(self, record_id: str) -> bool:
        return self.store._run(_DELETE, (*self._scope, record_id)) > 0

    def page(
        self, where: Sequence[Condition] = (), *, before_seq: int | None, limit: int, raw: bool = False
    ) -> Page:
        """Newest first; `before_seq` continues after a previous page (cursor pagination).

        `raw`: items as stored JSON (`orjson.Fragment`), for pages sent on unchanged: decoding 25 records
        only to encode them again was 6% of a list request's CPU (`make bench`)."""
        shape, params = _shape_and_params(where)
        tail = [before_seq, limit + 1] if before_seq is not None else [limit + 1]
        rows = self.store._rows(_page_sql(shape, before_seq is not None), (*self._scope, *params, *tail))
        more = len(rows) > limit
        rows = rows[:limit]
        items = [orjson.Fragment(row[1]) for row in rows] if raw else [_load(row[1]) for row in rows]
        return Page(items, rows[-1][0] if more and rows else None)

    def offset_page(self, where: Sequence[Condition] = (), *, offset: int, limit: int) -> tuple[list[dict], int]:
        """Newest first, page/limit style: (items, total), read in one transaction."""
        shape, params = _shape_and_params(where)
        clause = _where(shape)
        bound = (*self._scope, *params)
        with self.store._lock:
            conn = self.store._conn
            conn.execute("BEGIN")
            try:
                total = conn.execute(f"SELECT count(*) FROM records WHERE {clause}", bound).fetchone()[0]
                rows = conn.execute(
                    f"SELECT data FROM records WHERE {clause} ORDER BY seq DESC LIMIT ? OFFSET ?",
                    (*bound, limit, _clamp(offset)),
                ).fetchall()
            finally:
                conn.execute("COMMIT")
        return [_load(row[0]) for row in rows], int(total)

    def count(self, where: Sequence[Condition] = ()) -> int:
        shape, params = _shape_and_params(where)
        row = self.store._one(f"SELECT count(*) FROM records WHERE {_where(shape)}", (*self._scope, *params))
        return int(row[0])

    def all(self, where: Sequence[Condition] = ()) -> list[dict[str, Any]]:
        shape, params = _shape_and_params(where)
        rows = self.store._rows(f"SELECT data FROM records WHERE {_where(shape)} ORDER BY seq", (*self._scope, *params))
        return [_load(row[0]) for row in rows]
