"""The contract suite passes against the sandbox, fails (naming the check) against broken targets,
and refuses live keys against non-loopback hosts."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import orjson
import pytest

from sandbox.app import create_app
from sandbox.cli import main
from sandbox.config import Config
from sandbox.contracts.runner import ContractOptions, UnsafeTarget, guard, run_contract
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.contracts.vendors import VENDORS
from sandbox.core.loopback import is_loopback_url
from sandbox.spec import load_spec


@pytest.mark.parametrize("api", sorted(VENDORS))
def test_contract__sandbox_passes_every_check_and_phase(api: str, tmp_path: Path) -> None:
    report = tmp_path / "junit.xml"
    out = io.StringIO()
    code = run_contract(ContractOptions(api=api, max_examples=30, seed=7, junit_xml=str(report)), output=out)
    text = out.getvalue()
    assert code == 0, text[-6000:]
    # Stateful testing follows the spec's links; a spec with one operation (HREF) has none to follow.
    has_links = "links:" in (Path(__file__).resolve().parents[2] / "openapi" / VENDORS[api].spec_file).read_text()
    for phase in ("Examples", "Coverage", "Fuzzing", "Stateful") if has_links else ("Examples", "Coverage", "Fuzzing"):
        assert f"✅ {phase}" in text, f"phase {phase} did not pass:\n{text[-3000:]}"
    suite = ElementTree.parse(report).getroot()
    cases = suite.findall(".//testcase")
    spec = load_spec(VENDORS[api].spec_file)
    operations = sum(1 for item in spec["paths"].values() for method in item if method in {"get", "post", "patch", "delete", "put"})
    assert len(cases) >= operations, "one JUnit test case per operation at least"
    assert not suite.findall(".//failure") and not suite.findall(".//error")


@pytest.fixture
def broken_origin(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A hadar sandbox with one deliberate bug, served on loopback."""
    from sandbox.apis.hadar import models
    from sandbox.core.auth import Principal
    from sandbox.http import middleware

    bug = request.param
    if bug == "wrong_field_type":
        original = models.list_leads

        def list_leads(ws: Any, **kwargs: Any) -> dict:
            page = original(ws, **kwargs)
            items = orjson.loads(orjson.dumps(page["items"]))  # plain dicts, however the page holds them
            return {**page, "items": [{**item, "score": "high"} for item in items]}

        monkeypatch.setattr(models, "list_leads", list_leads)
    elif bug == "ignores_auth":
        monkeypatch.setattr(
            middleware,
            "authenticate",
            lambda *args: Principal("hadar", "marina-homes", "x" * 64, "admin", "growth"),
        )
    elif bug == "forgets_created_records":
        monkeypatch.setattr(models, "get_lead", lambda ws, lead_id: (_ for _ in ()).throw(models.errors.LeadNotFound()))
    config = Config(db="memory", apis=("hadar",), plans={"*": 10**9})
    with running_sandbox(config, app=create_app(config)) as origin:
        yield origin


@pytest.mark.parametrize(
    ("broken_origin", "operation", "phases", "expected"),
    [
        ("wrong_field_type", "listLeads", "examples,coverage,fuzzing", "response_schema_conformance"),
        ("ignores_auth", "listLeads", "examples,coverage", "ignored_auth"),
        ("forgets_created_records", ("createLead", "getLead"), "stateful", "ensure_resource_availability"),
    ],
    indirect=["broken_origin"],
    ids=["wrong_field_type", "ignores_auth", "forgets_created_records"],
)
def test_contract__broken_target_fails_naming_the_check(
    broken_origin: str, operation: str | tuple[str, ...], phases: str, expected: str
) -> None:
    operations = (operation,) if isinstance(operation, str) else operation
    extra = tuple(arg for op in operations for arg in ("--include-operation-id", op))
    out = io.StringIO()
    code = run_contract(
        ContractOptions(
            api="hadar",
            base_url=broken_origin + "/v1",
            # the stateful phase needs more scenarios to reach a create -> read link reliably
            max_examples=60 if phases == "stateful" else 10,
            seed=3,
            phases=phases,
            extra_args=extra,
        ),
        output=out,
    )
    text = out.getvalue()
    assert code != 0, text[-3000:]
    assert expected in text or _title(expected) in text, text[-4000:]


def _title(check: str) -> str:
    return {
        "response_schema_conformance": "Response violates schema",
        "ignored_auth": "API accepts requests without authentication",
        "ensure_resource_availability": "ST302 Created resource not found",
    }[check]


def test_contract__refuses_live_key_against_remote_host(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["contract", "--api", "hadar", "--base-url", "https://api.hadar-ai.com/v1", "--key", "hdr_live_abcdefgh12345678"])
    assert code == 2
    assert "live key" in capsys.readouterr().err


def test_contract__guard_allows_test_keys_and_loopback() -> None:
    conv = VENDORS["hadar"]
    guard(conv, "https://staging.example/v1", "hdr_test_abcdefgh")
    guard(conv, "http://127.0.0.1:4010/v1", "hdr_live_abcdefgh")
    assert is_loopback_url("http://acme.localtest.me:4010/api")
    with pytest.raises(UnsafeTarget):
        guard(conv, "https://staging.example/v1", "hdr_test_ok", "hdr_live_other")


def test_contract__honours_retry_after_when_rate_limited() -> None:
    """With a budget the run must exceed, every 429 is waited out (Retry-After) and the run is green."""
    config = Config(db="memory", apis=("hadar",), plans={"*": 15}, rate_window=2, validate_responses=True)
    app = create_app(config)
    statuses: list[int] = []

    async def counting(scope: Any, receive: Any, send: Any) -> None:
        async def record(message: Any) -> None:
            if message["type"] == "http.response.start":
                statuses.append(message["status"])
            await send(message)

        await app(scope, receive, record)

    out = io.StringIO()
    with running_sandbox(config, app=counting) as origin:
        code = run_contract(
            ContractOptions(api="hadar", base_url=origin + "/v1", max_examples=3, seed=1, phases="examples"),
            output=out,
        )
    assert statuses.count(429) >= 1, "the budget never tripped, so nothing was shown"
    assert code == 0, out.getvalue()[-4000:]
