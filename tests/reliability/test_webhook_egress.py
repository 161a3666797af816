"""Issue 12 point 6: the webhook egress policy. Link-local and metadata addresses are always refused,
private ranges unless allowed; the check is on the resolved address at connect time, and the connection
goes to the checked address; refusals at registration are each API's 400; `serve` reads the variable."""

from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import time

import httpx
import pytest
from conftest import MARINA_ADMIN, bearer, wait_for

from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.core import egress
from sandbox.serving import free_port

ALWAYS_REFUSED = ["169.254.169.254", "169.254.0.1", "fe80::1", "fd00:ec2::254", "::ffff:169.254.169.254",
                  "100.100.100.200", "168.63.129.16", "0.0.0.0", "224.0.0.1", "::"]
PRIVATE = ["10.0.0.5", "172.16.3.4", "192.168.1.10", "100.64.0.1", "fd12:3456::1"]
LOOPBACK = ["127.0.0.1", "127.8.9.10", "::1"]
PUBLIC = ["93.184.215.14", "8.8.8.8", "2606:4700:4700::1111"]


@pytest.mark.parametrize("policy", egress.POLICIES)
@pytest.mark.parametrize("address", ALWAYS_REFUSED)
def test_link_local_metadata_and_non_unicast_are_refused_under_every_policy(policy, address):
    with pytest.raises(egress.EgressRefused):
        egress.check_address(ipaddress.ip_address(address), policy)


@pytest.mark.parametrize("address", PRIVATE)
def test_private_ranges_only_when_allowed(address):
    ip = ipaddress.ip_address(address)
    for policy in ("loopback", "public"):
        with pytest.raises(egress.EgressRefused):
            egress.check_address(ip, policy)
    egress.check_address(ip, "any")


@pytest.mark.parametrize("address", LOOPBACK)
def test_loopback_is_allowed_under_every_policy(address):
    for policy in egress.POLICIES:
        egress.check_address(ipaddress.ip_address(address), policy)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_unless_loopback_only(address):
    ip = ipaddress.ip_address(address)
    egress.check_address(ip, "public")
    egress.check_address(ip, "any")
    with pytest.raises(egress.EgressRefused):
        egress.check_address(ip, "loopback")


@pytest.mark.parametrize("url", ["http://metadata.google.internal/computeMetadata/v1/", "http://metadata/",
                                 "http://[fd00:ec2::254]/latest", "ftp://127.0.0.1/x", "http:///nohost"])
def test_metadata_names_and_odd_urls_are_refused_without_a_lookup(url):
    with pytest.raises(egress.EgressRefused):
        egress.check_url(url, "any")


def test_an_unknown_policy_is_an_error_not_a_silent_default():
    with pytest.raises(ValueError, match="loopback, public, any"):
        Config(webhook_hosts="lookback")


