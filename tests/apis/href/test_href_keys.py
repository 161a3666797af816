"""HREF keys as the vendor page describes them: generated when a tenant is provisioned, displayed once
at the terminal, stored as a SHA-256 hash, rotatable. Exercised through the real CLI
(`python -m sandbox href provision|rotate-key … --db FILE`) and a sandbox served on the same SQLite file,
and through the control plane (`POST /_sandbox/tenants/href/{slug}/rotate-key`)."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.core.keys import hash_key

PROJECT = Path(__file__).resolve().parents[3]
ACME_KEY = "hcrm_acme_7Yq2Lm9Xv4Tb8Rw1"
KEY_ERROR = {"error": "invalid_api_key", "message": "API key is missing or does not match."}
KEY_RE = re.compile(r"hcrm_[A-Za-z0-9_]+")
BODY = {"name": "Taylor Morgan", "email": "taylor.morgan@example.com", "consent": True, "practice_area": "estate_planning"}


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return subprocess.run([sys.executable, "-m", "sandbox", *args], cwd=PROJECT, env=env, capture_output=True,
                          text=True, timeout=30, check=False)


def printed_key(done: subprocess.CompletedProcess[str]) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    keys = KEY_RE.findall(done.stdout + done.stderr)
    assert len(keys) == 1, f"the key should be printed exactly once:\n{done.stdout}"
    return keys[0]


@contextmanager
def serving(db: str) -> Iterator[httpx.Client]:
    config = Config(db=db)
    app = create_app(config)
    try:
        with running_sandbox(config, app=app) as origin, httpx.Client(base_url=origin, timeout=10, trust_env=False) as client:
            yield client
    finally:
        runtime_of(app).store.close()


def intake(client: httpx.Client, slug: str, key: str) -> httpx.Response:
    return client.post(f"/href/{slug}/api/leads/intake", json=BODY, headers={"X-API-Key": key})


def key_rows(db: Path) -> list[tuple]:
    with sqlite3.connect(db) as connection:
        return connection.execute("SELECT * FROM api_keys").fetchall()


def test_provision_serve_rotate_with_the_cli(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    provisioned = cli("href", "provision", "smithlaw", "Smith & Partners", "--db", str(db))
    key = printed_key(provisioned)
    assert len(key) > len("hcrm_") + 16
    assert "Smith & Partners" in provisioned.stdout

    # Stored only as SHA-256: no column of any key row holds the key text.
    rows = key_rows(db)
    assert not any(key in str(value) for row in rows for value in row)
    assert any(hash_key(key) in row for row in rows)
    with sqlite3.connect(db) as connection:
        dump = "\n".join(connection.iterdump())
    assert key not in dump

    with serving(str(db)) as client:
        lead = intake(client, "smithlaw", key)
        assert lead.status_code == 201, lead.text
        assert lead.json()["tenant"] == "smithlaw"
        # Tenant-scoped: the new key is not acme's, and acme's is not smithlaw's.
        assert intake(client, "acme", key).json() == KEY_ERROR
        assert intake(client, "smithlaw", ACME_KEY).json() == KEY_ERROR
        assert intake(client, "acme", ACME_KEY).status_code == 201

        # Rotated by the operator while the sandbox is serving the same file.
        rotated = cli("href", "rotate-key", "smithlaw", "--db", str(db))
        new_key = printed_key(rotated)
        assert new_key != key

        old = intake(client, "smithlaw", key)
        assert old.status_code == 401 and old.json() == KEY_ERROR
        fresh = intake(client, "smithlaw", new_key)
        assert fresh.status_code == 201, fresh.text
        assert fresh.json()["tenant"] == "smithlaw"

    rows = key_rows(db)
    assert not any(secret in str(value) for secret in (key, new_key) for row in rows for value in row)
    assert any(hash_key(new_key) in row for row in rows)


def test_provisioning_an_existing_slug_fails(tmp_path: Path) -> None:
    db = str(tmp_path / "h.db")
    printed_key(cli("href", "provision", "smithlaw", "Smith & Partners", "--db", db))
    again = cli("href", "provision", "smithlaw", "Another Smith", "--db", db)
    assert again.returncode != 0
    assert not KEY_RE.search(again.stdout)
    seeded = cli("href", "provision", "acme", "Acme Again", "--db", db)  # a fixture tenant
    assert seeded.returncode != 0
    assert not KEY_RE.search(seeded.stdout)


@pytest.mark.parametrize("command", [("provision", "Bad Slug", "Bad"), ("rotate-key", "Bad Slug")],
                         ids=["provision", "rotate-key"])
def test_bad_slug_exits_2(tmp_path: Path, command: tuple[str, ...]) -> None:
    db = tmp_path / "h.db"
    done = cli("href", *command, "--db", str(db))
    assert done.returncode == 2, done
    assert not KEY_RE.search(done.stdout)
    assert "slug" in done.stderr


def test_rotating_an_unknown_tenant_fails(tmp_path: Path) -> None:
    done = cli("href", "rotate-key", "nosuchfirm", "--db", str(tmp_path / "h.db"))
    assert done.returncode != 0
    assert not KEY_RE.search(done.stdout)


# --- the control plane -----------------------------------------------------------------------------
def test_control_plane_rotate_key(server: str, control: httpx.Client) -> None:
    with httpx.Client(base_url=server, timeout=10, trust_env=False) as client:
        assert intake(client, "acme", ACME_KEY).status_code == 201

        response = control.post("/tenants/href/acme/rotate-key")
        assert response.status_code == 201, response.text
        data = response.json()["data"]
        new_key = data["key"]["key"]
        assert new_key.startswith("hcrm_") and new_key != ACME_KEY
        assert data["revoked"] >= 1
        assert data["key"]["tenant"] == "acme" and data["key"]["last4"] == new_key[-4:]

        old = intake(client, "acme", ACME_KEY)
        assert old.status_code == 401 and old.json() == KEY_ERROR
        assert intake(client, "acme", new_key).status_code == 201
        # Only acme's keys were rotated.
        assert intake(client, "bigfirm", "hcrm_bigfirm_3Kd8Pz6Qn1Hs5Gf2").status_code == 201

        listed = control.get("/keys", params={"api": "href", "tenant": "acme"}).json()["data"]
        assert all(new_key not in str(item) for item in listed)  # never shown again

    assert control.post("/tenants/href/nosuchfirm/rotate-key").status_code == 404
