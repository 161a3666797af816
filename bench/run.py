"""`make bench`: the sandbox against Stoplight Prism on openapi/hadar.yaml, same machine, interleaved rounds.

HTTP, like for like: the full sandbox (`serve --api hadar` on an SQLite file: auth, validation, storage, rate
limits evaluated on every request with a budget that admits the load (`--plan '*=…'`), idempotency (every POST
carries a new Idempotency-Key), webhooks (POST create runs twice: with nobody subscribed, and with an endpoint
subscribed to `lead.created` at a loopback receiver, where a run ends when every delivery arrived and that CPU
counts), the request journal as `serve` keeps it) against `prism mock` (static examples), in two pairs run in
one interleaved loop: both quiet (Prism `-v silent`, sandbox `--quiet`) and both logging each request (Prism's
default `info`, the sandbox's default console log), each writing to its own file. Per endpoint: req/s, p50/p99,
CPU milliseconds per request (psutil over the server's process tree), medians over the rounds, checked against
the targets (>= 2x Prism's throughput, <= 0.5x its CPU per request) in the printout; start-up and peak RSS per
server. Then the sandbox alone with `--workers 1` and `--workers 2` on SQLite and on PostgreSQL (each when this
checkout's `serve` supports it). wrk runs on the same cores; its CPU and everyone else's is printed beside each
run. Then start-up with every API, seeding speed, cursor-page latency at 1k vs 1M leads, and the contract-suite
duration per API. Loopback only; every run is bounded in time.

Measurements, never assertions: nothing here fails a build.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parent.parent
PRISM = ROOT / "bench" / ".cache" / "node_modules" / ".bin" / "prism"
SPEC = ROOT / "openapi" / "hadar.yaml"
KEY = "hdr_test_marina_enterprise_admin_e07b3d58"
LEAD = "lead_01KRH25A3SV10FE43RKWT01BD9"  # a seeded lead (seed 42), also the spec's example id
CORES = psutil.cpu_count() or 1
TARGET_RATIO, TARGET_CPU = 2.0, 0.5  # issue 18: >= 2x Prism's req/s, <= 0.5x its CPU ms per request


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def clean_env() -> dict[str, str]:
    """The environment without any LEAD_SANDBOX_* setting of the caller's (a LEAD_SANDBOX_QUIET would make the
    logging run quiet), webhooks to loopback only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEAD_SANDBOX_")}
    env["LEAD_SANDBOX_WEBHOOK_HOSTS"] = "loopback"
    return env


def serve_help() -> str:
    """`serve --help` of this checkout: which options (--quiet, --workers, …) it has."""
    done = subprocess.run([sys.executable, "-m", "sandbox", "serve", "--help"], capture_output=True, text=True,
                          timeout=60, env=clean_env(), check=False, cwd=tempfile.gettempdir())
    return done.stdout + done.stderr


@dataclass
class Target:
    name: str
    command: list[str]
    base: str
    port: int
    log: Path
    kind: str = "sandbox"  # or "prism"
    workers: int = 1
    #: On PostgreSQL, the server processes serving this database work for the sandbox: their CPU counts too.
    pg_database: str | None = None
    process: subprocess.Popen[bytes] | None = None
    startup: float = 0.0
    results: dict[str, list[dict[str, float]]] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{self.base}{path}"

    def start(self) -> None:
        """Start and wait for the first 200; RuntimeError with the last line it printed if it ends first."""
        started = time.perf_counter()
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT, cwd=self.log.parent,
                                            env=clean_env())
        deadline = started + 180  # a loaded machine: Prism took 40 s to start
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                lines = self.log.read_text(errors="replace").strip().splitlines() or ["(nothing printed)"]
                raise RuntimeError(f"exit {self.process.returncode}: {lines[-1][:160]}")
            try:
                if httpx.get(self.url("/leads?limit=1"), headers={"Authorization": f"Bearer {KEY}"}, timeout=1).status_code == 200:
                    self.startup = time.perf_counter() - started
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.02)
        self.stop()
        raise RuntimeError("did not answer within 180 s")

    def subscribe(self, receiver: Receiver) -> str:
        """An endpoint subscribed to lead.created, so every create queues a delivery; returns its id."""
        answer = httpx.post(self.url("/webhooks"), headers={"Authorization": f"Bearer {KEY}"}, timeout=10,
                            json={"url": receiver.url, "events": ["lead.created"], "description": "bench"})
        if answer.status_code != 201:
            raise RuntimeError(f"registering the webhook endpoint answered {answer.status_code}: {answer.text[:160]}")
        return str(answer.json()["data"]["id"])

    def unsubscribe(self, endpoint_id: str) -> None:
        httpx.delete(self.url(f"/webhooks/{endpoint_id}"), headers={"Authorization": f"Bearer {KEY}"}, timeout=10)

    def processes(self) -> list[psutil.Process]:
        assert self.process is not None
        parent = psutil.Process(self.process.pid)
        return [parent, *parent.children(recursive=True)]

    def cpu_seconds(self) -> float:
        return tree_cpu(self.processes() + (postgres_backends(self.pg_database) if self.pg_database else []))

    def peak_rss_mb(self) -> tuple[float, float]:
        """(largest process, whole tree) peak RSS in MB."""
        peaks = [peak_rss(proc) for proc in self.processes()]
        return max(peaks, default=0.0), sum(peaks)

    def log_lines(self) -> int:
        with self.log.open("rb") as handle:
            return sum(1 for _ in handle)

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            procs = self.processes()
        except psutil.NoSuchProcess:
            procs = []
        for proc in reversed(procs):
            try:
                proc.terminate()
            except psutil.NoSuchProcess:
                pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            for proc in procs:
                try:
                    proc.kill()
                except psutil.NoSuchProcess:
                    pass
            self.process.wait(timeout=10)
        self.process = None


