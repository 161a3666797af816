"""`make soak`: a bounded mixed load on all five APIs against a real `serve` on loopback, per minute.

One `serve` (every API, an SQLite file, rate limits evaluated with budgets that admit the load, webhooks to
a receiver on loopback) gets a steady mix from CONCURRENCY clients: Hadar lists, reads and idempotent
creates (each a new key, so idempotency entries pile up), WhatsApp sends, Hadar CRM lists with totals and
creates, Leaditio lists and account stats, AskAd inbound leads (de-duplicated against a growing set of
contacts) and contact lists, HREF intakes. Every minute it prints throughput, p99 latency, errors, the
server's RSS and the database size; at the end the last-minute / first-minute throughput ratio.

A benchmark, not a test: it prints figures and never fails a build. `SOAK_SECONDS` (default 300) bounds it.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
SECONDS = int(os.environ.get("SOAK_SECONDS", "300"))
CONCURRENCY = int(os.environ.get("SOAK_CONCURRENCY", "8"))
WINDOW = int(os.environ.get("SOAK_WINDOW", "60"))  # seconds per printed row

HADAR = {"Authorization": "Bearer hdr_test_marina_enterprise_admin_e07b3d58"}
CRM = {"X-API-Key": "ak_test_alnoor_enterprise_admin_a41f9b36"}
LEADITIO = {"Authorization": "Bearer ldt_test_sunvolt_pro_9f31c0a7"}
ASKAD = {"Authorization": "Bearer ask_test_brightpath_admin_5e2a9c71"}
HREF = {"X-API-Key": "hcrm_acme_7Yq2Lm9Xv4Tb8Rw1"}
LEAD = "lead_01KRJV45S57BN5D4ZZ7BAZ2E1Y"
TEMPLATE = {"template": "viewing_confirmation_en",
            "variables": {"agent_name": "Sara", "property_name": "Marina Vista 2BR", "viewing_time": "Sat 11:00"}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def db_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 1024 / 1024


class Receiver:
    """A tiny webhook receiver on loopback (asyncio streams): answers 200 to every POST."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received = 0

    async def start(self) -> asyncio.AbstractServer:
        return await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                await reader.readexactly(length)
                self.received += 1
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError, asyncio.CancelledError):
            writer.close()


def operations(rng: random.Random, counter: list[int]) -> list[tuple[int, str, str, dict, object]]:
    """(weight, method, path, headers, body or a body factory) for the mix."""
    def n() -> int:
        counter[0] += 1
        return counter[0]

    return [
        (6, "GET", "/hadar/v1/leads?limit=25", HADAR, None),
        (6, "GET", f"/hadar/v1/leads/{LEAD}", HADAR, None),
        (4, "POST", "/hadar/v1/leads", HADAR,
         lambda: {"name": f"Soak Lead {n()}", "phone": f"+9715{rng.randrange(10**7, 10**8)}", "source": "bayut"}),
        (1, "POST", "/hadar/v1/whatsapp/messages", HADAR, lambda: {"lead_id": LEAD, **TEMPLATE}),
        (3, "GET", "/hadar-crm/api/v1/leads?page=1&limit=10", CRM, None),
        (2, "POST", "/hadar-crm/api/v1/leads", CRM,
         lambda: {"full_name": f"Soak Crm {n()}", "phone": f"+9715{rng.randrange(10**7, 10**8)}"}),
        (3, "GET", "/leaditio/api/v1/leads?page=1&limit=25", LEADITIO, None),
        (1, "GET", "/leaditio/api/v1/account/stats", LEADITIO, None),
        # a growing contact book: a third of the e-mails come back (de-duplication hits), the rest are new
        (4, "POST", "/askad/api/v1/leads/inbound", ASKAD,
         lambda: {"email": f"soak{rng.randrange(n() // 3 + 1) if rng.random() < 0.33 else n()}@example.com",
                  "first_name": "Soak", "source": "hubspot"}),
        (2, "GET", "/askad/api/v1/contacts?page=1&limit=25", ASKAD, None),
        (3, "POST", "/href/acme/api/leads/intake", HREF,
         lambda: {"name": f"Soak Intake {n()}", "email": f"intake{n()}@example.com", "practice_area": "divorce",
                  "consent": True}),
    ]


