"""The pytest plugin: the `lead_sandbox` fixture serves a real sandbox; `--lead-sandbox-api` adds the
contract suite as a test item."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx


def test_lead_sandbox_fixture__serves_an_isolated_sandbox(lead_sandbox) -> None:  # type: ignore[no-untyped-def]
    base = lead_sandbox.base_url("hadar")
    key = lead_sandbox.key("hadar", tenant="marina-homes")
    assert base.startswith("http://127.0.0.1:") and base.endswith("/hadar/v1")
    created = httpx.post(
        f"{base}/leads", json={"name": "Aisha Khan", "phone": "+971501234567"}, headers={"Authorization": f"Bearer {key}"}
    )
    assert created.status_code == 201
    lead_id = created.json()["data"]["id"]
    other = lead_sandbox.key("hadar", tenant="palm-crest")
    assert httpx.get(f"{base}/leads/{lead_id}", headers={"Authorization": f"Bearer {other}"}).status_code == 404


def test_plugin__contract_option_adds_a_passing_item(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--lead-sandbox-api", "hadar",
         "--lead-sandbox-max-examples", "5", "-o", "addopts=", str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=600, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "1 passed" in result.stdout


def test_plugin__contract_item_fails_for_an_unreachable_target(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--lead-sandbox-api", "hadar",
         "--lead-sandbox-url", "http://127.0.0.1:9/v1", "--lead-sandbox-max-examples", "2", "-o", "addopts=",
         str(tmp_path)],
        capture_output=True, text=True, check=False, timeout=600, cwd=tmp_path,
    )
    assert result.returncode == 1, result.stdout[-3000:]
    assert "contract suite for hadar failed" in result.stdout