def tree_cpu(procs: list[psutil.Process]) -> float:
    total = 0.0
    for proc in procs:
        try:
            times = proc.cpu_times()
            total += times.user + times.system
        except psutil.NoSuchProcess:
            pass
    return total


def postgres_backends(database: str) -> list[psutil.Process]:
    done = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atqc",
                           f"SELECT pid FROM pg_stat_activity WHERE datname = '{database}'"],
                          capture_output=True, text=True, timeout=30, check=False)
    procs = []
    for pid in done.stdout.split():
        try:
            procs.append(psutil.Process(int(pid)))
        except (psutil.NoSuchProcess, ValueError):
            pass
    return procs


def peak_rss(proc: psutil.Process) -> float:
    try:
        status = Path(f"/proc/{proc.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        return int(match.group(1)) / 1024 if match else proc.memory_info().rss / 1024 / 1024
    except (psutil.NoSuchProcess, FileNotFoundError):
        return 0.0


class Receiver:
    """bench/receiver.py in its own process: 200 to every webhook delivery, counted."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.process = subprocess.Popen([sys.executable, str(ROOT / "bench" / "receiver.py"), str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=(folder / "receiver.log").open("wb"))
        deadline = time.monotonic() + 20
        while True:
            try:
                self.count()
                return
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError("the webhook receiver did not start") from None
                time.sleep(0.05)

    def count(self) -> int:
        return int(httpx.get(f"http://127.0.0.1:{self.port}/count", timeout=2).text)

    def cpu_seconds(self) -> float:
        return tree_cpu([psutil.Process(self.process.pid)])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def wrk(url: str, seconds: int, connections: int, script: Path | None = None) -> dict[str, float]:
    command = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-H", f"Authorization: Bearer {KEY}"]
    if script is not None:
        command += ["-s", str(script)]
    command.append(url)
    if script is not None:
        command += ["--", uuid.uuid4().hex[:12]]  # new Idempotency-Keys on every run
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    output = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 30, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]

    def percentile(label: str) -> float:
        match = re.search(rf"\s{label}%\s+([\d.]+)(us|ms|s)", output)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    wrk_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"rps": rps, "requests": total, "p50": percentile("50"), "p99": percentile("99"),
            "non2xx": float(errors.group(1)) if errors else 0.0, "wrk_cpu_s": wrk_cpu,
            "socket_errors": 1.0 if socket_errors else 0.0}


def busy_seconds() -> float:
    """CPU seconds the whole machine spent busy (every core)."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


POST_SCRIPT = ROOT / "bench" / "post_lead.lua"
WEBHOOK = "POST + webhook"
# label: (path, wrk script). WEBHOOK is POST create with an endpoint subscribed to lead.created (the sandbox
# only; its ratio is taken against Prism's POST create): the run ends when every delivery arrived.
ENDPOINTS = {
    "GET list of 25": ("/leads?limit=25", None),
    "GET one": (f"/leads/{LEAD}", None),
    "POST create": ("/leads", POST_SCRIPT),
    WEBHOOK: ("/leads", POST_SCRIPT),
}


def measure(target: Target, label: str, seconds: int, connections: int, receiver: Receiver) -> None:
    """One wrk run against one target."""
    path, script = ENDPOINTS[label]
    if label == WEBHOOK and target.kind != "sandbox":
        return
    endpoint = target.subscribe(receiver) if label == WEBHOOK else None
    before, busy_before = target.cpu_seconds(), busy_seconds()
    receiver_before = receiver.cpu_seconds()
    delivered_before = receiver.count()
    began = time.monotonic()
    result = wrk(target.url(path), seconds, connections, script)
    ended = time.monotonic()
    if endpoint is not None:
        expected = result["requests"] - result["non2xx"]
        deadline = ended + 60
        while receiver.count() - delivered_before < expected and time.monotonic() < deadline:
            time.sleep(0.05)
        result["drain_s"] = time.monotonic() - ended
        result["delivered"] = receiver.count() - delivered_before
    spent = target.cpu_seconds() - before
    result["cpu_ms"] = spent * 1000 / max(1, result["requests"])
    own = spent + result["wrk_cpu_s"] + receiver.cpu_seconds() - receiver_before
    wall = time.monotonic() - began
    result["wrk_pct"] = 100 * result["wrk_cpu_s"] / (wall * CORES)
    result["others_pct"] = max(0.0, 100 * (busy_seconds() - busy_before - own) / (wall * CORES))
    target.results.setdefault(label, []).append(result)
    if endpoint is not None:
        target.unsubscribe(endpoint)


def medians(runs: list[dict[str, float]]) -> dict[str, float]:
    keys = {k for run in runs for k in run}
    return {k: statistics.median(run[k] for run in runs if k in run) for k in keys}


def start_all(targets: list[Target]) -> list[Target]:
    """Start each target; one that cannot start is reported and left out."""
    running = []
    for target in targets:
        try:
            target.start()
            running.append(target)
        except RuntimeError as exc:
            target.stop()
            print(f"  skipped {target.name}: {exc}")
    return running


def run_rounds(targets: list[Target], labels: list[str], rounds: int, seconds: int, connections: int,
               receiver: Receiver) -> None:
    for _ in range(rounds):
        for label in labels:
            for target in targets:  # interleaved: each round runs every target on every endpoint
                measure(target, label, seconds, connections, receiver)


def sandbox_command(port: int, db: str, *, quiet: bool, workers: int, help_text: str, redis: str | None = None) -> list[str]:
    command = [sys.executable, "-m", "sandbox", "serve", "--api", "hadar", "--port", str(port), "--db", db,
               "--plan", "*=1000000000"]
    if quiet and "--quiet" in help_text:
        command.append("--quiet")
    if workers != 1:
        command += ["--workers", str(workers)]
    if redis:
        command += ["--redis", redis]
    return command


def prism_command(port: int, level: str) -> list[str]:
    return [str(PRISM), "mock", str(SPEC), "-h", "127.0.0.1", "-p", str(port), "-v", level]


def pairs_bench(rounds: int, seconds: int, connections: int, help_text: str, prism_quiet: str) -> list[str]:
    """Both like-for-like pairs in one interleaved run; returns the README table rows."""
    folder = Path(tempfile.mkdtemp(prefix="lead-sandbox-bench-"))
    receiver = Receiver(folder)
    has_quiet = "--quiet" in help_text
    targets = []
    for mode in ("quiet", "logging"):
        port = free_port()
        targets.append(Target(f"sandbox {mode}", sandbox_command(port, str(folder / f"{mode}.db"), quiet=mode == "quiet",
                                                                  workers=1, help_text=help_text),
                              "/v1", port, folder / f"sandbox-{mode}.log"))
        port = free_port()
        targets.append(Target(f"prism {mode}", prism_command(port, prism_quiet if mode == "quiet" else "info"), "", port,
                              folder / f"prism-{mode}.log", kind="prism"))
    print(f"\nHTTP like for like: wrk -t2 -c{connections}, {seconds} s x {rounds} interleaved rounds, medians; "
          f"{CORES} cores shared by wrk, the servers and the webhook receiver")
    print(f"  quiet: sandbox --quiet, Prism -v {prism_quiet}; logging: the sandbox's console log, Prism -v info")
    if not has_quiet:
        print("  (this checkout's `serve` has no --quiet: it logs nothing per request, so both sandbox runs are quiet)")
    rows: list[str] = []
    try:
        running = start_all(targets)
        run_rounds(running, list(ENDPOINTS), rounds, seconds, connections, receiver)
        by_name = {t.name: t for t in running}
        print(f"\n{'endpoint':<15} {'target':<16} {'req/s':>7} {'p50 ms':>7} {'p99 ms':>7} {'CPU ms/req':>10} "
              f"{'non-2xx':>7} {'wrk %':>6} {'others %':>8}")
        for mode in ("quiet", "logging"):
            sandbox, prism = by_name.get(f"sandbox {mode}"), by_name.get(f"prism {mode}")
            if sandbox is None or prism is None:
                continue
            for label in ENDPOINTS:
                s, p = medians(sandbox.results[label]), medians(prism.results["POST create" if label == WEBHOOK else label])
                for target, m in ((sandbox, s), (prism, p)):
                    if target is prism and label == WEBHOOK:
                        continue  # the same Prism figures as POST create
                    print(f"{label:<15} {target.name:<16} {m['rps']:>7.0f} {m['p50']:>7.2f} {m['p99']:>7.2f} "
                          f"{m['cpu_ms']:>10.3f} {m['non2xx']:>7.0f} {m['wrk_pct']:>6.0f} {m['others_pct']:>8.0f}")
                ratio, cpu_ratio = s["rps"] / p["rps"], s["cpu_ms"] / p["cpu_ms"]
                verdict = ("meets" if ratio >= TARGET_RATIO and cpu_ratio <= TARGET_CPU else "MISSES")
                print(f"{'':<15} {'-> ' + mode:<16} {ratio:>6.2f}x req/s, {cpu_ratio:.2f}x CPU ms/req: {verdict} the target "
                      f"(>= {TARGET_RATIO:.0f}x req/s, <= {TARGET_CPU}x CPU)")
                if label == WEBHOOK:
                    print(f"{'':<15} {'':<16} webhooks: {s['delivered']:.0f} delivered per run, the last "
                          f"{s['drain_s']:.1f} s after the load ended (that CPU is in the sandbox's figure); "
                          f"compared with Prism's POST create")
                rows.append(f"| {label} | {mode} | {s['rps']:.0f} | {p['rps']:.0f} | {ratio:.2f}x | "
                            f"{s['p50']:.0f} / {s['p99']:.0f} | {p['p50']:.0f} / {p['p99']:.0f} | "
                            f"{s['cpu_ms']:.2f} / {p['cpu_ms']:.2f} ({cpu_ratio:.2f}x) |")
        print()
        for target in running:
            largest, tree = target.peak_rss_mb()
            print(f"{target.name:<16} start-up to first 200: {target.startup:.2f} s; peak RSS {largest:.0f} MB "
                  f"(all processes {tree:.0f} MB); {target.log_lines()} log lines written")
    finally:
        for target in targets:
            target.stop()
        receiver.stop()
        shutil.rmtree(folder, ignore_errors=True)
    return rows


def against_bench(rounds: int, seconds: int, connections: int, other: Path) -> None:
    """This checkout's sandbox against another checkout's (`--against DIR`, with its own `.venv`), both quiet,
    in one interleaved run: what a change did to throughput and CPU per request, like for like."""
    python = other / ".venv" / "bin" / "python"
    if not python.exists():
        print(f"\nagainst: skipped, {python} does not exist (run `make .venv/.installed-stamp` in {other})")
        return
    folder = Path(tempfile.mkdtemp(prefix="lead-sandbox-against-"))
    receiver = Receiver(folder)
    targets = []
    for name, interpreter in (("this checkout", Path(sys.executable)), (f"{other.name}", python)):
        port = free_port()
        command = sandbox_command(port, str(folder / f"{len(targets)}.db"), quiet=True, workers=1, help_text="--quiet")
        command[0] = str(interpreter)
        targets.append(Target(name, command, "/v1", port, folder / f"sandbox-{len(targets)}.log"))
    print(f"\nagainst {other}: both sandboxes quiet, wrk -t2 -c{connections}, {seconds} s x {rounds} interleaved rounds")
    try:
        running = start_all(targets)
        run_rounds(running, list(ENDPOINTS), rounds, seconds, connections, receiver)
        if len(running) < 2:
            return
        here, there = running
        print(f"\n{'endpoint':<15} {'req/s here':>10} {'req/s there':>11} {'ratio':>6} {'CPU ms here':>11} "
              f"{'CPU ms there':>12} {'ratio':>6} {'p99 here':>8} {'p99 there':>9}")
        for label in ENDPOINTS:
            a, b = medians(here.results[label]), medians(there.results[label])
            print(f"{label:<15} {a['rps']:>10.0f} {b['rps']:>11.0f} {a['rps'] / b['rps']:>5.2f}x {a['cpu_ms']:>11.3f} "
                  f"{b['cpu_ms']:>12.3f} {a['cpu_ms'] / b['cpu_ms']:>5.2f}x {a['p99']:>8.1f} {b['p99']:>9.1f}")
        for target in running:
            largest, _ = target.peak_rss_mb()
            print(f"{target.name:<16} start-up to first 200: {target.startup:.2f} s; peak RSS {largest:.0f} MB")
    finally:
        for target in targets:
            target.stop()
        receiver.stop()
        shutil.rmtree(folder, ignore_errors=True)


def create_postgres_db() -> str | None:
    """A new database on the local PostgreSQL (psql), or None when there is none."""
    name = f"ls_bench_{uuid.uuid4().hex[:10]}"
    done = subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atqc", f"CREATE DATABASE {name}"],
                          capture_output=True, text=True, timeout=30, check=False) if shutil.which("psql") else None
    return name if done is not None and done.returncode == 0 else None