async def client_loop(http: httpx.AsyncClient, ops: list, deadline: float, samples: list, errors: list,
                      rng: random.Random) -> None:
    weights = [op[0] for op in ops]
    while time.monotonic() < deadline:
        _, method, path, headers, body = rng.choices(ops, weights)[0]
        payload = body() if callable(body) else body
        extra = {"Idempotency-Key": f"soak-{rng.getrandbits(64):x}"} if method == "POST" and path.startswith("/hadar/") else {}
        started = time.monotonic()
        try:
            response = await http.request(method, path, headers={**headers, **extra}, json=payload)
            status = response.status_code
        except httpx.HTTPError:
            status = 599
        samples.append((started, time.monotonic() - started))
        if status >= 500 or status in (429,):
            errors.append((started, status, path))


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000 if ordered else 0.0


async def main() -> int:
    workdir = Path(tempfile.mkdtemp(prefix="lead-sandbox-soak-"))
    db = workdir / "soak.db"
    port = free_port()
    receiver = Receiver()
    receiver_server = await receiver.start()
    env = {**os.environ, "LEAD_SANDBOX_WEBHOOK_HOSTS": "loopback"}
    server = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--port", str(port), "--db", str(db), "--plan", "*=10000000",
         "--quiet"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=30,
                                     limits=httpx.Limits(max_connections=CONCURRENCY * 2)) as http:
            for _ in range(1200):
                try:
                    if (await http.get("/_sandbox/clock")).status_code == 200:
                        break
                except httpx.HTTPError:
                    if server.poll() is not None:
                        raise SystemExit(f"serve exited: {server.stderr.read() if server.stderr else ''}") from None
                    await asyncio.sleep(0.1)
            else:
                raise SystemExit("serve did not come up within 120 s")
            for path, headers, body in (
                ("/hadar/v1/webhooks", HADAR, {"url": f"http://127.0.0.1:{receiver.port}/hadar", "events": ["lead.created"]}),
                ("/_sandbox/webhooks", {}, {"api": "askad", "tenant": "brightpath-marketing",
                                            "url": f"http://127.0.0.1:{receiver.port}/askad", "events": ["*"]}),
            ):
                registered = await http.post(path, headers=headers, json=body)
                assert registered.status_code == 201, registered.text
            print(f"soak: {SECONDS} s, {CONCURRENCY} clients, all five APIs, serve pid {server.pid}, db {db}")
            print(f"{'minute' if WINDOW == 60 else f'{WINDOW}s':>6} {'req/s':>8} {'p99 ms':>8} {'errors':>7} {'RSS MB':>7} {'db MB':>7} {'webhooks':>9}")
            samples: list[tuple[float, float]] = []
            errors: list[tuple[float, int, str]] = []
            counter = [0]
            start = time.monotonic()
            deadline = start + SECONDS
            tasks = [asyncio.create_task(client_loop(http, operations(random.Random(i), counter), deadline, samples,
                                                     errors, random.Random(1000 + i)))
                     for i in range(CONCURRENCY)]
            rows = []
            peak_rss = 0.0
            for window in range(1, (SECONDS + WINDOW - 1) // WINDOW + 1):
                await asyncio.sleep(max(0.0, start + window * WINDOW - time.monotonic()))
                lo, hi = start + (window - 1) * WINDOW, start + window * WINDOW
                durations = [d for t, d in samples if lo <= t < hi]
                span = min(hi, time.monotonic()) - lo
                rate = len(durations) / span if span > 0 else 0.0
                rss = rss_mb(server.pid)
                peak_rss = max(peak_rss, rss)
                errs = sum(1 for t, _, _ in errors if lo <= t < hi)
                rows.append(rate)
                print(f"{window:>6} {rate:>8.0f} {p99(durations):>8.1f} {errs:>7} {rss:>7.1f} {db_mb(db):>7.1f} "
                      f"{receiver.received:>9}", flush=True)
            await asyncio.gather(*tasks)
            if len(rows) >= 2 and rows[0]:
                print(f"last/first minute throughput: {rows[-1] / rows[0]:.2f}; peak RSS {peak_rss:.1f} MB; "
                      f"{len(samples)} requests, {len(errors)} errors (5xx/429)")
            for _, status, path in errors[:5]:
                print(f"  error {status} {path}")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        receiver_server.close()
        for path in workdir.glob("*"):
            path.unlink()
        workdir.rmdir()
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
