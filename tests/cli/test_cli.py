"""The `lead-sandbox` command as a user runs it: a real `serve` process, `keys --json`, `reset`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sandbox.cli import main
from sandbox.config import parse_plan_overrides
from sandbox.contracts.sandbox_server import free_port

ADMIN = "hdr_test_marina_growth_admin_4f9c2a7b"


def _serve(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "serve", *args],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines: list[str] = []
    deadline = time.monotonic() + 30
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("ready on "):
            return process, lines
    process.kill()
    raise AssertionError("serve did not print 'ready on':\n" + "\n".join(lines))


def test_serve__prints_keys_then_ready_and_answers(tmp_path: Path) -> None:
    port = free_port()
    process, lines = _serve("--port", str(port), "--db", f"sqlite:///{tmp_path / 'url.db'}", "--api", "hadar")
    try:
        text = "\n".join(lines)
        assert lines[-1] == f"ready on http://127.0.0.1:{port}"
        assert ADMIN in text and "palm-crest" in text and f"http://127.0.0.1:{port}/v1" in text
        response = httpx.get(f"http://127.0.0.1:{port}/v1/leads", headers={"Authorization": f"Bearer {ADMIN}"})
        assert response.status_code == 200
        assert len(response.json()["data"]["items"]) == 25
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert (tmp_path / "url.db").exists()  # an SQLAlchemy URL, not only a path, selects the store


def test_serve__bad_plan_override_exits_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "serve", "--plan", "growth=lots"], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 2
    assert "NAME=PER_MINUTE" in result.stderr


def test_parse_plan_overrides__accepts_plan_api_plan_and_star() -> None:
    assert parse_plan_overrides(["growth=5", "hadar.starter=7", "*=9"]) == {"growth": 5, "hadar.starter": 7, "*": 9}
    with pytest.raises(ValueError):
        parse_plan_overrides(["growth=0"])


def test_keys_json__design_shape(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["keys", "--json", "--db", str(tmp_path / "k.db")]) == 0
    rows = json.loads(capsys.readouterr().out)
    admin = next(row for row in rows if row["key"] == ADMIN)
    assert {k: admin[k] for k in ("api", "tenant", "tenant_name", "role", "plan", "base_path")} == {
        "api": "hadar", "tenant": "marina-homes", "tenant_name": "Marina Homes Real Estate",
        "role": "admin", "plan": "growth", "base_path": "/hadar/v1",
    }
    assert {row["plan"] for row in rows} >= {"starter", "growth", "enterprise"}


def test_keys__db_from_environment(tmp_path: Path) -> None:
    db = tmp_path / "env.db"
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "keys", "--json"],
        capture_output=True, text=True, check=False, timeout=60, env={**os.environ, "LEAD_SANDBOX_DB": str(db)},
    )
    assert result.returncode == 0, result.stderr
    assert db.exists()


def test_reset__restores_the_seeded_state(tmp_path: Path) -> None:
    from sandbox.app import create_app, runtime_of
    from sandbox.config import Config

    db = str(tmp_path / "r.db")
    runtime = runtime_of(create_app(Config(db=db)))
    leads = runtime.store.collection("hadar", "marina-homes", "leads")
    seeded = leads.all()
    leads.insert("lead_EXTRA", "2026-11-21T00:00:00.000Z", {"id": "lead_EXTRA"})
    leads.delete(seeded[0]["id"])
    runtime.store.close()

    assert main(["reset", "--db", db, "--api", "hadar", "--tenant", "marina-homes"]) == 0

    again = runtime_of(create_app(Config(db=db))).store.collection("hadar", "marina-homes", "leads").all()
    assert again == seeded


def test_reset__tenant_without_api_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["reset", "--db", "memory", "--tenant", "marina-homes"]) == 2
    assert "--tenant needs --api" in capsys.readouterr().err
