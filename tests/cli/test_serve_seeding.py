"""`serve` seeds a new database file in a forked child while it imports the web stack: the data must be
exactly what in-process seeding makes, and a child that dies must not leave a half-claimed database."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sandbox.app import create_app, runtime_of
from sandbox.cli.server import join_background_seed
from sandbox.config import Config
from sandbox.contracts.sandbox_server import free_port
from sandbox.core import owner
from sandbox.core.clock import Clock, parse_iso
from sandbox.core.store import Store
from sandbox.seeding import release_unfinished_claims, seed_missing

ADMIN = "hdr_test_marina_growth_admin_4f9c2a7b"
EXAMPLE_LEAD = "lead_01KRH25A3SV10FE43RKWT01BD9"  # the spec's example id: a record seeded at seed 42


def _fingerprint(db: Path) -> str:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT api, tenant, kind, id, created_at, data FROM records ORDER BY api, tenant, kind, id")
        keys = conn.execute("SELECT key_hash, api, tenant, role, plan FROM api_keys ORDER BY key_hash")
        return hashlib.sha256(repr((rows.fetchall(), keys.fetchall())).encode()).hexdigest()


def test_serve_on_a_new_file_seeds_exactly_what_create_app_seeds(tmp_path: Path) -> None:
    served, reference = tmp_path / "served.db", tmp_path / "reference.db"
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", "--port", str(port), "--db", str(served)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/hadar/v1/leads/{EXAMPLE_LEAD}",
                                     headers={"Authorization": f"Bearer {ADMIN}"}, timeout=2)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and process.poll() is None, "serve did not come up"
                time.sleep(0.05)
        assert response.status_code == 200
        assert response.json()["data"]["id"] == EXAMPLE_LEAD
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=20)
    assert "background seeding failed" not in errors

    # The same world for the same seed and anchor: the reference is seeded at the served file's anchor.
    anchors = {Store(str(served)).get_meta(f"seeded:{api}")["anchor"] for api in ("hadar", "href", "askad")}
    assert len(anchors) == 1
    anchor = parse_iso(anchors.pop())
    app = create_app(Config(db=str(reference)), clock=Clock(source=lambda: anchor))
    runtime_of(app).store.close()
    assert _fingerprint(served) == _fingerprint(reference)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="background seeding forks")
def test_a_seeding_child_that_dies_leaves_no_claim_behind(tmp_path: Path) -> None:
    config = Config(db=str(tmp_path / "s.db"))
    Store(config.db).close()  # the schema exists before the child starts
    pid = os.fork()
    if pid == 0:  # a seeder that claims hadar and dies before finishing it
        child = Store(config.db)
        child.claim_meta("seeded:hadar", {"state": "seeding"})
        os._exit(1)
    join_background_seed(pid, config)

    store = Store(config.db)
    assert store.get_meta("seeded:hadar") is None
    app = create_app(config)  # seeds hadar here instead of waiting a minute for a dead process
    assert runtime_of(app).store.collection("hadar", "marina-homes", "leads").get(EXAMPLE_LEAD) is not None
    runtime_of(app).store.close()


def test_release_unfinished_claims_keeps_finished_ones() -> None:
    store = Store("memory")
    store.set_meta("seeded:hadar", {"state": "done", "seed": 42})
    store.set_meta("seeded:askad", {"state": "seeding"})
    assert release_unfinished_claims(store) == ["seeded:askad"]
    assert store.get_meta("seeded:hadar") == {"state": "done", "seed": 42}
    assert store.get_meta("seeded:askad") is None


def test_seed_missing_waits_for_a_claim_and_gives_up_on_a_stuck_one() -> None:
    from sandbox.apis import registry

    store = Store("memory")
    store.claim_meta("seeded:href", {"state": "seeding", "owner": owner.me()})  # a live owner: this process
    began = time.monotonic()
    with pytest.raises(RuntimeError, match="seeding href"):
        seed_missing(store, registry(("href",)), 42, wait_seconds=0.3)
    assert time.monotonic() - began >= 0.3
