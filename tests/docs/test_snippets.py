"""Requests as people write them in docs: curl's data forms, Python requests/httpx, JS fetch/axios,
and Markdown code blocks found by a Markdown parser."""

from __future__ import annotations

from pathlib import Path

from sandbox.contracts.cli import check_against_fresh_sandbox
from sandbox.contracts.snippets import (
    Block,
    calls_in,
    curl_calls,
    javascript_calls,
    markdown_blocks,
    python_calls,
)

LEADS = "https://api.hadar-ai.com/v1/leads"
ADMIN = "hdr_test_marina_growth_admin_4f9c2a7b"


def test_curl__json_flag_is_a_post_with_json_headers() -> None:
    (call,) = curl_calls(f"curl --json '{{\"name\": \"Aisha\"}}' {LEADS}")
    assert (call.method, call.url, call.body) == ("POST", LEADS, {"name": "Aisha"})
    assert call.headers["Content-Type"] == "application/json" and call.headers["Accept"] == "application/json"


def test_curl__data_raw_glued_method_and_pipe() -> None:
    (call,) = curl_calls(f"curl -XPUT {LEADS}/1 --data-raw '{{\"status\": \"won\"}}' | jq .")
    assert (call.method, call.url, call.body) == ("PUT", f"{LEADS}/1", {"status": "won"})


def test_curl__data_from_a_file_beside_the_document(tmp_path: Path) -> None:
    (tmp_path / "lead.json").write_text('{"name": "Omar"}')
    (call,) = curl_calls(f"curl -d @lead.json -H 'Content-Type: application/json' {LEADS}", tmp_path)
    assert (call.method, call.body, call.unparsed) == ("POST", {"name": "Omar"}, None)
    (missing,) = curl_calls(f"curl -d @nope.json {LEADS}", tmp_path)
    assert missing.body is None and "nope.json" in (missing.unparsed or "")


def test_curl__get_flag_moves_data_into_the_query() -> None:
    (call,) = curl_calls(f"curl -G {LEADS} -d limit=5 --data-urlencode 'status=new'")
    assert (call.method, call.url, call.has_body) == ("GET", f"{LEADS}?limit=5&status=new", False)


def test_python__requests_and_httpx_clients() -> None:
    calls = python_calls(
        "import httpx, requests\n"
        'BASE = "https://api.hadar-ai.com/v1"\n'
        "client = httpx.Client(base_url=BASE)\n"
        'client.post("/leads", json={"name": "A"})\n'
        'requests.get(f"{BASE}/leads", params={"limit": 5})\n'
        'httpx.request("DELETE", BASE + "/leads/1")\n'
        "with requests.Session() as session:\n"
        '    session.patch(BASE + "/leads/1", json={"status": "won"})\n'
    )
    assert [(c.method, c.url, c.body) for c in calls] == [
        ("POST", LEADS, {"name": "A"}),
        ("GET", LEADS + "?limit=5", None),
        ("DELETE", LEADS + "/1", None),
        ("PATCH", LEADS + "/1", {"status": "won"}),
    ]


def test_javascript__fetch_and_axios_forms() -> None:
    calls = javascript_calls(
        'const BASE = "https://api.hadar-ai.com/v1";\n'
        "await fetch(`${BASE}/leads`, { method: 'POST', body: JSON.stringify({ name: 'A' }) });\n"
        'const api = axios.create({ baseURL: "https://app.askad.ai/api/v1" });\n'
        'await api.post("/leads/inbound", { email: "a@b.c" });\n'
        "await axios.get(BASE + '/leads', { params: { limit: 5 } });\n"
        "await axios({ method: 'patch', url: BASE + '/leads/1', data: { status: 'won' } });\n"
    )
    assert [(c.method, c.url, c.body) for c in calls] == [
        ("POST", LEADS, {"name": "A"}),
        ("POST", "https://app.askad.ai/api/v1/leads/inbound", {"email": "a@b.c"}),
        ("GET", LEADS + "?limit=5", None),
        ("PATCH", LEADS + "/1", {"status": "won"}),
    ]


def test_markdown__code_blocks_with_their_language_and_line() -> None:
    text = "# Title\n\nSee `curl https://x`.\n\n```bash\ncurl https://a/v1/leads\n```\n\n    curl https://b/v1\n"
    blocks = markdown_blocks(text)
    assert [(b.language, b.line) for b in blocks] == [("bash", 6), ("", 9)]
    assert calls_in(Block("text", "curl https://a", 1)) == []  # a block of another language is not code here


def test_docs_check__curl_json_with_an_invalid_body_is_invalid_not_a_get(tmp_path: Path) -> None:
    page = tmp_path / "invalid.md"
    page.write_text(f"```sh\ncurl --json '{{\"phone\": 12}}' {LEADS} -H 'Authorization: Bearer {ADMIN}'\n```\n")
    (finding,) = check_against_fresh_sandbox("hadar", [page])
    assert (finding.result, finding.operation) == ("invalid", "POST /leads (createLead)"), finding