def drop_postgres_db(name: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-Atqc", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"],
                   capture_output=True, timeout=60, check=False)


def workers_bench(rounds: int, seconds: int, connections: int, help_text: str, redis: str | None) -> list[str]:
    """The sandbox alone (quiet, no webhook subscriber) with 1 and 2 workers, on SQLite and on PostgreSQL, interleaved."""
    folder = Path(tempfile.mkdtemp(prefix="lead-sandbox-workers-"))
    print(f"\nworkers: the sandbox (quiet) with 1 and 2 workers, wrk -t2 -c{connections}, {seconds} s x {rounds} "
          f"interleaved rounds, medians. wrk runs on the same {CORES} cores as the workers, so a second worker "
          f"competes with wrk for them: read the gain as a lower bound. On PostgreSQL, CPU ms/req includes the "
          f"PostgreSQL server processes serving the sandbox (they run on the same cores)")
    has_workers = "--workers" in help_text
    if not has_workers:
        print("  --workers 2: skipped, this checkout's `serve` has no --workers (issue 14, the team helper's work)")
    pg_names: list[str] = []
    receiver = Receiver(folder)
    targets = []
    for db_label in ("SQLite", "PostgreSQL"):
        for n in (1, 2) if has_workers else (1,):
            if db_label == "SQLite":
                db = str(folder / f"workers-{n}.db")
            else:  # a database of its own for each configuration, dropped afterwards
                pg = create_postgres_db()
                if pg is None:
                    print("  PostgreSQL: skipped, no PostgreSQL answering on 127.0.0.1:5432 (or no psql)")
                    break
                pg_names.append(pg)
                db = f"postgresql://postgres@127.0.0.1:5432/{pg}"
            port, name = free_port(), f"{db_label} w{n}"
            targets.append(Target(name, sandbox_command(port, db, quiet=True, workers=n, help_text=help_text,
                                                        redis=redis if db_label == "PostgreSQL" else None),
                                  "/v1", port, folder / f"{name.replace(' ', '-')}.log", workers=n,
                                  pg_database=pg_names[-1] if db_label == "PostgreSQL" else None))
    rows: list[str] = []
    try:
        running = start_all(targets)
        labels = [label for label in ENDPOINTS if label != WEBHOOK]
        run_rounds(running, labels, rounds, seconds, connections, receiver)
        print(f"\n{'endpoint':<15} {'target':<14} {'req/s':>7} {'vs w1':>6} {'p50 ms':>7} {'p99 ms':>7} "
              f"{'CPU ms/req':>10} {'non-2xx':>7} {'wrk %':>6} {'others %':>8}")
        by_name = {t.name: t for t in running}
        for label in labels:
            for target in running:
                m = medians(target.results[label])
                base = by_name.get(target.name[:-1] + "1")
                gain = m["rps"] / medians(base.results[label])["rps"] if base else float("nan")
                print(f"{label:<15} {target.name:<14} {m['rps']:>7.0f} {gain:>5.2f}x {m['p50']:>7.2f} {m['p99']:>7.2f} "
                      f"{m['cpu_ms']:>10.3f} {m['non2xx']:>7.0f} {m['wrk_pct']:>6.0f} {m['others_pct']:>8.0f}")
                rows.append(f"| {label} | {target.name} | {m['rps']:.0f} | {gain:.2f}x | {m['p50']:.0f} / {m['p99']:.0f} | "
                            f"{m['cpu_ms']:.2f} |")
        print()
        for target in running:
            largest, tree = target.peak_rss_mb()
            print(f"{target.name:<14} start-up to first 200: {target.startup:.2f} s; peak RSS {largest:.0f} MB per "
                  f"process at most (all {len(target.processes())} processes {tree:.0f} MB)")
    finally:
        for target in targets:
            target.stop()
        receiver.stop()
        for name in pg_names:
            drop_postgres_db(name)
        shutil.rmtree(folder, ignore_errors=True)
    return rows


