"""Shared fixtures: a fresh in-memory sandbox per test, served by a real uvicorn on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from contracts.sandbox_server import running_sandbox
from sandbox.app import create_app, runtime_of
from sandbox.config import Config
from sandbox.runtime import Runtime

MARINA_ADMIN = "hdr_test_marina_growth_admin_4f9c2a7b"
MARINA_READONLY = "hdr_test_marina_growth_readonly_8d1e6b30"
MARINA_STARTER = "hdr_test_marina_starter_admin_c5a91f27"
MARINA_ENTERPRISE = "hdr_test_marina_enterprise_admin_e07b3d58"
PALM_ADMIN = "hdr_test_palmcrest_starter_admin_19b7e4c2"
PALM_READONLY = "hdr_test_palmcrest_starter_readonly_6a3f0d81"

MARINA_SEEDED_LEADS = 150
PALM_SEEDED_LEADS = 120


def _lead_example(name: str) -> dict:
    """A createLead request example of openapi/hadar.yaml: the vendor page's own bodies."""
    from sandbox.spec import load_spec

    examples = load_spec("hadar.yaml")["paths"]["/leads"]["post"]["requestBody"]["content"]["application/json"]
    return dict(examples["examples"][name]["value"])


AISHA = _lead_example("aisha")
OMAR = _lead_example("omar")


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@pytest.fixture
def config() -> Config:
    return Config(db="memory", plans={"*": 10**9}, validate_responses=True)


@pytest.fixture
def app(config: Config):
    application = create_app(config)
    yield application
    runtime_of(application).store.close()


@pytest.fixture
def runtime(app) -> Runtime:
    return runtime_of(app)


@pytest.fixture
def server(app, config: Config) -> Iterator[str]:
    with running_sandbox(config, app=app) as origin:
        yield origin


@pytest.fixture
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server + "/hadar/v1", headers=bearer(MARINA_ADMIN), timeout=30) as c:
        yield c
