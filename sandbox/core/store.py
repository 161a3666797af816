"""The one store: tenants, keys, records and idempotency entries, every read and write keyed by
(api, tenant). Embedded SQLite by default (a file, so state survives restarts), `memory` for tests,
or any SQLAlchemy URL for a shared deployment."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson
from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
    true,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

from sandbox.core import jsonio

metadata = MetaData()

tenants_table = Table(
    "tenants",
    metadata,
    Column("api", String(32), primary_key=True),
    Column("slug", String(64), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("plan", String(32), nullable=False),
    Column("data", JSON, nullable=False),
    Column("created_at", String(32), nullable=False),
)

keys_table = Table(
    "api_keys",
    metadata,
    Column("key_hash", String(64), primary_key=True),  # SHA-256 hex; the key itself is never stored
    Column("api", String(32), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("role", String(32), nullable=False),
    Column("plan", String(32), nullable=False),
    Column("last4", String(4), nullable=False),
    Column("label", String(200), nullable=False, default=""),
    Column("created_at", String(32), nullable=False),
    Column("revoked_at", String(32), nullable=True),
    Index("ix_api_keys_tenant", "api", "tenant"),
)

records_table = Table(
    "records",
    metadata,
    # seq orders every list (newest first) and is what cursors point at: inserts never move it.
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("api", String(32), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("id", String(64), nullable=False),
    Column("created_at", String(32), nullable=False),
    Column("data", JSON, nullable=False),
    UniqueConstraint("api", "tenant", "kind", "id", name="uq_records_id"),
    Index("ix_records_scan", "api", "tenant", "kind", "seq"),
)

idempotency_table = Table(
    "idempotency_keys",
    metadata,
    Column("api", String(32), primary_key=True),
    Column("tenant", String(64), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("state", String(16), nullable=False),  # pending | done
    Column("status", Integer, nullable=True),
    Column("headers", JSON, nullable=True),
    Column("body", LargeBinary, nullable=True),
    Column("created_at", String(32), nullable=False),
    Column("expires_at", String(32), nullable=False),
)

jobs_table = Table(
    "jobs",
    metadata,
    # Timed work that must survive a restart: webhook attempts, message status changes.
    Column("id", String(64), primary_key=True),
    Column("api", String(32), nullable=False),
    Column("tenant", String(64), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("due_at", String(32), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("state", String(16), nullable=False),  # pending | running
    Index("ix_jobs_due", "state", "due_at"),
)

meta_table = Table(
    "sandbox_meta",
    metadata,
    Column("key", String(128), primary_key=True),
    Column("value", JSON, nullable=False),
)


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
    items: list[dict[str, Any]]
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


def _engine_for(url: str) -> Engine:
    options: dict[str, Any] = {
        "json_serializer": jsonio.dumps_str,
        # orjson on the read path (its speed matters on every list); an integer beyond 64 bits in a free-form
        # field is written exactly but reads back as a float (documented in the README)
        "json_deserializer": orjson.loads,
    }
    if url in ("memory", ":memory:", "sqlite://", "sqlite:///:memory:"):
        engine = create_engine(
            "sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False}, **options
        )
    else:
        if "://" not in url:  # a plain path means an SQLite file
            Path(url).parent.mkdir(parents=True, exist_ok=True)
            url = f"sqlite:///{url}"
        connect_args = {"check_same_thread": False} if url.startswith("sqlite") else {}
        engine = create_engine(url, connect_args=connect_args, **options)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            # WAL + NORMAL: durable across restarts, without an fsync per request.
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=5000")
            cursor.close()

    return engine


class Store:
    """Tenant-keyed persistence. Every method takes `api` and `tenant` first (LocalStack-style)."""

    def __init__(self, url: str = "memory") -> None:
        self.url = url
        self.engine = _engine_for(url)
        # SQLite serialises writers anyway; one lock keeps the shared in-memory connection safe when
        # a test client or the webhook worker calls from another thread.
        self._lock = threading.RLock()
        metadata.create_all(self.engine)

    def close(self) -> None:
        self.engine.dispose()

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self._lock, self.engine.begin() as conn:
            yield conn

    # -- meta ---------------------------------------------------------------------------------
    def get_meta(self, key: str) -> Any:
        with self.transaction() as conn:
            return conn.execute(select(meta_table.c.value).where(meta_table.c.key == key)).scalar()

    def set_meta(self, key: str, value: Any) -> None:
        with self.transaction() as conn:
            conn.execute(delete(meta_table).where(meta_table.c.key == key))
            conn.execute(insert(meta_table).values(key=key, value=value))

    def claim_meta(self, key: str, value: Any) -> bool:
        """Insert `key` unless it exists; True when this call inserted it (a cross-process claim)."""
        try:
            with self.transaction() as conn:
                conn.execute(insert(meta_table).values(key=key, value=value))
            return True
        except IntegrityError:
            return False

    def put_tenant(self, tenant: TenantRecord) -> None:
        with self.transaction() as conn:
            conn.execute(
                delete(tenants_table).where(
                    and_(tenants_table.c.api == tenant.api, tenants_table.c.slug == tenant.slug)
                )
            )
            conn.execute(
                insert(tenants_table).values(
                    api=tenant.api,
                    slug=tenant.slug,
                    name=tenant.name,
                    plan=tenant.plan,
                    data=tenant.data,
                    created_at=tenant.created_at,
                )
            )

    def get_tenant(self, api: str, slug: str) -> TenantRecord | None:
        with self.transaction() as conn:
            row = conn.execute(
                select(tenants_table).where(and_(tenants_table.c.api == api, tenants_table.c.slug == slug))
            ).first()
        return TenantRecord(**row._asdict()) if row else None

    def list_tenants(self, api: str | None = None) -> list[TenantRecord]:
        query = select(tenants_table).order_by(tenants_table.c.api, tenants_table.c.created_at)
        if api is not None:
            query = query.where(tenants_table.c.api == api)
        with self.transaction() as conn:
            return [TenantRecord(**row._asdict()) for row in conn.execute(query)]

    # -- keys ---------------------------------------------------------------------------------
    def add_key(self, key: KeyRecord) -> None:
        with self.transaction() as conn:
            conn.execute(insert(keys_table).values(**_asdict(key)))

    def find_key(self, key_hash: str) -> KeyRecord | None:
        with self.transaction() as conn:
            row = conn.execute(_FIND_KEY, {"key_hash": key_hash}).first()
        return KeyRecord(**row._asdict()) if row else None

    def list_keys(self, api: str | None = None, tenant: str | None = None) -> list[KeyRecord]:
        query = select(keys_table).order_by(keys_table.c.api, keys_table.c.tenant, keys_table.c.created_at)
        if api is not None:
            query = query.where(keys_table.c.api == api)
        if tenant is not None:
            query = query.where(keys_table.c.tenant == tenant)
        with self.transaction() as conn:
            return [KeyRecord(**row._asdict()) for row in conn.execute(query)]

    def revoke_key(self, key_hash: str, at: str) -> bool:
        with self.transaction() as conn:
            result = conn.execute(
                update(keys_table)
                .where(and_(keys_table.c.key_hash == key_hash, keys_table.c.revoked_at.is_(None)))
                .values(revoked_at=at)
            )
        return result.rowcount > 0

    # -- records ------------------------------------------------------------------------------
    def collection(self, api: str, tenant: str, kind: str) -> Collection:
        return Collection(self, api, tenant, kind)

    def insert_records(
        self, api: str, tenant: str, kind: str, rows: Iterable[tuple[str, str, dict[str, Any]]]
    ) -> None:
        """Bulk insert of (id, created_at, data), in the order given (seeding)."""
        values = [
            {"api": api, "tenant": tenant, "kind": kind, "id": rid, "created_at": created, "data": data}
            for rid, created, data in rows
        ]
        if values:
            with self.transaction() as conn:
                conn.execute(insert(records_table), values)

    # -- idempotency --------------------------------------------------------------------------
    def idempotency_reserve(
        self, api: str, tenant: str, key: str, fingerprint: str, now: str, expires_at: str
    ) -> IdempotencyEntry | None:
        """Claim `key` for a request. Returns None when claimed, else the live entry that holds it.

        The primary key makes the claim atomic, so concurrent requests (even from several workers
        on one database) cannot both run the handler.
        """
        t = idempotency_table
        where = and_(t.c.api == api, t.c.tenant == tenant, t.c.key == key)
        with self.transaction() as conn:
            row = conn.execute(select(t).where(where)).first()
            if row is not None and row.expires_at > now:
                return IdempotencyEntry(
                    row.fingerprint, row.state, row.status, row.headers, row.body, row.expires_at
                )
            if row is not None:  # expired: the key is free again
                conn.execute(delete(t).where(where))
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(t).values(
                            api=api,
                            tenant=tenant,
                            key=key,
                            fingerprint=fingerprint,
                            state="pending",
                            created_at=now,
                            expires_at=expires_at,
                        )
                    )
            except IntegrityError:
                row = conn.execute(select(t).where(where)).first()
                assert row is not None
                return IdempotencyEntry(
                    row.fingerprint, row.state, row.status, row.headers, row.body, row.expires_at
                )
        return None

    def idempotency_complete(
        self, api: str, tenant: str, key: str, status: int, headers: dict[str, str], body: bytes
    ) -> None:
        t = idempotency_table
        with self.transaction() as conn:
            conn.execute(
                update(t)
                .where(and_(t.c.api == api, t.c.tenant == tenant, t.c.key == key))
                .values(state="done", status=status, headers=headers, body=body)
            )

    def idempotency_release(self, api: str, tenant: str, key: str) -> None:
        t = idempotency_table
        with self.transaction() as conn:
            conn.execute(delete(t).where(and_(t.c.api == api, t.c.tenant == tenant, t.c.key == key)))

    # -- jobs ---------------------------------------------------------------------------------
    def add_job(self, job: Job) -> None:
        with self.transaction() as conn:
            conn.execute(
                insert(jobs_table).values(
                    id=job.id, api=job.api, tenant=job.tenant, kind=job.kind, due_at=job.due_at,
                    payload=job.payload, state="pending",
                )
            )

    def claim_due_jobs(self, now: str, limit: int = 50) -> list[Job]:
        """Due jobs, each claimed (pending -> running) so that only one worker runs it."""
        t = jobs_table
        claimed = []
        with self.transaction() as conn:
            rows = conn.execute(
                select(t).where(and_(t.c.state == "pending", t.c.due_at <= now)).order_by(t.c.due_at).limit(limit)
            ).all()
            for row in rows:
                result = conn.execute(
                    update(t).where(and_(t.c.id == row.id, t.c.state == "pending")).values(state="running")
                )
                if result.rowcount:
                    claimed.append(Job(row.id, row.api, row.tenant, row.kind, row.due_at, row.payload))
        return claimed

    def finish_job(self, job_id: str) -> None:
        with self.transaction() as conn:
            conn.execute(delete(jobs_table).where(jobs_table.c.id == job_id))

    def requeue_running_jobs(self) -> int:
        """After a crash or restart, jobs left `running` are due again."""
        with self.transaction() as conn:
            return conn.execute(
                update(jobs_table).where(jobs_table.c.state == "running").values(state="pending")
            ).rowcount

    def pending_jobs(self, api: str | None = None) -> list[Job]:
        t = jobs_table
        query = select(t).order_by(t.c.due_at)
        if api is not None:
            query = query.where(t.c.api == api)
        with self.transaction() as conn:
            return [Job(r.id, r.api, r.tenant, r.kind, r.due_at, r.payload) for r in conn.execute(query)]

    # -- reset --------------------------------------------------------------------------------
    def wipe(self, api: str | None = None, tenant: str | None = None) -> None:
        """Delete everything of one API (or tenant), records, keys and tenant rows included."""
        with self.transaction() as conn:
            for table, tenant_col in (
                (records_table, records_table.c.tenant),
                (jobs_table, jobs_table.c.tenant),
                (keys_table, keys_table.c.tenant),
                (idempotency_table, idempotency_table.c.tenant),
                (tenants_table, tenants_table.c.slug),
            ):
                conditions = []
                if api is not None:
                    conditions.append(table.c.api == api)
                if tenant is not None:
                    conditions.append(tenant_col == tenant)
                conn.execute(delete(table).where(and_(true(), *conditions)))


def _asdict(record: Any) -> dict[str, Any]:
    return {name: getattr(record, name) for name in record.__slots__}


# Statements built once with bound parameters: building SQLAlchemy expressions per request cost more than
# running the query (measured with cProfile; `make bench`).
_t = records_table
# scope parameters are named s_*: update() reserves column names for its SET clause
_SCOPE = and_(_t.c.api == bindparam("s_api"), _t.c.tenant == bindparam("s_tenant"), _t.c.kind == bindparam("s_kind"))
_GET = select(_t.c.data).where(_SCOPE, _t.c.id == bindparam("rid"))
_INSERT = insert(_t)
_REPLACE = update(_t).where(_SCOPE, _t.c.id == bindparam("rid")).values(data=bindparam("new_data", type_=JSON))
_DELETE = delete(_t).where(_SCOPE, _t.c.id == bindparam("rid"))
_FIND_KEY = select(keys_table).where(keys_table.c.key_hash == bindparam("key_hash"))


def _column(field: str, sample: Any) -> Any:
    if field == "created_at":
        return _t.c.created_at
    if isinstance(sample, bool):
        return _t.c.data[field].as_boolean()
    if isinstance(sample, int):
        return _t.c.data[field].as_integer()
    if isinstance(sample, float):
        return _t.c.data[field].as_float()
    return _t.c.data[field].as_string()


def _clamp(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        # SQLite integers are 64-bit; a bigger bound means "no bound" on that side.
        return max(-(2**63), min(2**63 - 1, value))
    return value


@functools.lru_cache(maxsize=512)
def _filters(shape: tuple[tuple[str, str, type, int], ...]) -> tuple[Any, ...]:
    """The WHERE clauses for a filter shape: (field, op, value type, in-list size) -> bound parameters c0, c1…"""
    clauses = []
    for index, (field, op, kind, size) in enumerate(shape):
        column = _column(field, kind())
        name = f"c{index}"
        if op == "eq":
            clauses.append(column == bindparam(name))
        elif op == "ne":
            clauses.append(column != bindparam(name))
        elif op == "gte":
            clauses.append(column >= bindparam(name))
        elif op == "lte":
            clauses.append(column <= bindparam(name))
        elif op == "gt":
            clauses.append(column > bindparam(name))
        elif op == "lt":
            clauses.append(column < bindparam(name))
        elif op == "in":
            clauses.append(column.in_([bindparam(f"{name}_{i}") for i in range(size)]))
        elif op == "icontains":
            clauses.append(func.lower(column).like(bindparam(name), escape="\\"))
    return tuple(clauses)


def _shape_and_params(where: Sequence[Condition]) -> tuple[tuple[tuple[str, str, type, int], ...], dict[str, Any]]:
    shape: list[tuple[str, str, type, int]] = []
    params: dict[str, Any] = {}
    for index, cond in enumerate(where):
        value = _clamp(cond.value)
        name = f"c{index}"
        if cond.op == "in":
            values = list(value)
            shape.append((cond.field, cond.op, type(values[0]) if values else str, len(values)))
            params.update({f"{name}_{i}": _clamp(v) for i, v in enumerate(values)})
            continue
        if cond.op == "icontains":
            escaped = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            value = f"%{escaped.lower()}%"
        shape.append((cond.field, cond.op, type(value), 0))
        params[name] = value
    return tuple(shape), params


@functools.lru_cache(maxsize=512)
def _page_statement(shape: tuple[tuple[str, str, type, int], ...], after: bool) -> Any:
    clauses = [_SCOPE, *_filters(shape)]
    if after:
        clauses.append(_t.c.seq < bindparam("before_seq"))
    return select(_t.c.seq, _t.c.data).where(and_(*clauses)).order_by(_t.c.seq.desc()).limit(bindparam("lim"))


@functools.lru_cache(maxsize=512)
def _count_statement(shape: tuple[tuple[str, str, type, int], ...]) -> Any:
    return select(func.count()).select_from(_t).where(and_(_SCOPE, *_filters(shape)))


@functools.lru_cache(maxsize=512)
def _offset_statement(shape: tuple[tuple[str, str, type, int], ...]) -> Any:
    return (
        select(_t.c.data).where(and_(_SCOPE, *_filters(shape))).order_by(_t.c.seq.desc())
        .offset(bindparam("off")).limit(bindparam("lim"))
    )


@functools.lru_cache(maxsize=512)
def _all_statement(shape: tuple[tuple[str, str, type, int], ...]) -> Any:
    return select(_t.c.data).where(and_(_SCOPE, *_filters(shape))).order_by(_t.c.seq)


class Collection:
    """One kind of record of one tenant: the only way handlers and models reach stored records."""

    __slots__ = ("_key", "api", "kind", "store", "tenant")

    def __init__(self, store: Store, api: str, tenant: str, kind: str) -> None:
        self.store = store
        self.api = api
        self.tenant = tenant
        self.kind = kind
        self._key = {"s_api": api, "s_tenant": tenant, "s_kind": kind}

    def insert(self, record_id: str, created_at: str, data: dict[str, Any]) -> int:
        with self.store.transaction() as conn:
            result = conn.execute(
                _INSERT,
                {"api": self.api, "tenant": self.tenant, "kind": self.kind, "id": record_id, "created_at": created_at,
                 "data": data},
            )
            key = result.inserted_primary_key
            assert key is not None
            return int(key[0])

    def get(self, record_id: str) -> dict[str, Any] | None:
        with self.store.transaction() as conn:
            return conn.execute(_GET, {**self._key, "rid": record_id}).scalar()

    def replace(self, record_id: str, data: dict[str, Any]) -> bool:
        with self.store.transaction() as conn:
            result = conn.execute(_REPLACE, {**self._key, "rid": record_id, "new_data": data})
        return result.rowcount > 0

    def delete(self, record_id: str) -> bool:
        with self.store.transaction() as conn:
            result = conn.execute(_DELETE, {**self._key, "rid": record_id})
        return result.rowcount > 0

    def page(self, where: Sequence[Condition] = (), *, before_seq: int | None, limit: int) -> Page:
        """Newest first; `before_seq` continues after a previous page (cursor pagination)."""
        shape, params = _shape_and_params(where)
        params.update(self._key, lim=limit + 1)
        if before_seq is not None:
            params["before_seq"] = before_seq
        with self.store.transaction() as conn:
            rows = conn.execute(_page_statement(shape, before_seq is not None), params).all()
        more = len(rows) > limit
        rows = rows[:limit]
        return Page([row.data for row in rows], rows[-1].seq if more and rows else None)

    def offset_page(self, where: Sequence[Condition] = (), *, offset: int, limit: int) -> tuple[list[dict], int]:
        """Newest first, page/limit style: (items, total)."""
        shape, params = _shape_and_params(where)
        params.update(self._key)
        with self.store.transaction() as conn:
            total = conn.execute(_count_statement(shape), params).scalar_one()
            rows = conn.execute(_offset_statement(shape), {**params, "off": offset, "lim": limit}).scalars()
            return list(rows), int(total)

    def count(self, where: Sequence[Condition] = ()) -> int:
        shape, params = _shape_and_params(where)
        with self.store.transaction() as conn:
            return int(conn.execute(_count_statement(shape), {**params, **self._key}).scalar_one())

    def all(self, where: Sequence[Condition] = ()) -> list[dict[str, Any]]:
        shape, params = _shape_and_params(where)
        with self.store.transaction() as conn:
            return list(conn.execute(_all_statement(shape), {**params, **self._key}).scalars())
