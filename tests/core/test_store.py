from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox.core.store import Condition, Store


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """The same tests on each engine: an SQLite file and a new PostgreSQL database."""
    opened = Store(db_url)
    yield opened
    opened.close()


def _fill(store: Store, tenant: str, n: int, kind: str = "leads") -> list[str]:
    col = store.collection("hadar", tenant, kind)
    ids = []
    for i in range(n):
        rid = f"{tenant}-{i:03d}"
        col.insert(
            rid,
            f"2026-01-01T00:00:{i % 60:02d}.000Z",
            {"id": rid, "n": i, "source": "bayut" if i % 2 else "web"},
        )
        ids.append(rid)
    return ids


def test_collection_is_isolated_per_tenant(store):
    a = store.collection("hadar", "tenant-a", "leads")
    b = store.collection("hadar", "tenant-b", "leads")
    a.insert("lead_1", "2026-01-01T00:00:00.000Z", {"id": "lead_1", "name": "A"})

    assert a.get("lead_1") == {"id": "lead_1", "name": "A"}
    assert b.get("lead_1") is None
    assert b.count() == 0
    assert b.all() == []
    assert b.replace("lead_1", {"id": "lead_1", "name": "hijack"}) is False
    assert b.delete("lead_1") is False
    assert a.get("lead_1") == {"id": "lead_1", "name": "A"}


def test_same_id_allowed_in_two_tenants(store):
    store.collection("hadar", "a", "leads").insert("x", "2026-01-01T00:00:00.000Z", {"who": "a"})
    store.collection("hadar", "b", "leads").insert("x", "2026-01-01T00:00:00.000Z", {"who": "b"})
    assert store.collection("hadar", "a", "leads").get("x") == {"who": "a"}
    assert store.collection("hadar", "b", "leads").get("x") == {"who": "b"}


def test_page_is_newest_first_and_continues_with_before_seq(store):
    ids = _fill(store, "t", 10)
    col = store.collection("hadar", "t", "leads")

    first = col.page(before_seq=None, limit=4)
    assert [r["id"] for r in first.items] == list(reversed(ids))[:4]
    assert first.next_seq is not None

    second = col.page(before_seq=first.next_seq, limit=4)
    assert [r["id"] for r in second.items] == list(reversed(ids))[4:8]

    last = col.page(before_seq=second.next_seq, limit=4)
    assert [r["id"] for r in last.items] == list(reversed(ids))[8:]
    assert last.next_seq is None


def test_page_exact_multiple_has_no_next(store):
    _fill(store, "t", 4)
    page = store.collection("hadar", "t", "leads").page(before_seq=None, limit=4)
    assert len(page.items) == 4
    assert page.next_seq is None


def test_page_is_stable_under_inserts(store):
    ids = _fill(store, "t", 10)
    col = store.collection("hadar", "t", "leads")
    first = col.page(before_seq=None, limit=3)
    for i in range(5):
        col.insert(f"new-{i}", "2026-02-01T00:00:00.000Z", {"id": f"new-{i}"})
    seen = [r["id"] for r in first.items]
    seq = first.next_seq
    while seq is not None:
        page = col.page(before_seq=seq, limit=3)
        seen += [r["id"] for r in page.items]
        seq = page.next_seq
    assert seen == list(reversed(ids))


def test_page_with_condition_filters(store):
    _fill(store, "t", 10)
    col = store.collection("hadar", "t", "leads")
    page = col.page([Condition("source", "eq", "bayut")], before_seq=None, limit=100)
    assert len(page.items) == 5
    assert all(r["source"] == "bayut" for r in page.items)
    assert col.count([Condition("n", "gte", 7)]) == 3


def test_offset_page_and_count(store):
    ids = _fill(store, "t", 10)
    _fill(store, "other", 3)
    col = store.collection("hadar", "t", "leads")
    items, total = col.offset_page(offset=4, limit=3)
    assert total == 10
    assert [r["id"] for r in items] == list(reversed(ids))[4:7]
    assert col.count() == 10
    assert store.collection("hadar", "other", "leads").count() == 3


T0, T1, T2 = "2026-01-01T00:00:00.000Z", "2026-01-01T01:00:00.000Z", "2026-01-02T00:00:00.000Z"


def _claim(store: Store, tenant: str, key: str, fp: str, now: str = T0, expires: str = T2):
    with store.transaction():
        return store.idempotency_claim("hadar", tenant, key, fp, now, expires)


