"""One line per request: the console log of `serve` and `lead-sandbox logs` (tail of a running sandbox)."""

from __future__ import annotations

import io
import json

import httpx
from conftest import MARINA

from sandbox.console import ConsoleLog, json_line, text_line
from sandbox.logs import LogsError, tail

ENTRY = {
    "at": "2026-06-01T09:00:01.234Z", "method": "POST", "path": "/hadar/v1/leads", "query": "", "status": 400,
    "duration_ms": 3.21, "api": "hadar", "tenant": MARINA, "trace_id": "t-1", "key_last4": "2a7b",
    "violations": [{"field": "name", "message": "name is required"}, {"field": "phone", "message": "not a phone number"}],
    "request": {"headers": {}, "body": None}, "response": {"headers": {}, "body": None},
}


def test_text_line_says_what_and_why():
    line = text_line(ENTRY)
    assert line == (
        "09:00:01.234 POST   /hadar/v1/leads 400 3.2ms hadar/marina-homes t-1 "
        "name is required; phone: not a phone number"
    )
    assert "\033[" not in line
    ok = text_line({**ENTRY, "status": 201, "query": "limit=5"})
    assert "?limit=5 201" in ok and "required" not in ok  # no reason on success


def test_colour_only_on_a_terminal():
    assert "\033[33m400" in text_line(ENTRY, color=True)
    stream = io.StringIO()  # not a TTY
    ConsoleLog("text", stream)([ENTRY])
    assert "\033[" not in stream.getvalue() and stream.getvalue().count("\n") == 1


def test_json_lines_carry_the_summary_and_violations():
    record = json.loads(json_line(ENTRY))
    assert record["status"] == 400 and record["trace_id"] == "t-1" and len(record["violations"]) == 2
    assert "request" not in record  # bodies stay in the journal


def test_logs_prints_the_journal_filtered(server, client):
    client.post("/leads", json={"phone": "+971500000001"})  # 400
    client.get("/leads", params={"limit": 1})  # 200
    out = io.StringIO()
    assert tail(server, status="4xx", stream=out) == 0
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and " 400 " in lines[0] and "hadar/marina-homes" in lines[0] and "required" in lines[0]


def test_logs_follow_prints_new_requests_once(server, client):
    client.get("/leads", params={"limit": 1})
    out = io.StringIO()
    rounds = iter([True, False])

    def more() -> bool:
        client.get("/leads/lead_nope")  # arrives between two polls
        return next(rounds)

    tail(server, api="hadar", follow=True, stream=out, poll_seconds=0, keep_going=more)
    lines = out.getvalue().splitlines()
    assert [" 200 " in lines[0], " 404 " in lines[1]] == [True, True] and len(lines) == 2


def test_logs_follow_starts_with_the_newest_limit_and_never_prints_older_history(server, client):
    for number in range(5):
        client.get("/leads", params={"limit": number + 1})
    out = io.StringIO()
    rounds = iter([True, True, False])

    def more() -> bool:
        client.get("/leads/lead_nope")  # one new request between two polls
        return next(rounds)

    tail(server, api="hadar", follow=True, limit=2, stream=out, poll_seconds=0, keep_going=more)
    lines = out.getvalue().splitlines()
    assert ["limit=4" in lines[0], "limit=5" in lines[1]] == [True, True]  # the newest two, oldest first
    assert len(lines) == 4 and all(" 404 " in line for line in lines[2:])  # then only the new ones


def test_logs_json_format(server, client):
    client.get("/leads", params={"limit": 1})
    out = io.StringIO()
    tail(server, log_format="json", stream=out)
    assert json.loads(out.getvalue().splitlines()[-1])["path"] == "/hadar/v1/leads"


def test_logs_says_in_one_line_what_went_wrong(server):
    try:
        tail(server, status="bad")
    except LogsError as exc:
        assert "400" in str(exc) and "\n" not in str(exc)
    else:
        raise AssertionError("expected LogsError")
    try:
        tail("http://127.0.0.1:9")
    except LogsError as exc:
        assert "cannot reach" in str(exc)
    else:
        raise AssertionError("expected LogsError")


def test_console_listener_prints_served_requests(runtime, server):
    out = io.StringIO()
    runtime.journal.listeners.append(ConsoleLog("text", out))
    httpx.post(server + "/hadar/v1/leads", json={}, headers={"Authorization": "Bearer nope"})
    runtime.journal.flush()
    assert " 401 " in out.getvalue()