# Work done off the request path, with everything it calls (its store writes too): a sample with one of
# these frames anywhere belongs to it.
BACKGROUND = [
    ("request journal, console log", ("sandbox/core/journal.py", "sandbox/console.py")),
    ("webhook delivery", ("sandbox/worker.py", "sandbox/core/webhooks.py", "httpx/", "httpcore/")),
]
# Otherwise the first rule matching a frame, from the innermost frame outwards.
LAYERS = [
    ("store (sqlite3)", ("sandbox/core/store.py",)),
    ("JSON (orjson, jsonio)", ("sandbox/core/jsonio.py", "orjson")),
    ("rate limits (limits)", ("sandbox/core/ratelimit.py", "limits/")),
    ("auth", ("sandbox/core/auth.py", "sandbox/core/keys.py")),
    ("idempotency", ("sandbox/core/idempotency.py",)),
    ("handlers, models, events", ("sandbox/apis/", "sandbox/runtime.py")),
    ("validation", ("jsonschema", "referencing/", "connexion/validators", "_ValidateOnce")),
    ("Connexion parameters, decorators", ("connexion/decorators",)),
    ("Connexion, Starlette middleware", ("connexion/", "starlette/")),
    ("sandbox ASGI middleware", ("sandbox/http/",)),
    ("uvicorn, httptools", ("uvicorn/",)),
    ("asyncio event loop", ("asyncio/",)),
]