def _claim_and_record(store: Store, key: str, fp: str, now: str = T0, expires: str = T2) -> None:
    with store.transaction():
        assert store.idempotency_claim("hadar", "t", key, fp, now, expires) is None
        store.idempotency_record("hadar", "t", key, 201, {"x-a": "1"}, b'{"ok":1}')


def test_idempotency_claim_then_record_then_get_returns_done_entry(store):
    _claim_and_record(store, "k", "fp")
    entry = store.idempotency_get("hadar", "t", "k", T1)
    assert entry is not None
    assert (entry.state, entry.status, entry.headers, entry.body) == ("done", 201, {"x-a": "1"}, b'{"ok":1}')
    # a later claim of the same key returns the stored entry instead of claiming it
    held = _claim(store, "t", "k", "fp", T1)
    assert held is not None and held.status == 201
    # another tenant may use the same key independently
    assert _claim(store, "t2", "k", "fp") is None


def test_idempotency_claim_rolled_back_leaves_nothing_behind(store):
    """A crash (or a 5xx) between claim and record commits nothing: the key is free for the retry."""
    with pytest.raises(RuntimeError), store.transaction():
        assert store.idempotency_claim("hadar", "t", "k", "fp", T0, T2) is None
        raise RuntimeError("killed")
    assert store.idempotency_get("hadar", "t", "k", T0) is None
    assert _claim(store, "t", "k", "fp") is None


def test_idempotency_pending_row_of_an_older_version_is_taken_over(store):
    store._run(
        'INSERT INTO idempotency_keys (api, tenant, "key", fingerprint, state, created_at, expires_at) '
        "VALUES ('hadar', 't', 'k', 'fp', 'pending', ?, ?)", (T0, T2)
    )
    assert store.idempotency_get("hadar", "t", "k", T1) is None
    assert _claim(store, "t", "k", "fp", T1) is None


def test_expired_idempotency_entry_is_reclaimable(store):
    _claim_and_record(store, "k", "old", T0, T2)
    # at expiry time the key is free again, even for another fingerprint
    assert store.idempotency_get("hadar", "t", "k", T2) is None
    assert _claim(store, "t", "k", "new", T2, "2026-01-03T00:00:00.000Z") is None


def test_nested_transaction_joins_the_outer_one(store):
    with pytest.raises(RuntimeError), store.transaction():
        store.next_count("n")  # opens its own transaction() inside
        raise RuntimeError("roll back both")
    assert store.get_meta("n") is None
    assert not store.in_transaction


def test_sqlite_file_persists_across_store_instances(tmp_path):
    _persists(str(tmp_path / "nested" / "state.db"))


def test_store_persists_across_store_instances_on_each_engine(db_url):
    _persists(db_url)


def _persists(path: str) -> None:
    first = Store(path)
    first.collection("hadar", "t", "leads").insert(
        "lead_1", "2026-01-01T00:00:00.000Z", {"id": "lead_1", "v": [1, 2]}
    )
    first.set_meta("seeded:hadar", {"seed": 7})
    first.close()

    second = Store(path)
    try:
        assert second.collection("hadar", "t", "leads").get("lead_1") == {"id": "lead_1", "v": [1, 2]}
        assert second.get_meta("seeded:hadar") == {"seed": 7}
    finally:
        second.close()


def test_json_beyond_64_bit_integers_is_stored_and_read_back():
    """Free-form fields (AskAd metadata) may carry integers orjson cannot encode: they must not be a 500."""
    store = Store("memory")
    leads = store.collection("askad", "t", "leads")
    leads.insert("x", "2026-01-01T00:00:00.000Z", {"id": "x", "metadata": {"big": 77501484496788406273}})
    stored = leads.get("x")
    assert stored is not None
    assert stored["metadata"]["big"] == pytest.approx(77501484496788406273)


def test_integers_beyond_64_bits_round_trip_exactly(db_url):
    store = Store(db_url)
    huge = {"id": "x", "metadata": {"n": 2**70 + 1, "m": -(2**65)}}
    store.collection("askad", "t", "contacts").insert("x", "2026-01-01T00:00:00.000Z", huge)
    store.close()
    again = Store(db_url)
    assert again.collection("askad", "t", "contacts").get("x") == huge
    again.close()


def test_sqlite_url_and_memory_are_accepted_other_databases_are_refused(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'u.db'}")
    store.set_meta("k", {"v": 1})
    store.close()
    assert (tmp_path / "u.db").exists()
    assert Store(str(tmp_path / "u.db")).get_meta("k") == {"v": 1}
    assert Store("memory").get_meta("k") is None
    with pytest.raises(ValueError, match="postgresql://"):
        Store("mysql://localhost/leads")


