"""`listen`, `trigger` and `clock` against a real sandbox on loopback: every API that sends webhooks,
a signing secret stable across runs, and durations as people write them."""

from __future__ import annotations

import io
import threading
import time
from collections.abc import Iterator
from datetime import datetime

import click
import httpx
import pytest
from conftest import Receiver

from sandbox.apis import registry
from sandbox.cli import main
from sandbox.cli.helpers import default_tenant, parse_duration
from sandbox.config import Config
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.listen import listen, stable_secret
from sandbox.serving import serve_in_thread

TENANTS = {"hadar": "marina-homes", "hadar-crm": "al-noor-realty", "leaditio": None, "askad": None}


@pytest.fixture(scope="module")
def origin() -> Iterator[str]:
    with running_sandbox(Config(db="memory", plans={"*": 10**9}, webhook_hosts="loopback")) as served:
        yield served


@pytest.fixture
def app_receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    with serve_in_thread(receiver, lifespan="off") as served:
        receiver.url = served + "/hooks"
        yield receiver


def _first_tenant(api: str) -> str:
    from sandbox.seeding import load_fixture

    return str(load_fixture(api)["tenants"][0]["slug"])


def _run_listener(api: str, origin: str, forward_to: str) -> tuple[threading.Event, threading.Thread, io.StringIO]:
    out, stop = io.StringIO(), threading.Event()
    thread = threading.Thread(
        target=listen,
        kwargs={"api": api, "tenant": _first_tenant(api), "origin": origin, "forward_to": forward_to, "out": out, "stop": stop},
        daemon=True,
    )
    thread.start()
    deadline = time.monotonic() + 20
    while "Ready!" not in out.getvalue():
        assert thread.is_alive() and time.monotonic() < deadline, out.getvalue()
        time.sleep(0.05)
    return stop, thread, out


@pytest.mark.parametrize("api", ["hadar", "hadar-crm", "leaditio", "askad"])
def test_listen__forwards_a_triggered_event_signed_with_the_stable_secret(
    api: str, origin: str, app_receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    stop, thread, out = _run_listener(api, origin, app_receiver.url)
    try:
        secret = stable_secret(api, _first_tenant(api), app_receiver.url)
        assert secret in out.getvalue()
        event = next(iter(registry()[api].triggers))
        assert main(["trigger", event, "--api", api, "--base-url", origin]) == 0
        assert f"Triggered {event}" in capsys.readouterr().out
        (forwarded,) = app_receiver.wait(1, timeout=15)
        style = registry()[api].webhooks
        assert style is not None and style.verify is not None
        assert style.verify(secret, forwarded.body, forwarded.headers)  # the user's app verifies with it
        deadline = time.monotonic() + 10
        while "verified" not in out.getvalue():
            assert time.monotonic() < deadline, out.getvalue()
            time.sleep(0.05)
        assert "INVALID" not in out.getvalue()
    finally:
        stop.set()
        thread.join(timeout=15)
    endpoints = httpx.get(f"{origin}/_sandbox/deliveries", params={"api": api}).json()["data"]
    assert endpoints  # the delivery stays readable after the endpoint is gone


def test_listen__secret_is_the_same_across_runs_and_differs_per_tenant_and_url() -> None:
    assert stable_secret("hadar", "marina-homes", "http://localhost:3000/hooks") == stable_secret(
        "hadar", "marina-homes", "http://localhost:3000/hooks")
    assert stable_secret("hadar", "marina-homes", "http://localhost:3000/hooks") != stable_secret(
        "hadar", "palm-crest", "http://localhost:3000/hooks")
    assert stable_secret("hadar", "marina-homes", "http://a/") != stable_secret("hadar", "marina-homes", "http://b/")


def test_listen__no_sandbox_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    from sandbox.serving import free_port

    assert main(["listen", "--api", "askad", "--base-url", f"http://127.0.0.1:{free_port()}"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no sandbox answers" in err


def test_trigger__unknown_event_is_the_servers_one_line(origin: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trigger", "lead.exploded", "--api", "hadar", "--base-url", origin]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "lead.exploded" in err


def test_clock__freeze_advance_show_unfreeze(origin: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["clock", "freeze", "--base-url", origin, "--json"]) == 0
    import json

    frozen = json.loads(capsys.readouterr().out)
    assert frozen["frozen"] is True
    assert main(["clock", "advance", "1h30m", "--base-url", origin, "--json"]) == 0
    advanced = json.loads(capsys.readouterr().out)
    from datetime import datetime

    def at(value: str) -> datetime:
        return datetime.fromisoformat(value)

    assert (at(advanced["now"]) - at(frozen["now"])).total_seconds() == 5400
    assert main(["clock", "show", "--base-url", origin]) == 0
    assert "(frozen)" in capsys.readouterr().out
    assert main(["clock", "unfreeze", "--base-url", origin]) == 0
    assert "(frozen)" not in capsys.readouterr().out


def test_clock__api_alone_moves_that_apis_first_fixture_tenant(origin: str, capsys: pytest.CaptureFixture[str]) -> None:
    """`--api` without `--tenant` is one tenant, picked as `trigger` picks it; no other clock moves."""
    import json

    assert main(["clock", "freeze", "--api", "hadar", "--base-url", origin, "--json"]) == 0
    frozen = json.loads(capsys.readouterr().out)
    assert frozen["api"] == "hadar" and frozen["tenant"] == default_tenant("hadar") and frozen["frozen"] is True
    assert main(["clock", "advance", "2h", "--api", "hadar", "--base-url", origin, "--json"]) == 0
    moved = json.loads(capsys.readouterr().out)
    assert moved["tenant"] == frozen["tenant"]
    assert (datetime.fromisoformat(moved["now"]) - datetime.fromisoformat(frozen["now"])).total_seconds() == 7200
    assert main(["clock", "show", "--base-url", origin, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["frozen"] is False  # every other tenant's clock runs on
    assert main(["clock", "advance", "1m", "--api", "hadar", "--base-url", origin]) == 0
    line = capsys.readouterr().out.strip()
    assert line.startswith("sandbox time ") and f" (frozen) for hadar/{frozen['tenant']}; " in line, line
    assert main(["clock", "unfreeze", "--api", "hadar", "--base-url", origin]) == 0
    assert capsys.readouterr().out.strip().endswith(f" for hadar/{frozen['tenant']}")


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("15m", 900), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("45", 45)])
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "5x", "1h 5", "h"])
def test_parse_duration__rejects_what_is_not_a_duration(text: str) -> None:
    with pytest.raises(click.BadParameter):
        parse_duration(text)