def summarize_profile(raw: Path, top: int) -> None:
    """py-spy's raw output (`frame;frame;… count`) by layer, and the functions with the most own samples.
    Threads asleep in a timed wait (timers) are left out: py-spy does not always see them as idle."""
    layers: dict[str, int] = {}
    own: dict[str, int] = {}
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        if frames[-1].startswith(("Condition.wait", "Event.wait")):
            continue
        total += int(count)
        layer = next((name for name, keys in BACKGROUND if any(k in frame for frame in frames for k in keys)), None)
        layer = layer or next((name for frame in reversed(frames) for name, keys in LAYERS
                               if any(k in frame for k in keys)), "other")
        layers[layer] = layers.get(layer, 0) + int(count)
        leaf = re.sub(r" \((?:.*/)?(?:site-packages/)?([^()]*?):\d+\)$", r" (\1)", frames[-1])
        own[leaf] = own.get(leaf, 0) + int(count)
    if not total:
        print("    no samples")
        return
    print("    by layer: " + ", ".join(f"{name} {100 * n / total:.0f}%" for name, n in
                                       sorted(layers.items(), key=lambda item: -item[1]) if 100 * n / total >= 1))
    print("    own time: " + ", ".join(f"{name} {100 * n / total:.1f}%" for name, n in
                                       sorted(own.items(), key=lambda item: -item[1])[:top]))