def test_failed_transaction_rolls_back_every_statement(store):
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute("INSERT INTO sandbox_meta (\"key\", value) VALUES ('a', '1')")
        raise RuntimeError("boom")
    assert store.get_meta("a") is None


# --- what N workers on one database share -------------------------------------------------------------
def _workers(db_url: str, n: int) -> list[Store]:
    """n stores on one database: each its own connection, as each worker process has."""
    return [Store(db_url) for _ in range(n)]


def _concurrently(calls):  # type: ignore[no-untyped-def]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(lambda call: call(), calls))


def test_schema_is_migrated_once_and_reopening_keeps_the_version(db_url):
    from sandbox.core.migrations import LATEST

    stores = _concurrently([lambda: Store(db_url) for _ in range(4)])
    assert {s.schema_version for s in stores} == {LATEST}
    assert stores[0]._rows("SELECT version FROM schema_version ORDER BY version") == [
        (v,) for v in range(1, LATEST + 1)
    ]
    for s in stores:
        s.close()


def test_one_idempotency_key_is_claimed_by_exactly_one_of_many_workers(db_url):
    """Each worker claims the key inside its own write transaction, writes a record and the response:
    one claims it, the others wait for its commit and get its entry; one record in all."""
    stores = _workers(db_url, 6)

    def attempt(s: Store):  # type: ignore[no-untyped-def]
        with s.transaction():
            held = s.idempotency_claim("hadar", "t", "same-key", "fp", T0, T2)
            if held is None:
                s.collection("hadar", "t", "leads").insert("lead_once", T0, {"id": "lead_once"})
                s.idempotency_record("hadar", "t", "same-key", 201, {}, b"{}")
            return held

    results = _concurrently([lambda s=s: attempt(s) for s in stores])
    assert sum(result is None for result in results) == 1
    assert all(r.state == "done" and r.status == 201 for r in results if r is not None)
    assert stores[0].collection("hadar", "t", "leads").count() == 1
    for s in stores:
        s.close()


def test_a_due_job_is_claimed_by_exactly_one_of_many_workers(db_url):
    from sandbox.core.store import Job

    stores = _workers(db_url, 4)
    for i in range(40):
        stores[0].add_job(Job(f"job_{i:02d}", "hadar", "t", "deliver", "2026-01-01T00:00:00.000Z", {"i": i}))
    claimed = _concurrently(
        [lambda s=s: s.claim_due_jobs("2026-01-01T00:00:01.000Z", 15, wall_now=1000.0) for s in stores]
    )
    ids = [job.id for batch in claimed for job in batch]
    assert sorted(ids) == [f"job_{i:02d}" for i in range(40)]  # each job once, none lost
    # claimed jobs are leased: nobody claims them again until the lease runs out...
    assert stores[1].claim_due_jobs("2026-01-02T00:00:00.000Z", 100, wall_now=1030.0) == []
    # ...then a dead worker's jobs go to another worker, and finished ones are gone
    stores[0].finish_job("job_00")
    again = stores[1].claim_due_jobs("2026-01-02T00:00:00.000Z", 100, wall_now=1061.0)
    assert len(again) == 39 and "job_00" not in {job.id for job in again}
    assert stores[2].release_jobs([job.id for job in again]) == 39
    assert len(stores[3].claim_due_jobs("2026-01-02T00:00:00.000Z", 100, wall_now=1062.0)) == 39
    for s in stores:
        s.close()


def test_due_jobs_follow_each_tenants_sandbox_time(store):
    from sandbox.core.store import Job

    store.add_job(Job("a", "hadar", "late", "deliver", "2026-01-01T10:00:00.000Z", {}))
    store.add_job(Job("b", "hadar", "early", "deliver", "2026-01-01T10:00:00.000Z", {}))
    assert store.claim_due_jobs("2026-01-01T09:00:00.000Z", exclude=[("hadar", "early")], wall_now=1.0) == []
    got = store.claim_due_jobs("2026-01-01T11:00:00.000Z", tenant=("hadar", "early"), wall_now=1.0)
    assert [job.id for job in got] == ["b"]


def test_faults_are_counted_down_once_across_workers(db_url):
    stores = _workers(db_url, 4)
    stores[0].add_fault("hadar", "createLead", 503, 3, 0)
    taken = _concurrently([lambda s=s: s.take_fault("hadar", "createLead") for s in stores] * 2)
    assert sum(fault is not None for fault in taken) == 3
    assert stores[1].list_faults() == []
    assert stores[2].take_fault("hadar", "createLead") is None
    for s in stores:
        s.close()