# --- resolution at connect time ---------------------------------------------------------------------------
@pytest.fixture
def dns(monkeypatch):
    """A fake resolver: name -> address; every lookup is recorded (the event loop calls socket.getaddrinfo)."""
    answers: dict[str, str] = {}
    asked: list[str] = []
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        asked.append(host)
        if host in answers:
            family = socket.AF_INET6 if ":" in answers[host] else socket.AF_INET
            return [(family, socket.SOCK_STREAM, 6, "", (answers[host], port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, asked


@pytest.mark.anyio
async def test_a_name_is_pinned_to_its_checked_address_with_host_and_sni_kept(dns):
    answers, _ = dns
    answers["hooks.example.com"] = "93.184.215.14"
    pinned = await egress.pin("https://hooks.example.com:8443/in?x=1", "public")
    assert str(pinned.url) == "https://93.184.215.14:8443/in?x=1"
    assert pinned.headers == {"Host": "hooks.example.com:8443"}
    assert pinned.extensions == {"sni_hostname": "hooks.example.com"}


@pytest.mark.anyio
async def test_a_name_resolving_to_an_internal_address_is_refused(dns):
    answers, _ = dns
    answers["rebind.example.com"] = "169.254.169.254"
    answers["intranet.example.com"] = "10.1.2.3"
    with pytest.raises(egress.EgressRefused, match="metadata"):
        await egress.pin("http://rebind.example.com/", "any")
    with pytest.raises(egress.EgressRefused, match="private"):
        await egress.pin("http://intranet.example.com/", "public")
    await egress.pin("http://intranet.example.com/", "any")


@pytest.mark.anyio
async def test_localhost_names_never_reach_dns_and_loopback_mode_looks_nothing_up(dns):
    _, asked = dns
    pinned = await egress.pin("http://evil.localhost:9/hook", "public")
    assert pinned.url.host == "127.0.0.1" and pinned.headers == {"Host": "evil.localhost:9"}
    with pytest.raises(egress.EgressRefused):
        await egress.pin("http://example.com/hook", "loopback")
    assert asked == []


@pytest.fixture
def anyio_backend():
    return "asyncio"


# --- end to end: deliveries and registrations ------------------------------------------------------------------
def _sandbox(policy: str):
    return running_sandbox(Config(db="memory", plans={"*": 10**9}, webhook_hosts=policy))


def _deliveries(server: str, endpoint_id: str) -> list[dict]:
    with httpx.Client(base_url=server + "/hadar/v1", headers=bearer(MARINA_ADMIN), timeout=10) as http:
        return http.get(f"/webhooks/{endpoint_id}/deliveries").json()["data"]["items"]


def _register_and_create(server: str, url: str) -> str:
    with httpx.Client(base_url=server + "/hadar/v1", headers=bearer(MARINA_ADMIN), timeout=10) as http:
        endpoint = http.post("/webhooks", json={"url": url, "events": ["lead.created"]})
        assert endpoint.status_code == 201, endpoint.text
        assert http.post("/leads", json={"name": "Pinned Delivery", "phone": "+971500000003"}).status_code == 201
        return str(endpoint.json()["data"]["id"])


def test_delivery_connects_to_the_checked_address_and_keeps_the_name(dns, receiver):
    answers, asked = dns
    port = receiver.url.split(":")[2].split("/")[0]
    answers["crm.example.com"] = "127.0.0.1"  # a public name whose address is this machine
    with _sandbox("public") as server:
        _register_and_create(server, f"http://crm.example.com:{port}/hook")
        (request,) = receiver.wait(1, timeout=10)
    assert request.headers["host"] == f"crm.example.com:{port}"
    assert asked.count("crm.example.com") == 1  # resolved once, by the check; httpx did not look it up again


def test_a_delivery_to_a_name_that_rebinds_to_metadata_is_blocked(dns, receiver):
    answers, _ = dns
    port = receiver.url.split(":")[2].split("/")[0]
    answers["rebind.example.com"] = "127.0.0.1"  # what it said at registration time ...
    with _sandbox("any") as server:
        with httpx.Client(base_url=server + "/hadar/v1", headers=bearer(MARINA_ADMIN), timeout=10) as http:
            endpoint = http.post("/webhooks", json={"url": f"http://rebind.example.com:{port}/h",
                                                        "events": ["lead.created"]})
            assert endpoint.status_code == 201
            answers["rebind.example.com"] = "169.254.169.254"  # ... and what it says when the delivery connects
            assert http.post("/leads", json={"name": "Rebound Lead", "phone": "+971500000004"}).status_code == 201
        endpoint_id = endpoint.json()["data"]["id"]
        delivery = wait_for(lambda: next((d for d in _deliveries(server, endpoint_id) if d["attempts"]), None))
    assert delivery["state"] == "failed"
    assert delivery["attempts"][0]["error"].startswith("blocked:") and "metadata" in delivery["attempts"][0]["error"]
    assert receiver.count() == 0


def test_a_localhost_subdomain_is_delivered_on_loopback_without_dns(dns, receiver):
    _, asked = dns
    port = receiver.url.split(":")[2].split("/")[0]
    with _sandbox("loopback") as server:
        _register_and_create(server, f"http://tenant-a.localhost:{port}/hook")
        (request,) = receiver.wait(1, timeout=10)
    assert request.headers["host"] == f"tenant-a.localhost:{port}"
    assert "tenant-a.localhost" not in asked


BAD = ["https://169.254.169.254/latest/meta-data/", "https://[::ffff:169.254.169.254]/", "https://10.0.0.5/hook",
       "https://metadata.google.internal/x"]


@pytest.mark.parametrize("url", BAD)
def test_registration_refuses_with_each_apis_own_400(url):
    with _sandbox("public") as server:
        with httpx.Client(base_url=server, timeout=10) as http:
            hadar = http.post("/hadar/v1/webhooks", json={"url": url, "events": ["lead.created"]},
                              headers=bearer(MARINA_ADMIN))
            assert hadar.status_code == 400, hadar.text
            assert hadar.json()["data"] is None and hadar.json()["error"]["field"] == "webhook.url"

            leaditio = http.post("/leaditio/api/v1/leads/webhook", headers=bearer("ldt_test_sunvolt_pro_9f31c0a7"),
                                 json={"url": url, "events": ["lead.new"], "secret": "s" * 32})
            assert leaditio.status_code == 400, leaditio.text
            assert leaditio.json()["code"] and "refused" in leaditio.json()["message"]

            control = http.post("/_sandbox/webhooks", json={"api": "askad", "tenant": "brightpath-marketing",
                                                             "url": url, "events": ["*"]})
            assert control.status_code == 400, control.text
            hadar_crm = http.post("/_sandbox/webhooks", json={"api": "hadar-crm", "tenant": "al-noor-realty",
                                                               "url": url, "events": ["*"]})
            assert hadar_crm.status_code == 400, hadar_crm.text


def test_serve_reads_the_policy_from_the_environment(tmp_path):
    port = free_port()
    env = {**os.environ, "LEAD_SANDBOX_WEBHOOK_HOSTS": "loopback"}
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", "--port", str(port), "--db", "memory",
                                "--api", "hadar"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/v1/webhooks", headers=bearer(MARINA_ADMIN),
                                      json={"url": "http://93.184.215.14/hook", "events": ["lead.created"]}, timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None and time.monotonic() < deadline, "serve did not come up"
                time.sleep(0.1)
        # a public address under `loopback`: refused (the old serve ignored the variable and said 201)
        assert response.status_code == 400, response.text
    finally:
        process.terminate()
        process.communicate(timeout=20)


def test_serve_refuses_an_unknown_policy_in_one_line():
    env = {**os.environ, "LEAD_SANDBOX_WEBHOOK_HOSTS": "everywhere"}
    result = subprocess.run([sys.executable, "-m", "sandbox", "serve", "--db", "memory", "--port", str(free_port())],
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "everywhere" in result.stderr and "Traceback" not in result.stderr
