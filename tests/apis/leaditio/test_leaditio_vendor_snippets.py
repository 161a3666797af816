"""The Leaditio vendor page's own code, run unchanged against the sandbox: the Python `get_leads`
example, the JavaScript `getLeads` fetch example and the Node `verifySignature` function. Snippets are
cut out of shared/seeds/leaditio-buyer-api.txt at test time; only the base URL string is swapped, and the
key is given through the environment variable the snippets read (LEADITIO_API_KEY)."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tokenize
from pathlib import Path

import httpx
import vendor_pages
from conftest import Recorder
from vendor_pages import NODE, cut_through_line, needs_node

PAGE = "leaditio-buyer-api.txt"
VENDOR_BASE = "https://leaditio.com/api/v1"
MOUNT = "/leaditio/api/v1"
SUNVOLT = "ldt_test_sunvolt_pro_9f31c0a7"


# --- cutting snippets out of the page -------------------------------------------------------------
def page_text() -> str:
    return vendor_pages.page_text(PAGE)


def cut(start: str, last_line_start: str) -> str:
    return cut_through_line(page_text(), start, last_line_start)


def python_example() -> str:
    """The page's Python example. The stored page lost its indentation, so it is restored (whitespace
    only, checked below) before the code can run."""
    flat = cut("# pip install requests", "print(lead['id'], lead['suburb'], lead['score_tier'])")
    code = restore_indentation(flat)
    assert re.sub(r"\s", "", code) == re.sub(r"\s", "", flat), "restoring indentation changed more than whitespace"
    compile(code, "vendor_example.py", "exec")
    return code


ONE_STATEMENT_BLOCKS = ("if", "elif", "else", "for", "while", "with")


def restore_indentation(flat: str) -> str:
    """Re-indent flattened Python by its block rules, as the page's example is written: a logical line
    ending in `:` opens a block; an `if`/`for`/`while`/`with`/`else` block holds one statement; a `def`
    block runs through its `return`. Lines inside brackets stay at their statement's level; comments
    take the level of the code that follows them."""
    lines = flat.splitlines()
    level_of_row: dict[int, int] = {}
    blocks: list[str] = []
    start_row, first_word, last_significant = None, "", ""
    for token in tokenize.generate_tokens(io.StringIO(flat).readline):
        if token.type in (tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER):
            continue
        if token.type == tokenize.NEWLINE:  # a logical line ended: rows start_row..token row
            assert start_row is not None
            for row in range(start_row, token.start[0] + 1):
                level_of_row[row] = len(blocks)
            if last_significant == ":":
                blocks.append(first_word)
            elif blocks and (blocks[-1] in ONE_STATEMENT_BLOCKS or (blocks[-1] == "def" and first_word == "return")):
                blocks.pop()
            start_row = None
            continue
        if start_row is None:
            start_row, first_word = token.start[0], token.string
        last_significant = token.string
    out, level = [], 0
    for row in range(len(lines), 0, -1):  # a comment or blank line takes the level of the code after it
        level = level_of_row.get(row, level)
        out.append("    " * level + lines[row - 1].strip())
    return "\n".join(reversed(out)) + "\n"


def js_example() -> str:
    return cut("// Fetch leads using the Leaditio REST API", ".catch(console.error);")


def verify_snippet() -> str:
    match = re.search(r"^const crypto = require\('crypto'\);\s*\nfunction verifySignature\(.*?\n}\n", page_text(),
                      re.DOTALL | re.MULTILINE)
    assert match, "verifySignature not found on the vendor page"
    return match.group(0)


def swap_base(snippet: str, base: str) -> str:
    assert snippet.count(VENDOR_BASE) == 1, "the snippet should name the vendor base URL once"
    return snippet.replace(VENDOR_BASE, base)


def run(argv: list[str], env: dict[str, str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run with the given variables added to a proxy-free environment (30 s at most)."""
    base = {k: v for k, v in os.environ.items() if "proxy" not in k.lower()}
    done = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=30,
                          env={**base, "NO_PROXY": "127.0.0.1,localhost", **env})
    if check:
        assert done.returncode == 0, f"exit {done.returncode}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
    return done


def buyer(server: str) -> httpx.Client:
    return httpx.Client(base_url=server + MOUNT, headers={"Authorization": f"Bearer {SUNVOLT}"}, timeout=10,
                        trust_env=False)


def hot_solar_leads(server: str) -> list[dict]:
    """The first page (25) of SunVolt's hot solar leads, as the examples ask for them; at least one
    exists (new leads are triggered through the control plane until one is hot)."""
    with buyer(server) as client, httpx.Client(base_url=server + "/_sandbox", timeout=10, trust_env=False) as control:
        for _ in range(40):
            leads = client.get("/leads", params={"vertical": "solar", "score_tier": "hot", "page": 1,
                                                 "limit": 25}).json()["leads"]
            if leads:
                return leads
            created = control.post("/events", json={"api": "leaditio", "tenant": "sunvolt-solar", "type": "lead.new"})
            assert created.status_code == 201, created.text
    raise AssertionError("no hot solar lead after 40 triggered leads")


