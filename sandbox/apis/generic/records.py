"""The record mechanics every API repeats, in one place: a record of a kind or this API's "not found",
a new record with its id and timestamps, a cursor page and an offset page of a filtered collection.

The generic behaviour (`models.py`) is made of these, and the five hand-written vendors use them too,
so a vendor's `models.py` holds only its business rules and its wire shapes (envelopes, field order,
which error a missing record is). Nothing here shapes a response: each caller still writes its own."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sandbox.core.pagination import decode_cursor, encode_cursor
from sandbox.core.store import Condition
from sandbox.core.workspace import Workspace

#: makes the "not found" error of a missing record: an API's `NotFound` subclass, or a partial of one
#: that names the request field (`partial(errors.LeadNotFound, field="lead_id")`)
Missing = Callable[[], Exception]
#: makes a new record's id from the moment it is created (`prefixed("lead")`, `uuid`)
NewId = Callable[[Workspace, datetime], Any]


# --- one record -----------------------------------------------------------------------------------
def get_or_raise(ws: Workspace, kind: str, record_id: str, missing: Missing,
                 belongs: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """The stored record, or `missing()` raised when there is none (or it `belongs` elsewhere: another
    endpoint's delivery, another owner's pet, an inbound message asked for as a sent one)."""
    record = ws.collection(kind).get(record_id)
    if record is None or (belongs is not None and not belongs(record)):
        raise missing()
    return record


def prefixed(prefix: str) -> NewId:
    """Ids `<prefix>_<ulid>` from the workspace's deterministic id source."""
    return lambda ws, moment: ws.ids.new(prefix, moment)


def uuid(ws: Workspace, moment: datetime) -> str:
    return ws.ids.uuid4()


def create(ws: Workspace, kind: str, new_id: NewId, fields: Mapping[str, Any] | Callable[[], Mapping[str, Any]],
           *, id_field: str = "id", stamps: Iterable[str] = ("created_at", "updated_at"),
           stored: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
           at: tuple[datetime, str] | None = None) -> dict[str, Any]:
    """Insert `{id, **fields, <each stamp>: now}` (in that order: it is the order on the wire) and return
    it. `fields` may be a function, called once the id is drawn: a rule in it that refuses the request
    has then used up the id, as the vendor's own order did (ids come from one seeded stream, so a
    later id depends on it). `stored`: what is kept when it differs from what is returned (a search
    field, a parent). `at`: the `ws.now()` to stamp with, when the caller needs the same moment."""
    moment, now = at or ws.now()
    record: dict[str, Any] = {id_field: new_id(ws, moment)}
    record.update(fields() if callable(fields) else fields)
    for stamp in stamps:
        record[stamp] = now
    ws.collection(kind).insert(str(record[id_field]), now, stored(record) if stored else record)
    return record


def transition(ws: Workspace, kind: str, record_id: str, from_status: str, to_status: str) -> dict[str, Any] | None:
    """Move a record `from_status` -> `to_status` and return it; None (nothing changed) when it is gone or
    has moved on (a timed job firing after the record was cancelled, or twice)."""
    collection = ws.collection(kind)
    record = collection.get(record_id)
    if record is None or record["status"] != from_status:
        return None
    record = {**record, "status": to_status}
    collection.replace(record_id, record)
    return record


# --- pages ----------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CursorPage:
    items: list[Any]
    #: the cursor of the next page; None on the last one
    next_cursor: str | None

    @property
    def has_more(self) -> bool:
        return self.next_cursor is not None


def cursor_page(ws: Workspace, kind: str, where: Sequence[Condition], cursor: str | None, limit: int, *,
                tag: str | None = None, field: str = "cursor", raw: bool = False) -> CursorPage:
    """One page newest first, continuing after `cursor`. The cursor is bound to this API, tenant and
    list (`tag`, the kind unless a nested list says which parent's): another list's is refused with a
    400 on `field`. It walks the records' seq index, so a page costs the same however many there are.
    `raw`: the items as stored JSON, for pages sent on unchanged (see `Collection.page`)."""
    tag = tag or kind
    before = decode_cursor(cursor, ws.api, ws.tenant, tag, field=field) if cursor else None
    result = ws.collection(kind).page(where, before_seq=before, limit=limit, raw=raw)
    following = encode_cursor(ws.api, ws.tenant, tag, result.next_seq) if result.next_seq is not None else None
    return CursorPage(result.items, following)


def offset_page(ws: Workspace, kind: str, where: Sequence[Condition], *, offset: int,
                limit: int) -> tuple[list[dict[str, Any]], int]:
    """(the `limit` records after the newest `offset`, how many match in all), read as one snapshot."""
    return ws.collection(kind).offset_page(where, offset=offset, limit=limit)


def numbered_page(ws: Workspace, kind: str, where: Sequence[Condition], *, page: int,
                  limit: int) -> tuple[list[dict[str, Any]], int]:
    """Page `page` (from 1) of `limit` records: (items, total)."""
    return offset_page(ws, kind, where, offset=(page - 1) * limit, limit=limit)


def equal_to(**filters: Any) -> list[Condition]:
    """An `eq` condition per filter the request gave (None: not asked for), in the order given."""
    return [Condition(name, "eq", value) for name, value in filters.items() if value is not None]
