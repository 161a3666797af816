"""The control plane refuses cross-site requests and foreign Host names (issue 12 point 2), over real
HTTP: design.md, "The control plane is not a CSRF target". Before the fix a page on any origin could
`POST /_sandbox/reset` (no body: no CORS preflight) and the sandbox obeyed.

The browser test runs Debian's chromium (skipped when absent): a page on another origin posts to the
control plane exactly as an attacker's page would; a page on a loopback origin doing the same shows
that the page really reaches the sandbox (so the test can fail)."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from conftest import AISHA, MARINA_ADMIN, bearer
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from contracts.sandbox_server import running_sandbox
from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.core.host_guard import host_refusal, origin_refusal
from sandbox.serving import serve_in_thread

CHROME_HEADERS = {  # what Chromium sends with a cross-site form POST
    "Origin": "https://evil.example",
    "Sec-Fetch-Site": "cross-site",
    "Sec-Fetch-Mode": "navigate",
    "Sec-Fetch-Dest": "document",
    "Content-Type": "application/x-www-form-urlencoded",
    "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
}


def _port(server: str) -> int:
    return urlsplit(server).port or 80


def _created_lead(server: str) -> str:
    response = httpx.post(server + "/hadar/v1/leads", json=AISHA, headers=bearer(MARINA_ADMIN), timeout=30)
    assert response.status_code == 201
    return response.json()["data"]["id"]


def _lead_exists(server: str, lead_id: str) -> bool:
    response = httpx.get(f"{server}/hadar/v1/leads/{lead_id}", headers=bearer(MARINA_ADMIN), timeout=30)
    return response.status_code == 200


def _forbidden(response: httpx.Response) -> dict:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["code"] == "forbidden" and error["trace_id"]
    return error


# --- the pure rules -----------------------------------------------------------------------------------
@pytest.mark.parametrize("host", ["127.0.0.1:4010", "localhost:4010", "[::1]:4010", "acme.localtest.me:4010",
                                  "x.localhost", "LOCALHOST", "127.0.0.2", None])
def test_loopback_hosts_pass(host):
    assert host_refusal(host, "127.0.0.1", ()) is None


@pytest.mark.parametrize("host", ["evil.example", "evil.example:4010", "127.0.0.1.evil.example", "localhost.evil.example",
                                  "10.0.0.5:4010", "[2001:db8::1]:4010"])
def test_foreign_hosts_are_refused(host):
    assert host_refusal(host, "127.0.0.1", ()) is not None


def test_configured_and_allowed_hosts_pass():
    assert host_refusal("10.0.0.5:4010", "10.0.0.5", ()) is None
    assert host_refusal("sandbox.team:4010", "0.0.0.0", ("sandbox.team",)) is None
    assert host_refusal("a.sandbox.team", "0.0.0.0", ("*.sandbox.team",)) is None
    assert host_refusal("evil.example", "0.0.0.0", ("*.sandbox.team",)) is not None
    assert host_refusal("0.0.0.0", "0.0.0.0", ()) is not None  # binding to every address names no host


@pytest.mark.parametrize(("origin", "site"), [(None, None), ("http://localhost:4010", "same-origin"),
                                              ("http://127.0.0.1:3000", "same-site"), ("http://[::1]:8080", None),
                                              ("http://sandbox.team:4010", None)])
def test_own_and_loopback_origins_pass(origin, site):
    assert origin_refusal(origin, site, "sandbox.team:4010") is None


@pytest.mark.parametrize(("origin", "site"), [("https://evil.example", None), ("null", None), (None, "cross-site"),
                                              ("http://localhost:4010", "cross-site"), ("file://", None),
                                              ("http://sandbox.team:4011", None)])
def test_foreign_origins_are_refused(origin, site):
    assert origin_refusal(origin, site, "sandbox.team:4010") is not None


# --- over real HTTP -------------------------------------------------------------------------------------
def test_cross_site_reset_is_refused_and_changes_nothing(server: str):
    lead_id = _created_lead(server)
    _forbidden(httpx.post(server + "/_sandbox/reset", headers={"Origin": "https://evil.example"}, timeout=30))
    _forbidden(httpx.post(server + "/_sandbox/reset", headers=CHROME_HEADERS, content=b"x=1", timeout=30))
    _forbidden(httpx.post(server + "/_sandbox/reset", headers={"Sec-Fetch-Site": "cross-site"}, timeout=30))
    _forbidden(httpx.post(server + "/_sandbox/reset", headers={"Origin": "null"}, timeout=30))
    assert _lead_exists(server, lead_id)


def test_dns_rebinding_host_is_refused_even_without_origin(server: str):
    lead_id = _created_lead(server)
    error = _forbidden(httpx.post(server + "/_sandbox/reset", headers={"Host": f"rebind.evil.example:{_port(server)}"},
                                  timeout=30))
    assert "DNS-rebinding" in error["message"]
    _forbidden(httpx.get(server + "/_sandbox/clock", headers={"Host": "rebind.evil.example"}, timeout=30))
    assert _lead_exists(server, lead_id)


@pytest.mark.parametrize("path", ["/_sandbox", "/_sandbox/", "/_sandbox/ui/", "/_sandbox/ui/requests",
                                  "/_sandbox/openapi.json", "/_sandbox/tenants"])
def test_every_control_plane_path_is_guarded(server: str, path: str):
    _forbidden(httpx.get(server + path, headers={"Origin": "https://evil.example"}, timeout=30))
    _forbidden(httpx.get(server + path, headers={"Host": "evil.example"}, timeout=30))


def test_curl_and_scripts_work_as_before(server: str):
    assert httpx.get(server + "/_sandbox/clock", timeout=30).status_code == 200  # no Origin, Host 127.0.0.1
    port = _port(server)
    for host in (f"localhost:{port}", f"acme.localtest.me:{port}"):
        assert httpx.get(server + "/_sandbox/clock", headers={"Host": host}, timeout=30).status_code == 200
    same_origin = {"Origin": server, "Sec-Fetch-Site": "same-origin"}  # the web inspector's own requests
    assert httpx.post(server + "/_sandbox/clock/unfreeze", headers=same_origin, timeout=30).status_code == 200


def test_vendor_apis_are_not_affected(server: str):
    """Browsers may call the vendor APIs (they need a key); the guard is the control plane's."""
    response = httpx.get(server + "/hadar/v1/leads", headers={**bearer(MARINA_ADMIN), "Origin": "https://app.example"},
                         timeout=30)
    assert response.status_code == 200