def test_snippets_are_on_the_page() -> None:
    assert "def get_leads(" in python_example()
    assert "async function getLeads(" in js_example()
    assert "crypto.timingSafeEqual" in verify_snippet()


# --- Python ----------------------------------------------------------------------------------------
def test_vendor_python_get_leads_example(server: str, tmp_path: Path) -> None:
    expected = hot_solar_leads(server)
    script = tmp_path / "leaditio_example.py"
    script.write_text(swap_base(python_example(), server + MOUNT), encoding="utf-8")
    out = run([sys.executable, str(script)], {"LEADITIO_API_KEY": SUNVOLT}).stdout
    assert out.splitlines() == [f"{lead['id']} {lead['suburb']} {lead['score_tier']}" for lead in expected]


def test_vendor_python_example_raises_on_a_bad_key(server: str, tmp_path: Path) -> None:
    script = tmp_path / "leaditio_example.py"
    script.write_text(swap_base(python_example(), server + MOUNT), encoding="utf-8")
    done = run([sys.executable, str(script)], {"LEADITIO_API_KEY": "ldt_test_kopano_basic_c8a25f13"}, check=False)
    assert done.returncode != 0
    assert "403" in done.stderr  # raise_for_status(): the basic plan has no API access


# --- JavaScript ------------------------------------------------------------------------------------
@needs_node
def test_vendor_js_get_leads_example(server: str, tmp_path: Path) -> None:
    expected = hot_solar_leads(server)
    script = tmp_path / "leaditio_example.cjs"  # no top-level await: runs as CommonJS as it stands
    script.write_text(swap_base(js_example(), server + MOUNT), encoding="utf-8")
    done = run([NODE, str(script)], {"LEADITIO_API_KEY": SUNVOLT})
    assert done.stderr == ""  # the example's .catch(console.error) would print there
    printed = re.findall(r"id: '(lead_[0-9a-z]{26})'", done.stdout)
    assert printed == [lead["id"] for lead in expected]
    assert re.findall(r"score_tier: '(\w+)'", done.stdout) == ["hot"] * len(expected)


@needs_node
def test_vendor_js_example_reports_the_error_message(server: str, tmp_path: Path) -> None:
    script = tmp_path / "leaditio_example.cjs"
    script.write_text(swap_base(js_example(), server + MOUNT), encoding="utf-8")
    done = run([NODE, str(script)], {"LEADITIO_API_KEY": "ldt_test_kopano_basic_c8a25f13"})
    assert "Your plan does not include API access" in done.stderr  # thrown err.message, printed by the catch


# --- webhook signature verification with the vendor's Node function --------------------------------
NODE_VERIFY_HARNESS = """
const fs = require('fs');
const rawBody = fs.readFileSync(process.env.BODY_FILE, 'utf8');
console.log(verifySignature(rawBody, process.env.LEADITIO_WEBHOOK_SECRET, process.env.SIGNATURE));
"""


@needs_node
def test_vendor_node_verify_signature_on_a_real_delivery(server: str, recorder: Recorder, tmp_path: Path) -> None:
    secret = "wh_secret_your_secret_here"
    with buyer(server) as client:
        registered = client.post("/leads/webhook", json={"url": recorder.url, "secret": secret, "events": ["lead.new"]})
        assert registered.status_code == 201, registered.text
    with httpx.Client(base_url=server + "/_sandbox", timeout=10, trust_env=False) as control:
        event = control.post("/events", json={"api": "leaditio", "tenant": "sunvolt-solar", "type": "lead.new"})
        assert event.status_code == 201, event.text
    headers, raw = recorder.first()
    assert json.loads(raw)["event"] == "lead.new"
    assert "–".encode() in raw  # the rand budget range: non-ASCII bytes are signed as UTF-8

    script = tmp_path / "verify.cjs"  # require('crypto'): CommonJS
    script.write_text(verify_snippet() + NODE_VERIFY_HARNESS, encoding="utf-8")
    genuine = tmp_path / "genuine.json"
    genuine.write_bytes(raw)
    env = {"SIGNATURE": headers["x-leaditio-signature"], "LEADITIO_WEBHOOK_SECRET": secret}
    assert run([NODE, str(script)], {**env, "BODY_FILE": str(genuine)}).stdout.strip() == "true"

    tampered = tmp_path / "tampered.json"
    payload = json.loads(raw)
    tampered.write_bytes(raw.replace(payload["contact"]["phone"].encode(), b"+27820000000"))
    assert tampered.read_bytes() != raw
    assert run([NODE, str(script)], {**env, "BODY_FILE": str(tampered)}).stdout.strip() == "false"

    wrong_secret = {**env, "LEADITIO_WEBHOOK_SECRET": "wh_secret_someone_else"}
    assert run([NODE, str(script)], {**wrong_secret, "BODY_FILE": str(genuine)}).stdout.strip() == "false"
