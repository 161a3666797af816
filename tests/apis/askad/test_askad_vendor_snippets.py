"""The AskAd vendor page's own code examples (curl, JavaScript fetch, Python requests), cut out of
shared/seeds/askad-webhook-api.txt at test time and run against the sandbox. Only the origin
`https://app.askad.ai` (-> sandbox origin + `/askad`) and `YOUR_API_KEY` (-> a test key) are swapped."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
import pytest
import vendor_pages
from conftest import bearer
from vendor_pages import NODE, cut_through, needs_node

PAGE = "askad-webhook-api.txt"
VENDOR_ORIGIN = "https://app.askad.ai"
ADMIN = "ask_test_brightpath_admin_5e2a9c71"
BRIGHTPATH_CONTACTS = 80
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


# --- cutting snippets out of the page (its text is glued: one snippet ends where the next begins) ---
def page_text() -> str:
    return vendor_pages.page_text(PAGE)


def cut(start: str, end: str) -> str:
    return cut_through(page_text(), start, end)


def curl_example() -> str:
    return cut("curl -X POST", "}'")


def js_example() -> str:
    return cut("const response = await fetch(", "console.log(data.id);")


def python_example() -> str:
    return cut("import requests\n", 'print(data["id"])')


def swap(snippet: str, origin: str, key: str = ADMIN) -> str:
    assert snippet.count(VENDOR_ORIGIN) == 1, "the snippet should name the vendor origin once"
    assert snippet.count("YOUR_API_KEY") == 1, "the snippet should hold the key placeholder once"
    return snippet.replace(VENDOR_ORIGIN, origin + "/askad").replace("YOUR_API_KEY", key)


def subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    return {**env, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}


def run(argv: list[str]) -> str:
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=20, env=subprocess_env())
    assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done.stdout


def assert_jane_created(origin: str) -> None:
    """The page's body made exactly one new contact, with every field of the body."""
    with httpx.Client(base_url=origin + "/askad/api/v1", headers=bearer(ADMIN), timeout=10, trust_env=False) as client:
        body = client.get("/contacts", params={"limit": 100}).json()
    assert body["total"] == BRIGHTPATH_CONTACTS + 1
    [jane] = [c for c in body["data"] if c["email"] == "jane@example.com"]
    assert (jane["first_name"], jane["last_name"], jane["phone"]) == ("Jane", "Smith", "+1234567890")
    assert jane["sources"] == ["hubspot"] and jane["metadata"] == {"deal_value": 5000}
    assert jane["lead_count"] == 1


def test_snippets_are_on_the_page() -> None:
    assert curl_example().rstrip().endswith("}'")
    assert "-H \"Authorization: Bearer YOUR_API_KEY\"" in curl_example()
    assert "JSON.stringify" in js_example()
    assert "requests.post(" in python_example()
    for snippet in (curl_example(), js_example(), python_example()):
        assert f"{VENDOR_ORIGIN}/api/v1/leads/inbound" in snippet


# --- curl ------------------------------------------------------------------------------------------
@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_vendor_curl_example(server: str) -> None:
    command = swap(curl_example(), server)
    argv = shlex.split(command.replace("\\\n", " "))  # shell line continuations
    assert argv[0] == "curl" and "-d" in argv
    json.loads(argv[argv.index("-d") + 1])  # the body on the page is valid JSON
    out = run([shutil.which("curl") or "curl", *argv[1:]])  # exactly the page's arguments

    response = json.loads(out)
    assert response["status"] == "created"
    assert str(uuid.UUID(response["id"])) == response["id"]
    assert_jane_created(server)


# --- JavaScript ------------------------------------------------------------------------------------
@needs_node
def test_vendor_js_fetch_example(server: str, tmp_path: Path) -> None:
    script = tmp_path / "askad_example.mjs"  # top-level await: an ES module
    script.write_text(swap(js_example(), server) + "\n", encoding="utf-8")
    out = run([NODE, str(script)])

    printed = out.strip().splitlines()[-1].strip()
    assert UUID_RE.fullmatch(printed), out
    assert_jane_created(server)


# --- Python ----------------------------------------------------------------------------------------
def test_vendor_python_requests_example(server: str, tmp_path: Path) -> None:
    pytest.importorskip("requests")
    script = tmp_path / "askad_example.py"
    script.write_text(swap(python_example(), server) + "\n", encoding="utf-8")
    out = run([sys.executable, str(script)])

    printed = out.strip().splitlines()[-1].strip()
    assert UUID_RE.fullmatch(printed), out
    assert_jane_created(server)
