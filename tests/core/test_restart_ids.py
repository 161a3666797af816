"""State survives restarts, so ids issued after a restart must not repeat ids issued before it."""

from __future__ import annotations

from pathlib import Path

import httpx

from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.core.store import Store

ASKAD = "ask_test_brightpath_admin_5e2a9c71"


def _inbound(config: Config, email: str) -> httpx.Response:
    app = create_app(config)
    try:
        with running_sandbox(config, app=app) as origin:
            return httpx.post(f"{origin}/askad/api/v1/leads/inbound", json={"email": email, "source": "zapier"},
                              headers={"Authorization": f"Bearer {ASKAD}"}, timeout=30)
    finally:
        runtime_of(app).store.close()


def test_each_restart_on_one_file_issues_new_ids(tmp_path: Path) -> None:
    config = Config(db=str(tmp_path / "s.db"))
    responses = [_inbound(config, f"restart{n}@example.com") for n in range(4)]
    assert [r.status_code for r in responses] == [201, 201, 201, 201], [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 4


def test_a_fresh_database_keeps_the_seeded_id_stream(tmp_path: Path) -> None:
    first = _inbound(Config(db=str(tmp_path / "a.db")), "same@example.com")
    second = _inbound(Config(db=str(tmp_path / "b.db")), "same@example.com")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]  # same seed, new database: same ids


def test_next_count_counts_across_store_instances(tmp_path: Path) -> None:
    path = str(tmp_path / "c.db")
    assert [Store(path).next_count("k") for _ in range(3)] == [0, 1, 2]
