"""The contract suite with its default settings against a real `serve` process, as a user points it at
`make serve` or at a rate-limited deployment: 401 before any rate limit, 429 never a failure (waited
out, with the budget and an estimate shown), an unreachable target in one line, Schemathesis' own
report formats on request."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from sandbox.cli import main
from sandbox.config import Config
from sandbox.contracts.hooks import rate_limit_note
from sandbox.contracts.sandbox_server import free_port, running_sandbox


def _serve(*args: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--port", str(port), "--db", "memory", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    deadline = time.monotonic() + 90
    for line in process.stdout:
        if line.startswith("ready on "):
            return process, f"http://127.0.0.1:{port}"
        if time.monotonic() > deadline:
            break
    process.kill()
    raise AssertionError("serve did not start")


@pytest.fixture
def rate_limited_serve() -> Iterator[str]:
    """A deployment with a small budget per short window, so the run meets 429s quickly."""
    process, origin = _serve("--api", "askad", "--plan", "*=15", "--rate-window", "2")
    try:
        yield origin
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_keyless_requests__answer_401_before_any_rate_limit() -> None:
    with running_sandbox(Config(db="memory", plans={"*": 2})) as origin:
        statuses = [httpx.get(origin + "/hadar/v1/leads").status_code for _ in range(6)]
        wrong_key = [httpx.get(origin + "/hadar/v1/leads", headers={"Authorization": "Bearer hdr_test_nope"}).status_code
                     for _ in range(3)]
        keyed = [httpx.get(origin + "/hadar/v1/leads", headers={"Authorization": "Bearer hdr_test_marina_growth_admin_4f9c2a7b"})
                 for _ in range(4)]
    assert statuses == [401] * 6 and wrong_key == [401] * 3
    assert [r.status_code for r in keyed][-1] == 429 and keyed[-1].headers["Retry-After"].isdigit()


def test_contract__rate_limited_deployment_passes_and_shows_the_waits(rate_limited_serve: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "contract", "--api", "askad", "--base-url", rate_limited_serve + "/api/v1",
         "--max-examples", "3", "--report", "har,vcr", "--report-dir", str(tmp_path / "reports"),
         "--junit-xml", str(tmp_path / "junit.xml")],
        capture_output=True, text=True, timeout=900, check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "rate limited on" in output and "requests left in this window" in output and "waiting" in output
    assert "Traceback" not in output
    assert (tmp_path / "junit.xml").is_file()
    written = {path.suffix for path in (tmp_path / "reports").iterdir()}
    assert {".har", ".yaml"} <= written or {".json", ".yaml"} <= written, written


def test_contract__unreachable_target_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract", "--api", "hadar", "--base-url", f"http://127.0.0.1:{free_port()}/v1"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nothing answers at" in err


def test_contract__unknown_report_format_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract", "--api", "hadar", "--report", "pdf"]) == 2
    assert "unknown report format pdf" in capsys.readouterr().err


def test_rate_limit_note__budget_wait_and_estimate() -> None:
    note = rate_limit_note("GET /leads", {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "0", "Retry-After": "42"},
                           sent=100, planned=400)
    assert note == ("lead-sandbox contract: rate limited on GET /leads: 0 of 60 requests left in this window; "
                    "waiting 42 s (Retry-After); 100 requests so far, up to 300 to go: about 5 min more at this budget")


def test_trace_id_check__a_replayed_error_keeps_the_first_trace_id_in_its_body(client: httpx.Client) -> None:
    """A stored 4xx replayed under its Idempotency-Key is the first response again (body trace_id of the request
    that ran) with this request's X-Trace-Id: the check accepts it, and still compares a fresh error's two."""
    from sandbox.contracts.hooks import vendor_trace_id

    body = {"lead_id": "lead_01KRH25A3SV10FE43RKWT01BD0", "scheduled_at": "2031-01-01T10:00:00Z"}
    first = client.post("/bookings", json=body, headers={"Idempotency-Key": "trace-replay-1"})
    again = client.post("/bookings", json=body, headers={"Idempotency-Key": "trace-replay-1"})
    assert first.status_code == again.status_code == 404
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["error"]["trace_id"] == first.json()["error"]["trace_id"] != again.headers["X-Trace-Id"]
    assert vendor_trace_id(None, first, None) is None
    assert vendor_trace_id(None, again, None) is None
    forged = httpx.Response(404, headers={"X-Trace-Id": "other"}, json=first.json())
    with pytest.raises(AssertionError, match="differs from header"):
        vendor_trace_id(None, forged, None)
