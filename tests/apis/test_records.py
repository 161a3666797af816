"""The record mechanics the generic behaviour and the five vendors share (`sandbox.apis.generic.records`),
on a real SQLite store in memory: which error a missing record raises, a new record's field order and
what is kept aside, cursors bound to their list, and page/limit totals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial

import pytest

from sandbox.apis.generic import records
from sandbox.core.clock import Clock
from sandbox.core.errors import NotFound, ValidationFailed
from sandbox.core.ids import IdFactory
from sandbox.core.store import Condition, Store
from sandbox.core.workspace import Workspace


class ThingNotFound(NotFound):
    code = "thing_not_found"


@pytest.fixture
def store() -> Iterator[Store]:
    store = Store("memory")
    yield store
    store.close()


def _ws(store: Store, tenant: str = "acme") -> Workspace:
    clock = Clock(lambda: datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    return Workspace(store, "things", tenant, clock, IdFactory(7))


def test_create_puts_the_id_first_and_the_stamps_last_and_keeps_aside_what_is_stored_only(store: Store) -> None:
    ws = _ws(store)
    made = records.create(ws, "things", records.prefixed("thg"), {"name": "a", "size": 2},
                          stored=lambda record: {**record, "search": "a"})
    assert list(made) == ["id", "name", "size", "created_at", "updated_at"]
    assert made["id"].startswith("thg_") and made["created_at"] == made["updated_at"] == "2026-01-02T03:04:05.000Z"
    kept = ws.collection("things").get(made["id"])
    assert kept is not None and list(kept) == [*made, "search"]
    only_created = records.create(ws, "things", records.uuid, {"name": "b"}, stamps=("created_at",))
    assert list(only_created) == ["id", "name", "created_at"] and len(only_created["id"]) == 36


def test_create_draws_the_id_before_lazy_fields_so_a_refused_request_still_uses_it_up(store: Store) -> None:
    def refuse() -> dict[str, str]:
        raise ValidationFailed("no")

    other = Store("memory")
    ws, same_seed = _ws(store), _ws(other)
    with pytest.raises(ValidationFailed):
        records.create(ws, "things", records.prefixed("thg"), refuse)
    assert ws.collection("things").count() == 0
    after_refusal = records.create(ws, "things", records.prefixed("thg"), {})["id"]
    records.create(same_seed, "things", records.prefixed("thg"), {})
    assert after_refusal == records.create(same_seed, "things", records.prefixed("thg"), {})["id"]
    other.close()


def test_get_or_raise_raises_the_callers_error_for_a_missing_or_foreign_record(store: Store) -> None:
    ws = _ws(store)
    made = records.create(ws, "things", records.prefixed("thg"), {"owner": "o1"})
    assert records.get_or_raise(ws, "things", made["id"], ThingNotFound) == made
    with pytest.raises(ThingNotFound) as missing:
        records.get_or_raise(ws, "things", "thg_nope", partial(ThingNotFound, field="thing_id"))
    assert missing.value.field == "thing_id"
    with pytest.raises(ThingNotFound):
        records.get_or_raise(ws, "things", made["id"], ThingNotFound, belongs=lambda r: r["owner"] == "o2")
    with pytest.raises(ThingNotFound):  # another tenant's record is not there at all
        records.get_or_raise(_ws(store, "globex"), "things", made["id"], ThingNotFound)


def test_cursor_pages_walk_newest_first_and_refuse_another_lists_cursor(store: Store) -> None:
    ws = _ws(store)
    made = [records.create(ws, "things", records.prefixed("thg"), {"n": n, "even": n % 2 == 0}) for n in range(5)]
    first = records.cursor_page(ws, "things", [], None, 2)
    assert [item["n"] for item in first.items] == [4, 3] and first.has_more
    second = records.cursor_page(ws, "things", [], first.next_cursor, 2)
    last = records.cursor_page(ws, "things", [], second.next_cursor, 2)
    assert [item["n"] for item in second.items + last.items] == [2, 1, 0]
    assert last.next_cursor is None and not last.has_more
    evens = records.cursor_page(ws, "things", records.equal_to(even=True, missing=None), None, 10)
    assert [item["n"] for item in evens.items] == [4, 2, 0] and len(made) == 5
    with pytest.raises(ValidationFailed, match="after belongs to another list"):
        records.cursor_page(ws, "things", [], first.next_cursor, 2, tag="things:o1", field="after")
    with pytest.raises(ValidationFailed, match="another list or workspace"):
        records.cursor_page(_ws(store, "globex"), "things", [], first.next_cursor, 2)


def test_numbered_and_offset_pages_count_what_matches(store: Store) -> None:
    ws = _ws(store)
    for n in range(5):
        records.create(ws, "things", records.prefixed("thg"), {"n": n})
    items, total = records.numbered_page(ws, "things", [], page=2, limit=2)
    assert [item["n"] for item in items] == [2, 1] and total == 5
    items, total = records.offset_page(ws, "things", [Condition("n", "gte", 3)], offset=1, limit=5)
    assert [item["n"] for item in items] == [3] and total == 2


def test_transition_moves_only_a_record_still_in_the_first_status(store: Store) -> None:
    ws = _ws(store)
    made = records.create(ws, "things", records.prefixed("thg"), {"status": "scheduled"})
    moved = records.transition(ws, "things", made["id"], "scheduled", "completed")
    assert moved == {**made, "status": "completed"} == ws.collection("things").get(made["id"])
    assert records.transition(ws, "things", made["id"], "scheduled", "completed") is None  # twice: no change
    assert records.transition(ws, "things", "thg_gone", "scheduled", "completed") is None