def test_rate_windows_count_every_workers_hits_in_one_row(db_url):
    stores = _workers(db_url, 3)
    hits = _concurrently([lambda s=s: s.hit_window("k", 100.0, 60) for s in stores] * 4)
    assert sorted(count for count, _ in hits) == list(range(1, 13))
    assert {ends for _, ends in hits} == {160.0}
    assert stores[0].hit_window("k", 160.5, 60) == (1, 220.5)  # the next window starts at its first hit
    for s in stores:
        s.close()


def test_rate_windows_count_blocks_claimed_at_once_by_every_worker(db_url):
    """Blocks (a load-test budget's leases): each claim adds its count in one statement, on each engine."""
    stores = _workers(db_url, 3)
    tops = _concurrently([lambda s=s: s.hit_window("b", 100.0, 60, 5) for s in stores] * 2)
    assert sorted(top for top, _ in tops) == [5, 10, 15, 20, 25, 30]
    assert stores[1].hit_window("b", 161.0, 60, 7) == (7, 221.0)  # a new window starts with the whole block
    for s in stores:
        s.close()


def test_clocks_per_tenant_fall_back_to_the_clock_of_every_tenant(store):
    from sandbox.core.store import ALL_TENANTS, ClockState

    assert store.clock_state("hadar", "a") == ClockState()
    store.set_clock_states({ALL_TENANTS: ClockState(1000), ("hadar", "a"): ClockState(5000, "2030-01-01T00:00:00.000Z")})
    assert store.clock_state("hadar", "a") == ClockState(5000, "2030-01-01T00:00:00.000Z")
    assert store.clock_state("hadar", "b") == ClockState(1000)
    store.wipe("hadar", "a")
    assert store.clock_state("hadar", "a") == ClockState(1000)


def test_each_worker_start_takes_its_own_id_stream(db_url):
    """Workers starting together on one database never share an id stream (so ids never collide)."""
    stores = _workers(db_url, 4)
    counts = _concurrently([lambda s=s: s.next_count("id_stream") for s in stores] * 2)
    assert sorted(counts) == list(range(8))
    for s in stores:
        s.close()


def test_postgresql_connection_is_opened_again_after_the_server_dropped_it(postgres_url):
    """A PostgreSQL restart or failover fails the call in flight, not every later one."""
    import psycopg

    from tests.backends import POSTGRES_ADMIN_URL

    store = Store(postgres_url)
    store.set_meta("k", {"v": 1})
    pid = store._one("SELECT pg_backend_pid()")[0]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):
        store.ping()
    assert store.get_meta("k") == {"v": 1}
    store.close()


def test_by_id_statements_keep_kinds_apart_while_partial_indexes_exist(store):
    """By-id lookups write the kind out (SQLite re-plans a bound `kind = ?` on every run next to the
    `WHERE kind = '…'` partial indexes); each kind still only ever sees its own records."""
    store.ensure_index("conversations", "lead_id")
    store.ensure_index("messages", "lead_id")
    for kind in ("leads", "conversations", "messages"):
        store.collection("hadar", "t", kind).insert("same-id", "2026-01-01T00:00:00.000Z", {"kind": kind, "lead_id": "l1"})
    leads, conversations, messages = (store.collection("hadar", "t", kind) for kind in ("leads", "conversations", "messages"))

    assert conversations.get("same-id") == {"kind": "conversations", "lead_id": "l1"}
    assert conversations.replace("same-id", {"kind": "conversations", "lead_id": "l2"}) is True
    assert messages.delete("same-id") is True and messages.get("same-id") is None
    assert leads.get("same-id") == {"kind": "leads", "lead_id": "l1"}
    assert conversations.get("same-id") == {"kind": "conversations", "lead_id": "l2"}
    assert [c.count() for c in (leads, conversations, messages)] == [1, 1, 0]


def test_a_kind_that_is_not_a_name_is_refused_before_any_sql(store):
    with pytest.raises(ValueError, match="not a kind"):
        store.collection("hadar", "t", "leads' OR '1'='1")


def test_a_kind_may_start_with_a_digit(store):
    """A scaffolded API's `/3d-models` collection is kind `3d_models`: reads, pages and deletes work on it."""
    models = store.collection("generic", "t", "3d_models")
    models.insert("m1", "2026-01-01T00:00:00.000Z", {"id": "m1"})
    assert models.get("m1") == {"id": "m1"}
    assert [r["id"] for r in models.page(before_seq=None, limit=5).items] == ["m1"]
    assert models.delete("m1") is True and models.count() == 0
