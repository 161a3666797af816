"""Issue 12 point 7: a seeding claim of a dead process is released at once, by exactly one process;
a live owner's claim is still waited for."""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sandbox.apis import registry
from sandbox.core import owner
from sandbox.core.store import Store
from sandbox.seeding import seed_missing

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process liveness is read from /proc")


def _claim_and_hang(db: Path, api: str = "href") -> subprocess.Popen[str]:
    """A real process that claims `api`'s seeding marker and then hangs, as if killed mid-seeding."""
    code = textwrap.dedent(f"""
        import sys, time
        from sandbox.core import owner
        from sandbox.core.store import Store
        store = Store({str(db)!r})
        assert store.claim_meta("seeded:{api}", {{"state": "seeding", "owner": owner.me()}})
        print("claimed", flush=True)
        time.sleep(600)
    """)
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "claimed"
    return process


def _records(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT api, tenant, kind, id, data FROM records ORDER BY api, tenant, kind, id").fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


def test_a_claim_of_a_killed_process_is_taken_over_at_once(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    Store(str(db)).close()
    holder = _claim_and_hang(db)
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    store = Store(str(db))
    # the old code waited for the dead claim until the deadline and raised
    seed_missing(store, registry(("href",)), 42, wait_seconds=5)
    marker = store.get_meta("seeded:href")
    assert (marker["state"], marker["seed"]) == ("done", 42)
    assert marker["anchor"]  # the seeded world's anchor (issue 17) is recorded beside it
    assert store.collection("href", "acme", "leads").count() > 0
    store.close()


def test_a_live_owner_is_waited_for_not_robbed(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    Store(str(db)).close()
    holder = _claim_and_hang(db)
    try:
        store = Store(str(db))
        with pytest.raises(RuntimeError, match="seeding href"):
            seed_missing(store, registry(("href",)), 42, wait_seconds=0.3)
        assert store.get_meta("seeded:href")["owner"]["pid"] == holder.pid
        store.close()
    finally:
        holder.kill()
        holder.wait()


def test_a_zombie_owner_counts_as_dead() -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    try:
        # not reaped yet: the pid still answers kill(pid, 0), but the process has exited
        stat = Path(f"/proc/{pid}/stat")
        while stat.exists() and ") Z" not in stat.read_text():
            pass
        assert not owner.is_alive({"host": owner.me()["host"], "pid": pid, "started": None})
    finally:
        os.waitpid(pid, 0)


def test_a_reused_pid_is_not_the_owner() -> None:
    me = owner.me()
    assert owner.is_alive(me)
    assert not owner.is_alive({**me, "started": "1"})  # same pid, another start time: someone else's process


def test_a_claim_from_another_host_lives_as_long_as_its_lease() -> None:
    assert owner.is_alive({"host": "elsewhere", "pid": 1, "lease_until": 4e9})
    assert not owner.is_alive({"host": "elsewhere", "pid": 1, "lease_until": 1.0})


def test_several_processes_on_a_dead_claim_seed_once_and_agree(tmp_path: Path) -> None:
    db, reference = tmp_path / "s.db", tmp_path / "reference.db"
    Store(str(db)).close()
    holder = _claim_and_hang(db, api="hadar")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    # `keys` on that file must neither wait for the dead claim nor seed twice (a duplicate record id fails)
    keys = [
        subprocess.Popen([sys.executable, "-m", "sandbox", "keys", "--db", str(db), "--json"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    for process in keys:
        out, err = process.communicate(timeout=45)  # the old code waited 60 s, then exited 1
        assert process.returncode == 0, err
        assert "hdr_test_marina_growth_admin_4f9c2a7b" in out
    seed_missing(Store(str(reference)), registry(), 42)
    assert _records(db) == _records(reference)