@pytest.fixture
def team_server() -> Iterator[str]:
    config = Config(db="memory", host="0.0.0.0", allowed_hosts=("sandbox.team",))
    app = create_app(config)
    try:
        with running_sandbox(config, app=app) as origin:
            yield origin
    finally:
        runtime_of(app).store.close()


def test_allowed_hosts_and_their_own_origin_pass(team_server: str):
    host = f"sandbox.team:{_port(team_server)}"
    own = {"Host": host, "Origin": f"http://{host}"}
    assert httpx.get(team_server + "/_sandbox/clock", headers=own, timeout=30).status_code == 200
    _forbidden(httpx.get(team_server + "/_sandbox/clock", headers={"Host": "other.team"}, timeout=30))
    _forbidden(httpx.get(team_server + "/_sandbox/clock", headers={"Host": host, "Origin": "http://evil.team"}, timeout=30))


# --- a real browser ---------------------------------------------------------------------------------------
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

ATTACK = """<!doctype html><html><body><p id="state">waiting</p><script>
fetch("%(target)s/_sandbox/reset", {method: "POST", mode: "no-cors"})
  .then(() => { document.getElementById("state").textContent = "sent"; })
  .catch((e) => { document.getElementById("state").textContent = "failed " + e; });
</script></body></html>"""


def _run_page(page_url: str) -> str:
    """Load a page in headless Chromium; its DOM once its script ran. evil.test resolves to loopback."""
    result = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-extensions",
         "--host-resolver-rules=MAP evil.test 127.0.0.1", "--virtual-time-budget=10000", "--dump-dom", page_url],
        capture_output=True, text=True, timeout=120, check=False,
    )
    return result.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_a_page_on_another_origin_cannot_reset_the_sandbox_in_chromium(server: str):
    page = Starlette(routes=[Route("/", lambda _request: HTMLResponse(ATTACK % {"target": server}))])
    with serve_in_thread(page, lifespan="off") as page_origin:
        page_port = _port(page_origin)
        # control: the same page on the sandbox's own site does reach and reset the sandbox
        lead_id = _created_lead(server)
        assert "sent" in _run_page(f"http://127.0.0.1:{page_port}/")  # same site, another port
        assert not _lead_exists(server, lead_id), "the page must really reach the sandbox"
        # the attack: the page on another origin
        lead_id = _created_lead(server)
        assert "sent" in _run_page(f"http://evil.test:{page_port}/")
        assert _lead_exists(server, lead_id), "a cross-site page reset the sandbox"
