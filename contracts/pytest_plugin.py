"""pytest plugin (entry point `lead_sandbox`): a `lead_sandbox` fixture that serves an isolated sandbox
for the session (like moto's server mode), and `--lead-sandbox-api` to run the contract suite as a
test item against the sandbox or any `--lead-sandbox-url`."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sandbox.contracts.runner import KEY_ENV, ContractOptions, run_contract
from sandbox.contracts.sandbox_server import running_sandbox

from sandbox.config import Config


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lead-sandbox")
    group.addoption("--lead-sandbox-api", action="append", default=[], help="run the contract suite for this API")
    group.addoption("--lead-sandbox-url", default=None, help="base URL to contract-test instead of a fresh sandbox")
    group.addoption("--lead-sandbox-key", default=None, help=f"test key (default ${KEY_ENV} or the fixture key)")
    group.addoption("--lead-sandbox-max-examples", type=int, default=25)
    group.addoption("--lead-sandbox-seed", type=int, default=42, help="seed of the lead_sandbox fixture's data")


@dataclass(frozen=True)
class SandboxHandle:
    """What a test gets from `lead_sandbox`: where each API answers and which keys to use."""

    origin: str
    runtime: Any

    def base_url(self, api: str) -> str:
        return self.origin + self.runtime.apis[api].bases(False)[0]

    def keys(self, api: str) -> list[dict[str, Any]]:
        from sandbox.seeding import load_fixture

        return [
            {"tenant": tenant["slug"], **key}
            for tenant in load_fixture(api)["tenants"]
            for key in tenant.get("keys", [])
        ]

    def key(self, api: str, tenant: str | None = None, role: str = "admin") -> str:
        for key in self.keys(api):
            if (tenant is None or key["tenant"] == tenant) and key.get("role", "admin") == role:
                return str(key["key"])
        raise LookupError(f"no {role} key for {api} {tenant or ''}")


@pytest.fixture(scope="session")
def lead_sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxHandle]:
    """An isolated sandbox (in-memory store, every API) on a free loopback port for the session."""
    from sandbox.app import create_app, runtime_of

    config = Config(
        db="memory", seed=request.config.getoption("--lead-sandbox-seed"), plans={"*": 10**9}, webhook_hosts="loopback"
    )
    app = create_app(config)
    with running_sandbox(config, app=app) as origin:
        yield SandboxHandle(origin, runtime_of(app))


class ContractItem(pytest.Item):
    def __init__(self, *, api: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.api = api
        self.report = ""

    def runtest(self) -> None:
        options = self.config.option
        buffer = io.StringIO()
        code = run_contract(
            ContractOptions(
                api=self.api,
                base_url=options.lead_sandbox_url,
                key=options.lead_sandbox_key or os.environ.get(KEY_ENV),
                max_examples=options.lead_sandbox_max_examples,
            ),
            output=buffer,
        )
        self.report = buffer.getvalue()
        if code != 0:
            raise ContractFailed(self.report)

    def repr_failure(self, excinfo: Any, style: Any = None) -> str:
        if isinstance(excinfo.value, ContractFailed):
            return f"contract suite for {self.api} failed:\n{excinfo.value}"
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[str, int | None, str]:
        return "lead-sandbox", None, f"contract[{self.api}]"


class ContractFailed(Exception):
    pass


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    for api in config.getoption("--lead-sandbox-api"):
        items.append(ContractItem.from_parent(session, name=f"lead_sandbox_contract[{api}]", api=api))