def profile_bench(seconds: int, connections: int, help_text: str) -> None:
    """py-spy on the sandbox (quiet, the full stack) under wrk, one endpoint at a time; raw files are kept."""
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(pyspy).exists():
        print("\nprofile: skipped, py-spy is not installed (pip install -e '.[bench]')")
        return
    folder = Path(tempfile.mkdtemp(prefix="lead-sandbox-profile-"))
    kept = ROOT / "reports" / "profile"
    kept.mkdir(parents=True, exist_ok=True)
    receiver = Receiver(folder)
    port = free_port()
    target = Target("sandbox", sandbox_command(port, str(folder / "profile.db"), quiet=True, workers=1,
                                               help_text=help_text), "/v1", port, folder / "sandbox.log")
    print(f"\nprofile: py-spy (200 Hz) on the sandbox under wrk -t2 -c{connections}, {seconds} s per endpoint; "
          f"raw stacks in {kept.relative_to(ROOT)}/")
    try:
        target.start()
        assert target.process is not None
        for label, (path, script) in ENDPOINTS.items():
            raw = kept / f"{re.sub(r'[^a-z0-9]+', '-', label.lower()).strip('-')}.txt"
            endpoint = target.subscribe(receiver) if label == WEBHOOK else None
            spy = subprocess.Popen([pyspy, "record", "--pid", str(target.process.pid), "--rate", "200", "--duration",
                                    str(seconds), "--format", "raw", "--output", str(raw), "--nonblocking"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wrk(target.url(path), seconds, connections, script)
            spy.wait(timeout=seconds + 30)
            if endpoint is not None:
                target.unsubscribe(endpoint)
            print(f"  {label}:")
            if raw.exists():
                summarize_profile(raw, 8)
            else:
                print(f"    py-spy wrote nothing (exit {spy.returncode}; it needs ptrace rights on the server)")
    finally:
        target.stop()
        receiver.stop()
        shutil.rmtree(folder, ignore_errors=True)


def startup_bench(runs: int) -> None:
    """Start-up to the first 200 with every API (`serve`, the default configuration): on a new SQLite
    file (seeding included) and on an existing one (a restart), medians of `runs` starts."""
    folder = Path(tempfile.mkdtemp(prefix="lead-sandbox-start-"))
    timings: dict[str, list[float]] = {"new SQLite file": [], "existing SQLite file": []}
    for run in range(runs):
        db = folder / f"start-{run}.db"
        for values in timings.values():  # the first start creates and seeds the file, the second reopens it
            port = free_port()
            target = Target("sandbox", [sys.executable, "-m", "sandbox", "serve", "--port", str(port), "--db", str(db)],
                            "/hadar/v1", port, folder / "start.log")
            try:
                target.start()
                values.append(target.startup)
            finally:
                target.stop()
    print(f"\nstart-up to first 200, all APIs, median of {runs}:")
    for label, values in timings.items():
        print(f"  {label:<21} {statistics.median(values):.2f} s  (min {min(values):.2f}, max {max(values):.2f})")
    shutil.rmtree(folder, ignore_errors=True)


def seeding_and_cursor_bench(big: int) -> None:
    """Seeding speed (100k leads through the Faker factory) and cursor-page p99 at 1k vs `big` leads."""
    from datetime import UTC, datetime

    from faker import Faker

    from sandbox.apis.hadar import models
    from sandbox.apis.hadar.factories import seed_leads
    from sandbox.core.clock import Clock
    from sandbox.core.ids import IdFactory
    from sandbox.core.pagination import encode_cursor
    from sandbox.core.seed_context import SeedContext
    from sandbox.core.store import Store
    from sandbox.core.workspace import Workspace

    folder = Path(tempfile.mkdtemp(prefix="lead-sandbox-seed-"))
    store = Store(str(folder / "seed.db"))
    faker = Faker(["en_GB", "en_IN", "ar_AE", "ru_RU", "en_US"])
    faker.seed_instance(1)
    ctx = SeedContext(store, "hadar", {"slug": "big", "agents": []}, faker, random.Random(1), datetime(2026, 5, 15, tzinfo=UTC))
    started = time.perf_counter()
    seed_leads(ctx, 100_000, [])
    print(f"\nseeding: 100,000 Hadar leads (Faker factory + SQLite file) in {time.perf_counter() - started:.1f} s")

    def p99_for(count: int) -> float:
        st = Store(str(folder / f"cursor-{count}.db"))
        rows = [(f"lead_{i:026d}", "2026-01-01T00:00:00.000Z",
                 {"id": f"lead_{i:026d}", "score": i % 100, "source": "bayut", "status": "new"}) for i in range(count)]
        for start in range(0, count, 50_000):
            st.insert_records("hadar", "t", "leads", rows[start:start + 50_000])
        ws = Workspace(st, "hadar", "t", Clock(), IdFactory(1))
        rng = random.Random(7)
        samples = []
        for _ in range(200):  # warm-up: statement cache, first touches of the file
            models.page(ws, "leads", [], encode_cursor("hadar", "t", "leads", rng.randrange(26, count)), 25)
        for _ in range(3000):  # pages at random depths, each timed alone; p99 is the 30th slowest
            cursor = encode_cursor("hadar", "t", "leads", rng.randrange(26, count))
            began = time.perf_counter()
            page = models.page(ws, "leads", [], cursor, 25)
            samples.append((time.perf_counter() - began) * 1000)
            assert len(page["items"]) == 25
        st.close()
        return statistics.quantiles(samples, n=100)[98]

    small, large = p99_for(1_000), p99_for(big)
    print(f"cursor page (25 leads) p99: {small:.2f} ms at 1,000 leads, {large:.2f} ms at {big:,} leads "
          f"(ratio {large / small:.2f})")
    shutil.rmtree(folder, ignore_errors=True)


def contract_durations(max_examples: int) -> None:
    from sandbox.contracts.vendors import VENDORS

    print(f"\ncontract suite, {max_examples} examples per operation, fresh sandbox each:")
    for api in VENDORS:
        began = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "sandbox", "contract", "--api", api, "--max-examples",
                               str(max_examples), "--seed", "1"], capture_output=True, text=True, timeout=900,
                              check=False, cwd=ROOT)
        print(f"  {api:<10} {time.perf_counter() - began:6.1f} s  exit {done.returncode}")
        if done.returncode != 0:  # keep what failed: a benchmark run is not reproduced cheaply
            log = ROOT / "reports" / f"bench-contract-{api}.log"
            log.parent.mkdir(exist_ok=True)
            log.write_text(done.stdout + done.stderr)
            print(f"             output in {log.relative_to(ROOT)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--worker-rounds", type=int, default=2, help="rounds of the 1 vs 2 workers runs")
    # At `warn` Prism still writes three or four error lines per request on this spec: it checks its own
    # answers and flags them (the rate-limit headers, which have no example, it fills with the word "string";
    # its regex engine rejects the example lead id). `silent` is quiet.
    parser.add_argument("--prism-quiet-level", default="silent", choices=("silent", "fatal", "error", "warn"),
                        help="Prism's log level in the quiet pair (default silent; warn still logs every request)")
    parser.add_argument("--redis", default=None, help="also pass --redis URL to the PostgreSQL runs")
    parser.add_argument("--big", type=int, default=1_000_000, help="leads for the large cursor test")
    parser.add_argument("--only", choices=("http", "pairs", "workers", "startup", "storage", "contract", "profile", "against"),
                        default=None, help="one part only; `profile` and `against` run only when asked")
    parser.add_argument("--against", type=Path, default=None, metavar="DIR",
                        help="with --only against: another checkout (with its .venv) to compare this one with")
    args = parser.parse_args()
    # A stopped run (kill, Ctrl-C) unwinds through the `finally` blocks: servers, Prism and the receiver stop too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # progress shows under `make | tee`
    os.environ.setdefault("LEAD_SANDBOX_WEBHOOK_HOSTS", "loopback")
    help_text = serve_help()
    # Start-up first, on a quiet machine: right after the load runs, the write-back of their database
    # slowed it by a third.
    if args.only in (None, "startup"):
        startup_bench(5)
    if args.only in (None, "http", "pairs"):
        pair_rows = pairs_bench(args.rounds, args.seconds, args.connections, help_text, args.prism_quiet_level)
        print("\nmarkdown (README, Performance):\n")  # printed at once: the rest of the run takes minutes
        print("| endpoint | pair | sandbox req/s | Prism req/s | sandbox / Prism | sandbox p50 / p99 ms "
              "| Prism p50 / p99 ms | CPU ms/req sandbox / Prism |")
        print("|---|---|---|---|---|---|---|---|")
        print("\n".join(pair_rows))
    if args.only in (None, "http", "workers"):
        worker_rows = workers_bench(args.worker_rounds, args.seconds, args.connections, help_text, args.redis)
        print("\nmarkdown (README, Performance):\n")
        print("| endpoint | sandbox | req/s | vs 1 worker | p50 / p99 ms | CPU ms/req |")
        print("|---|---|---|---|---|---|")
        print("\n".join(worker_rows))
    if args.only == "profile":
        profile_bench(args.seconds, args.connections, help_text)
    if args.only == "against":
        if args.against is None:
            parser.error("--only against needs --against DIR")
        against_bench(args.rounds, args.seconds, args.connections, args.against.resolve())
    if args.only in (None, "storage"):
        seeding_and_cursor_bench(args.big)
    if args.only in (None, "contract"):
        contract_durations(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
