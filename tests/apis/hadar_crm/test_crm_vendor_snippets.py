"""The Hadar CRM vendor page's own code, run unchanged against the sandbox: the Python `requests`
example, the JavaScript `fetch` wrapper and the Node `verifyWebhookSignature` function. Snippets are cut
out of shared/seeds/hadar-crm-api.txt at test time; only the base URL string is swapped, and the key is
given through the environment variable the snippet reads (HADAR_API_KEY)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import vendor_pages
from conftest import Recorder
from vendor_pages import NODE, cut_through_line, needs_node

PAGE = "hadar-crm-api.txt"
VENDOR_BASE = "https://crm.hadar-ai.com/api/v1"
MOUNT = "/hadar-crm/api/v1"
ADMIN = "ak_test_alnoor_professional_admin_7c2e91d4"


# --- cutting snippets out of the page -------------------------------------------------------------
def page_text() -> str:
    return vendor_pages.page_text(PAGE)


def cut(text: str, start: str, end_line_prefix: str) -> str:
    return cut_through_line(text, start, end_line_prefix)


def python_example() -> str:
    return cut(page_text(), "import os\nimport requests\n", 'print(f"Created lead:')


def js_fetch_example() -> str:
    return cut(page_text(), "const HADAR_API_KEY = process.env.HADAR_API_KEY;", "console.log(newLead.data.id);")


def verify_function() -> str:
    match = re.search(
        r'^import crypto from "crypto";\s*\n\s*function verifyWebhookSignature\(.*?\n}\n', page_text(), re.DOTALL | re.MULTILINE
    )
    assert match, "verifyWebhookSignature not found on the vendor page"
    return match.group(0)


def swap_base(snippet: str, base: str) -> str:
    assert snippet.count(VENDOR_BASE) == 1, "the snippet should name the vendor base URL once"
    return snippet.replace(VENDOR_BASE, base)


def subprocess_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return {**env, "NO_PROXY": "127.0.0.1,localhost", **extra}


def run(argv: list[str], **env: str) -> str:
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=30, env=subprocess_env(**env))
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


def crm_client(server: str) -> httpx.Client:
    return httpx.Client(base_url=server + MOUNT, headers={"X-API-Key": ADMIN}, timeout=10, trust_env=False)


def test_snippets_are_on_the_page() -> None:
    assert "requests.get(" in python_example()
    assert "async function hadarApi" in js_fetch_example()
    assert "crypto.timingSafeEqual" in verify_function()


# --- Python ----------------------------------------------------------------------------------------
def test_vendor_python_requests_example(server: str, tmp_path: Path) -> None:
    script = tmp_path / "hadar_example.py"
    script.write_text(swap_base(python_example(), server + MOUNT), encoding="utf-8")
    out = run([sys.executable, str(script)], HADAR_API_KEY=ADMIN)

    with crm_client(server) as client:
        qualified = client.get("/leads", params={"status": "qualified"}).json()["meta"]["total"]
        assert f"Found {qualified} qualified leads" in out
        created = re.search(r"^Created lead: (lead-[0-9a-z]{26})$", out, re.MULTILINE)
        assert created, out
        lead = client.get(f"/leads/{created.group(1)}").json()["data"]
    assert lead["full_name"] == "Ahmed Al Mansouri" and lead["channel"] == "api"
    assert lead["status"] == "new" and lead["score"] == 0


# --- JavaScript ------------------------------------------------------------------------------------
@needs_node
def test_vendor_js_fetch_wrapper_example(server: str, tmp_path: Path) -> None:
    script = tmp_path / "hadar_example.mjs"  # ESM: the usage code awaits at top level
    script.write_text(swap_base(js_fetch_example(), server + MOUNT), encoding="utf-8")
    out = run([NODE, str(script)], HADAR_API_KEY=ADMIN)  # the snippet prints on its own

    with crm_client(server) as client:
        qualified = client.get("/leads", params={"status": "qualified"}).json()["meta"]["total"]
        lines = out.strip().splitlines()
        assert lines[-2].strip() == str(qualified)  # console.log(leads.meta.total)
        assert re.fullmatch(r"lead-[0-9a-z]{26}", lines[-1].strip()), out[-500:]
        lead = client.get(f"/leads/{lines[-1].strip()}").json()["data"]
    assert lead["full_name"] == "Ahmed Al Mansouri" and lead["email"] == "ahmed@example.com"


@needs_node
def test_vendor_js_fetch_wrapper_throws_the_error_message_on_401(server: str, tmp_path: Path) -> None:
    script = tmp_path / "hadar_example.mjs"
    script.write_text(swap_base(js_fetch_example(), server + MOUNT), encoding="utf-8")
    done = subprocess.run([NODE, str(script)], check=False, capture_output=True, text=True, timeout=30,
                          env=subprocess_env(HADAR_API_KEY="ak_test_not_a_real_key_000000"))
    assert done.returncode != 0
    assert "Missing or invalid API key" in done.stderr


# --- webhook signature verification with the vendor's Node function --------------------------------
NODE_VERIFY_HARNESS = """
import fs from "fs";
const rawBody = fs.readFileSync(process.env.BODY_FILE, "utf8");
const req = { headers: { "x-webhook-signature": process.env.SIGNATURE }, body: JSON.parse(rawBody) };
// exactly as the page's handler calls it
console.log(verifyWebhookSignature(JSON.stringify(req.body), req.headers["x-webhook-signature"], process.env.HADAR_WEBHOOK_SECRET));
"""


@needs_node
def test_vendor_node_verify_webhook_signature_on_a_real_delivery(server: str, recorder: Recorder, tmp_path: Path) -> None:
    with httpx.Client(base_url=server, timeout=10, trust_env=False) as http:
        endpoint = http.post("/_sandbox/webhooks", json={"api": "hadar-crm", "tenant": "al-noor-realty",
                                                         "url": recorder.url, "events": ["lead.created"]})
        assert endpoint.status_code == 201, endpoint.text
        secret = endpoint.json()["data"]["secret"]
        created = http.post(MOUNT + "/leads", headers={"X-API-Key": ADMIN},
                            json={"full_name": "Zoë عائشة", "email": "zoe@example.com", "budget_min_aed": 1500000})
        assert created.status_code == 201, created.text
    headers, raw = recorder.first()
    assert json.loads(raw)["data"]["id"] == created.json()["data"]["id"]

    script = tmp_path / "verify.mjs"
    script.write_text(verify_function() + NODE_VERIFY_HARNESS, encoding="utf-8")
    genuine = tmp_path / "genuine.json"
    genuine.write_bytes(raw)
    env = {"SIGNATURE": headers["x-webhook-signature"], "HADAR_WEBHOOK_SECRET": secret}
    assert run([NODE, str(script)], BODY_FILE=str(genuine), **env).strip() == "true"

    tampered = tmp_path / "tampered.json"
    payload = json.loads(raw)
    payload["data"]["budget_min_aed"] = 1
    tampered.write_bytes(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    assert run([NODE, str(script)], BODY_FILE=str(tampered), **env).strip() == "false"

    wrong_secret = {**env, "HADAR_WEBHOOK_SECRET": secret + "x"}
    assert run([NODE, str(script)], BODY_FILE=str(genuine), **wrong_secret).strip() == "false"
