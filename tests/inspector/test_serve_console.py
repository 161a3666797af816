"""`serve` prints one line per request by default (the reason on a 4xx), `--quiet` none, `--log-format
json` JSON lines; `lead-sandbox logs` reads a running sandbox's journal. Real processes."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from sandbox.contracts.sandbox_server import free_port

ADMIN = "hdr_test_marina_growth_admin_4f9c2a7b"


@contextmanager
def serving(*args: str) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--port", str(port), "--db", "memory", "--api", "hadar", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    banner = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        banner.append(line)
        if not line or line.startswith("ready on "):
            break
    assert banner[-1].startswith("ready on "), "".join(banner)
    assert any("/_sandbox/ui/" in line for line in banner)  # the inspector is announced
    try:
        yield f"http://127.0.0.1:{port}", process
    finally:
        process.terminate()
        process.wait(timeout=10)


def _requests(origin: str) -> str:
    """One refused and one good request; the trace id of the refused one."""
    refused = httpx.post(origin + "/v1/leads", json={"phone": "+971500000001"}, headers={"Authorization": f"Bearer {ADMIN}"})
    assert refused.status_code == 400
    ok = httpx.get(origin + "/v1/leads", params={"limit": 1}, headers={"Authorization": f"Bearer {ADMIN}"})
    assert ok.status_code == 200
    return refused.headers["x-trace-id"]


def _lines_until(process: subprocess.Popen[str], needle: str) -> list[str]:
    assert process.stdout is not None
    lines = []
    for _ in range(50):
        line = process.stdout.readline()
        lines.append(line)
        if needle in line or not line:
            break
    return lines


def test_serve_prints_a_line_per_request_with_the_reason():
    with serving() as (origin, process):
        trace_id = _requests(origin)
        lines = _lines_until(process, "/v1/leads?limit=1")
        refused = next(line for line in lines if trace_id in line)
        assert " POST " in refused and " /v1/leads 400 " in refused and "hadar/marina-homes" in refused
        assert "required" in refused  # why it was refused
        assert "\033[" not in refused  # not a terminal: no colour
        # `logs` reads the same journal over HTTP
        logs = subprocess.run(
            [sys.executable, "-m", "sandbox", "logs", "--base-url", origin, "--status", "4xx"],
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert logs.returncode == 0, logs.stderr
        assert logs.stdout.count("\n") == 1 and trace_id in logs.stdout


def test_serve_log_format_json():
    with serving("--log-format", "json") as (origin, process):
        trace_id = _requests(origin)
        lines = [json.loads(line) for line in _lines_until(process, "limit=1") if line.startswith("{")]
        refused = next(line for line in lines if line["trace_id"] == trace_id)
        assert refused["status"] == 400 and refused["violations"] and refused["tenant"] == "marina-homes"


def test_serve_quiet_prints_nothing_per_request():
    with serving("--quiet") as (origin, process):
        _requests(origin)
        time.sleep(0.5)  # past a journal flush
        process.terminate()
        rest, _ = process.communicate(timeout=10)
        assert "/v1/leads" not in rest


def test_logs_without_a_sandbox_is_one_line():
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "logs", "--base-url", f"http://127.0.0.1:{free_port()}"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "cannot reach" in result.stderr and "Traceback" not in result.stderr
