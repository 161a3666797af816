"""A real `lead-sandbox serve` in a subprocess, for tests that kill it (kill -9) or talk raw sockets to it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox.serving import free_port


class ServeProcess:
    def __init__(self, db: Path, *extra: str) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "LEAD_SANDBOX_WEBHOOK_HOSTS": "loopback", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", "--port", str(self.port), "--db", str(db),
             "--plan", "*=1000000", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
        )
        self.output: list[str] = []
        deadline = time.monotonic() + 120  # start-up on a busy 2-core machine; not a timed assertion
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("ready on "):
                return
            if time.monotonic() > deadline:
                break
        self.kill()
        raise AssertionError("serve did not come up:\n" + "".join(self.output))

    def kill(self) -> None:
        """kill -9: no shutdown handler, no flush, no commit of anything in flight."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


@contextmanager
def serve_process(db: Path, *extra: str) -> Iterator[ServeProcess]:
    server = ServeProcess(db, *extra)
    try:
        yield server
    finally:
        server.stop()
