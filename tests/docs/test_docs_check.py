"""`lead-sandbox docs-check`: our own docs are clean, the vendor-drift report is current, and broken
examples are reported with file and line."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sandbox.config import Config
from sandbox.contracts.cli import check_against_fresh_sandbox
from sandbox.contracts.docs_check.drift import DRIFT_END, DRIFT_START, render_markdown, vendor_findings
from sandbox.contracts.docs_check.extract import extract
from sandbox.contracts.sandbox_server import running_sandbox

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT.parent / "shared" / "seeds"


def test_readme_and_docs__every_example_is_ok() -> None:
    paths = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    findings = check_against_fresh_sandbox("all", paths)
    problems = [f for f in findings if f.result != "ok"]
    assert not problems, "\n".join(f"{f.file}:{f.line} {f.result} {f.operation}: {f.message}" for f in problems)
    replayed = [f for f in findings if f.message.startswith("replayed")]
    assert len(replayed) >= 7, "the README's curl examples were not all found and replayed"


@pytest.mark.skipif(not SEEDS.is_dir(), reason=f"the vendor pages are not beside this checkout ({SEEDS})")
def test_vendor_drift_report_is_current() -> None:
    table = render_markdown(vendor_findings(SEEDS))
    document = (ROOT / "docs" / "vendor-docs-drift.md").read_text(encoding="utf-8")
    committed = document.split(DRIFT_START, 1)[1].split(DRIFT_END, 1)[0].strip()
    assert committed == table.strip(), "docs/vendor-docs-drift.md is stale: run `make drift`"


BROKEN = """# A doc with mistakes

Create a lead:

```sh
curl -X POST https://api.hadar-ai.com/v1/leads \\
  -H "Authorization: Bearer hdr_live_xxxxxxxx" \\
  -H "Content-Type: application/json" \\
  -d '{"name": "Aisha Khan", "email": "not-an-email"}'
```

And a route that does not exist:

```sh
curl https://api.hadar-ai.com/v1/teleport
```

A lead from another workspace:

```python
import requests
BASE_URL = "https://api.hadar-ai.com/v1"
requests.get(f"{BASE_URL}/leads/lead_01HXZ3N8Q4T5V6W7X8Y9Z0ABCD", headers={"Authorization": "Bearer x"})
```
"""


def test_docs_check__reports_each_problem_with_file_line_and_exits_1(tmp_path: Path) -> None:
    doc = tmp_path / "broken.md"
    doc.write_text(BROKEN, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "docs-check", "--api", "hadar", "--format", "json", str(doc)],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 1, result.stderr
    findings = {f["line"]: f for f in json.loads(result.stdout)}
    assert findings[6]["result"] == "invalid" and "email" in findings[6]["message"]
    assert findings[15]["result"] == "unknown_operation"
    assert findings[23]["result"] == "sandbox_disagrees" and "404" in findings[23]["message"]
    assert all(f["file"] == str(doc) for f in findings.values())


def test_docs_check__html_and_plain_text_pages(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text(
        "<html><body><h2>List leads</h2><pre><code>curl \"https://api.hadar-ai.com/v1/leads?limit=5\" "
        "-H \"Authorization: Bearer hdr_test_x\"</code></pre></body></html>",
        encoding="utf-8",
    )
    text = tmp_path / "notes.txt"
    text.write_text("Nothing to run here, only prose.\n", encoding="utf-8")
    findings = check_against_fresh_sandbox("hadar", [page, text])
    assert [(f.result, f.kind) for f in findings] == [("ok", "curl"), ("ok", "document")]
    assert findings[0].message == "replayed: 200"


def test_docs_check__a_page_with_code_it_cannot_read_is_reported(tmp_path: Path) -> None:
    page = tmp_path / "odd.md"
    page.write_text("```json\nnot json at all\n```\n", encoding="utf-8")
    findings = check_against_fresh_sandbox("hadar", [page])
    assert [f.result for f in findings] == ["unparseable"]


def test_extract__python_and_fetch_snippets_from_the_vendor_style() -> None:
    doc = ROOT / "tests" / "docs" / "sample.md"
    doc.write_text(
        "```js\n"
        'const BASE_URL = "https://app.askad.ai/api/v1";\n'
        'await fetch("https://app.askad.ai/api/v1/leads/inbound", {method: "POST", '
        'body: JSON.stringify({email: "a@example.com", source: "zapier",}),});\n'
        "```\n\n"
        "Prose that mentions requests.post(\"https://app.askad.ai/api/v1/nope\") is not code.\n\n"
        "```python\n"
        "import requests\n"
        'requests.post("https://app.askad.ai/api/v1/leads/capture", json={"email": "b@example.com"})\n'
        "```\n",
        encoding="utf-8",
    )
    try:
        examples = extract(doc)
    finally:
        doc.unlink()
    assert [(e.kind, e.method, e.body) for e in examples] == [
        ("javascript", "POST", {"email": "a@example.com", "source": "zapier"}),
        ("python", "POST", {"email": "b@example.com"}),
    ]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_readme_curl_examples_run_with_curl() -> None:
    """Every curl block of the README, executed by curl itself against a fresh sandbox (host swapped)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```sh\n(.*?)```", readme, re.DOTALL)
    commands = [c.strip() for block in blocks for c in re.split(r"\n\s*\n", block) if c.strip().startswith("curl ")]
    assert len(commands) >= 7
    with running_sandbox(Config(db="memory", plans={"*": 10**9})) as origin:
        for command in commands:
            swapped = command.replace("http://127.0.0.1:4010", origin)
            result = subprocess.run(
                ["bash", "-c", f"{swapped} -sS -o /dev/null -w '%{{http_code}}'"],
                capture_output=True, text=True, timeout=60, check=False,
            )
            assert result.stdout.strip() in {"200", "201"}, f"{command}\n-> {result.stdout} {result.stderr}"
        assert httpx.get(origin + "/_sandbox/clock").status_code == 200
