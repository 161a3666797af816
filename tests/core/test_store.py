from __future__ import annotations

import pytest

from sandbox.core.store import Condition, Store


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


def test_collection_is_isolated_per_tenant():
    store = Store("memory")
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


def test_same_id_allowed_in_two_tenants():
    store = Store("memory")
    store.collection("hadar", "a", "leads").insert("x", "2026-01-01T00:00:00.000Z", {"who": "a"})
    store.collection("hadar", "b", "leads").insert("x", "2026-01-01T00:00:00.000Z", {"who": "b"})
    assert store.collection("hadar", "a", "leads").get("x") == {"who": "a"}
    assert store.collection("hadar", "b", "leads").get("x") == {"who": "b"}


def test_page_is_newest_first_and_continues_with_before_seq():
    store = Store("memory")
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


def test_page_exact_multiple_has_no_next():
    store = Store("memory")
    _fill(store, "t", 4)
    page = store.collection("hadar", "t", "leads").page(before_seq=None, limit=4)
    assert len(page.items) == 4
    assert page.next_seq is None


def test_page_is_stable_under_inserts():
    store = Store("memory")
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


def test_page_with_condition_filters():
    store = Store("memory")
    _fill(store, "t", 10)
    col = store.collection("hadar", "t", "leads")
    page = col.page([Condition("source", "eq", "bayut")], before_seq=None, limit=100)
    assert len(page.items) == 5
    assert all(r["source"] == "bayut" for r in page.items)
    assert col.count([Condition("n", "gte", 7)]) == 3


def test_offset_page_and_count():
    store = Store("memory")
    ids = _fill(store, "t", 10)
    _fill(store, "other", 3)
    col = store.collection("hadar", "t", "leads")
    items, total = col.offset_page(offset=4, limit=3)
    assert total == 10
    assert [r["id"] for r in items] == list(reversed(ids))[4:7]
    assert col.count() == 10
    assert store.collection("hadar", "other", "leads").count() == 3


def test_idempotency_reserve_returns_none_then_pending_entry():
    store = Store("memory")
    now, later = "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"
    assert store.idempotency_reserve("hadar", "t", "k1", "fp1", now, later) is None

    held = store.idempotency_reserve("hadar", "t", "k1", "fp1", now, later)
    assert held is not None
    assert held.state == "pending"
    assert held.fingerprint == "fp1"
    assert held.status is None

    # another tenant may use the same key independently
    assert store.idempotency_reserve("hadar", "t2", "k1", "fp1", now, later) is None


def test_idempotency_complete_then_get_returns_done_entry():
    store = Store("memory")
    store.idempotency_reserve("hadar", "t", "k", "fp", "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z")
    store.idempotency_complete("hadar", "t", "k", 201, {"x-a": "1"}, b'{"ok":1}')
    # A later claim of the same key returns the stored entry instead of claiming it.
    entry = store.idempotency_reserve("hadar", "t", "k", "fp", "2026-01-01T01:00:00.000Z", "2026-01-02T01:00:00.000Z")
    assert entry is not None
    assert (entry.state, entry.status, entry.headers, entry.body) == ("done", 201, {"x-a": "1"}, b'{"ok":1}')


def test_expired_idempotency_entry_is_reclaimable():
    store = Store("memory")
    store.idempotency_reserve(
        "hadar", "t", "k", "old", "2026-01-01T00:00:00.000Z", "2026-01-02T00:00:00.000Z"
    )
    # at expiry time the key is free again, even for another fingerprint
    assert (
        store.idempotency_reserve(
            "hadar", "t", "k", "new", "2026-01-02T00:00:00.000Z", "2026-01-03T00:00:00.000Z"
        )
        is None
    )
    entry = store.idempotency_reserve("hadar", "t", "k", "other", "2026-01-02T12:00:00.000Z", "2026-01-03T12:00:00.000Z")
    assert entry is not None and entry.fingerprint == "new"


def test_sqlite_file_persists_across_store_instances(tmp_path):
    path = str(tmp_path / "nested" / "state.db")
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


def test_integers_beyond_64_bits_round_trip_exactly(tmp_path):
    store = Store(str(tmp_path / "big.db"))
    huge = {"id": "x", "metadata": {"n": 2**70 + 1, "m": -(2**65)}}
    store.collection("askad", "t", "contacts").insert("x", "2026-01-01T00:00:00.000Z", huge)
    store.close()
    assert Store(str(tmp_path / "big.db")).collection("askad", "t", "contacts").get("x") == huge


def test_sqlite_url_and_memory_are_accepted_other_databases_are_refused(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'u.db'}")
    store.set_meta("k", {"v": 1})
    store.close()
    assert (tmp_path / "u.db").exists()
    assert Store(str(tmp_path / "u.db")).get_meta("k") == {"v": 1}
    assert Store("memory").get_meta("k") is None
    with pytest.raises(ValueError, match="SQLite"):
        Store("postgresql://localhost/leads")


def test_failed_transaction_rolls_back_every_statement():
    store = Store("memory")
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute("INSERT INTO sandbox_meta (\"key\", value) VALUES ('a', '1')")
        raise RuntimeError("boom")
    assert store.get_meta("a") is None
