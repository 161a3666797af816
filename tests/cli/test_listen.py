"""`lead-sandbox listen` as a user runs it: a real subprocess against a real sandbox, forwarding
signed events to a local app, and cleaning up its endpoint on SIGTERM."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from conftest import MARINA, MARINA_ADMIN, Receiver, bearer

from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.serving import serve_in_thread

REPO = Path(__file__).resolve().parents[2]


class Lines:
    """A subprocess's stdout, read line by line on a thread so waits can time out."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.seen: list[str] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        assert process.stdout is not None
        stream = process.stdout
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self._queue.put(line.rstrip("\n"))
        self._queue.put(None)

    def wait_for(self, predicate, timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no matching line; output so far:\n" + "\n".join(self.seen))
            try:
                line = self._queue.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError("the process ended; output:\n" + "\n".join(self.seen))
            self.seen.append(line)
            if predicate(line):
                return line


@pytest.fixture
def sandbox_origin() -> Iterator[str]:
    with running_sandbox(Config(db="memory")) as origin:
        yield origin


@pytest.fixture
def target() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve_in_thread(receiver, lifespan="off") as origin:
        receiver.url = origin + "/"
        yield receiver


def listen_endpoints(origin: str) -> list[dict]:
    response = httpx.get(origin + "/hadar/v1/webhooks", headers=bearer(MARINA_ADMIN), params={"limit": 100})
    assert response.status_code == 200, response.text
    return [e for e in response.json()["data"]["items"] if e["description"] == "lead-sandbox listen"]


def test_listen__forwards_verified_events_and_removes_its_endpoint_on_sigterm(sandbox_origin, target):
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "listen", "--base-url", sandbox_origin + "/hadar/v1",
         "--forward-to", target.url, "--events", "lead.created"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = Lines(process)
        ready = lines.wait_for(lambda line: line.startswith("Ready!"))
        secret = re.search(r"signing secret (whsec_[A-Za-z0-9]{32})", ready)
        assert secret, ready
        (endpoint,) = listen_endpoints(sandbox_origin)
        assert endpoint["events"] == ["lead.created"] and endpoint["id"] in ready

        response = httpx.post(sandbox_origin + "/_sandbox/events",
                              json={"api": "hadar", "tenant": MARINA, "type": "lead.created"})
        assert response.status_code == 201, response.text
        event = response.json()["data"]

        (forwarded,) = target.wait(1, timeout=10)
        assert json.loads(forwarded.body)["id"] == event["id"]
        assert forwarded.headers["x-hadar-event"] == "lead.created"
        t, v1 = (part.split("=", 1)[1] for part in forwarded.headers["x-hadar-signature"].split(","))
        expected = hmac.new(secret.group(1).encode(), f"{t}.".encode() + forwarded.body, hashlib.sha256).hexdigest()
        assert hmac.compare_digest(expected, v1)

        printed = lines.wait_for(lambda line: "lead.created" in line)
        assert "verified" in printed and "INVALID" not in printed
        assert forwarded.headers["x-hadar-delivery"] in printed
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            code = process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
            raise AssertionError("listen did not stop on SIGTERM") from None
    assert code == 0
    assert listen_endpoints(sandbox_origin) == []
