"""What the request journal keeps on disk: each request as received with its secrets masked (never a
credential in the file), turned into the readable entry only when read; rows of the older layout (the
entry itself) still read back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sandbox.core import journal as J
from sandbox.core.jsonio import dumps_document
from sandbox.core.store import Store

KEY = "hdr_test_marina_growth_admin_4f9c2a7b"
SECRET = "whsec_abcdefghijklmnop0123"


def _captured(n: int, **overrides: object) -> J.Captured:
    request_body = ('{"url": "https://example.com/hook", "signing_secret": "%s", "name": "Aisha"}' % SECRET).encode()
    response_body = b'{"data": {"id": "lead_1", "name": "Aisha", "budget_aed": 1800000}}'
    fields: dict[str, object] = dict(
        started=1_700_000_000 + n, duration_ms=1.234, api="hadar", tenant="marina-homes", method="POST",
        path="/hadar/v1/webhook_endpoints", query=b"limit=5&api_key=abcdefghijkl9999", status=201,
        trace_id=f"00000000-0000-0000-0000-{n:012d}", key_last4=KEY[-4:],
        request_headers=[(b"Host", b"127.0.0.1"), (b"Authorization", f"Bearer {KEY}".encode()),
                         (b"Content-Type", b"application/json"), (b"X-Multi", b"a"), (b"x-multi", b"b")],
        request_body=request_body, request_size=len(request_body),
        response_headers=[(b"content-type", b"application/json"), (b"x-trace-id", b"t")],
        response_body=response_body, response_size=len(response_body),
        violations=[{"field": "name", "message": "is required", "code": "validation_error"}],
    )
    fields.update(overrides)
    return J.Captured(**fields)  # type: ignore[arg-type]


def test_the_file_never_holds_a_credential_and_the_entry_reads_back_whole(tmp_path: Path) -> None:
    db = tmp_path / "journal.db"
    store = Store(str(db))
    journal = J.Journal(store)
    journal.record(_captured(1))
    assert journal.flush() == []  # no listener: no summary built
    raw = sqlite3.connect(db).execute("SELECT data FROM request_journal").fetchall()
    assert len(raw) == 1
    text = raw[0][0] if isinstance(raw[0][0], str) else raw[0][0].decode()
    assert KEY not in text and SECRET not in text and "abcdefghijkl9999" not in text
    [(_, entry)] = journal.query(tenant="marina-homes")
    assert entry == J.entry_of(_captured(1))  # what a reader gets is the readable entry
    assert entry["id"] == "req_" + "00000000000000000000000000000001"[:24]
    assert entry["at"] == "2023-11-14T22:13:21.000Z" and entry["duration_ms"] == 1.23
    assert entry["query"] == "limit=5&api_key=****9999"
    assert entry["request"]["headers"] == {
        "host": "127.0.0.1", "authorization": "Bearer ****" + KEY[-4:], "content-type": "application/json",
        "x-multi": "a, b",
    }
    assert entry["request"]["body"] == {"url": "https://example.com/hook", "signing_secret": "****0123", "name": "Aisha"}
    assert entry["response"]["body"] == {"data": {"id": "lead_1", "name": "Aisha", "budget_aed": 1800000}}
    assert entry["violations"] == [{"field": "name", "message": "is required", "code": "validation_error"}]
    assert list(entry) == ["id", "at", "api", "tenant", "method", "path", "query", "status", "duration_ms",
                           "trace_id", "key_last4", "request", "response", "violations"]
    store.close()


def test_a_long_or_non_json_body_reads_back_as_text_cut_where_it_was_cut() -> None:
    store = Store("memory")
    journal = J.Journal(store)
    long_body = b'{"x": "' + "é".encode() * 3000 + b'"}'
    journal.record(_captured(2, response_body=long_body[: J.BODY_LIMIT + 1], response_size=len(long_body),
                             request_headers=[(b"content-type", b"text/plain")], request_body=b"caf\xc3\xa9 \xff",
                             request_size=7))
    [(_, entry)] = journal.query()
    assert entry["response"]["body"].endswith(f"… [truncated: {len(long_body)} bytes]")
    assert entry["response"]["body"].startswith('{"x": "éé')
    assert entry["request"]["body"] == "café \ufffd"  # bytes that are not UTF-8 read as replacement characters
    store.close()


def test_listeners_get_summaries_and_rows_of_the_older_layout_still_read() -> None:
    store = Store("memory")
    journal = J.Journal(store)
    seen: list[dict] = []
    journal.listeners.append(seen.extend)
    journal.record(_captured(3))
    assert journal.flush() == seen
    assert seen[0]["status"] == 201 and seen[0]["path"] == "/hadar/v1/webhook_endpoints"
    assert "request" not in seen[0] and seen[0]["violations"][0]["field"] == "name"
    older = {"id": "req_old", "api": "hadar", "tenant": "marina-homes", "status": 200, "trace_id": "old",
             "request": {"headers": {}, "body": None}, "response": {"headers": {}, "body": None}, "violations": []}
    store.journal_append([("req_old", "hadar", "marina-homes", 200, "old", dumps_document(older))])
    assert journal.query(trace_id="old") == [(journal.query(trace_id="old")[0][0], older)]
    store.close()
