"""Run the contract suite for one API against the sandbox (fresh, on loopback) or any base URL."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sandbox.config import SPEC_DIR, Config
from sandbox.contracts.sandbox_server import running_sandbox
from sandbox.contracts.vendors import VENDORS, Conventions
from sandbox.core.loopback import is_loopback_url

KEY_ENV = "LEAD_SANDBOX_KEY"
OTHER_KEY_ENV = "LEAD_SANDBOX_OTHER_KEY"
UNLIMITED = 10**9


#: Schemathesis' own report formats, written to `report_dir` when asked for
REPORT_FORMATS = ("junit", "vcr", "har", "ndjson", "allure", "html")


class UnsafeTarget(Exception):
    """A live key aimed at a non-loopback host: the suite creates records and triggers sends."""


class UnreachableTarget(Exception):
    """Nothing answers at the base URL: said in one line within seconds, before Schemathesis starts."""


@dataclass(frozen=True)
class ContractOptions:
    api: str
    base_url: str | None = None
    key: str | None = None
    other_key: str | None = None
    max_examples: int = 25
    workers: int = 1
    seed: int | None = None
    junit_xml: str | None = None
    phases: str | None = None
    #: Schemathesis report formats (REPORT_FORMATS), written to `report_dir`
    reports: tuple[str, ...] = ()
    report_dir: str = "reports"
    extra_args: tuple[str, ...] = field(default_factory=tuple)


def guard(conv: Conventions, base_url: str, *keys: str | None) -> None:
    if is_loopback_url(base_url):
        return
    for key in keys:
        if key and key.startswith(conv.live_prefixes):
            raise UnsafeTarget(
                f"refusing to run against {base_url} with a live key ({key[:12]}…): the contract suite "
                "creates records and would trigger real sends. Use a test key."
            )


def command(conv: Conventions, options: ContractOptions, base_url: str, key: str) -> list[str]:
    cmd = [
        sys.executable, "-m", "schemathesis.cli", "run", str(SPEC_DIR / conv.spec_file),
        "--url", base_url,
        "--header", f"{conv.auth_header}: {conv.auth(key)}",
        "--max-examples", str(options.max_examples),
        "--workers", str(options.workers),
        "--rate-limit", "auto",  # honour 429 Retry-After
        "--mode", "all",
        "--phases", options.phases or "examples,coverage,fuzzing,stateful",
        "--checks", "all",
        "--suppress-health-check", "all",
        "--no-color",
    ]
    if options.seed is not None:
        cmd += ["--seed", str(options.seed)]
    reports = list(dict.fromkeys(options.reports))
    if options.junit_xml and "junit" not in reports:
        reports.append("junit")
    if reports:
        Path(options.report_dir).mkdir(parents=True, exist_ok=True)
        cmd += ["--report", ",".join(reports), "--report-dir", options.report_dir]
    if options.junit_xml:
        Path(options.junit_xml).parent.mkdir(parents=True, exist_ok=True)
        cmd += ["--report-junit-path", options.junit_xml]
    return cmd + list(options.extra_args)


def check_reachable(base_url: str, timeout: float = 5.0) -> None:
    """Any HTTP answer will do (even 404); no answer at all is one clear line, not minutes of errors."""
    import httpx

    try:
        httpx.get(base_url, timeout=timeout, trust_env=False)
    except httpx.HTTPError as exc:
        reason = str(exc) or exc.__class__.__name__
        raise UnreachableTarget(f"nothing answers at {base_url} ({reason}); is the server running and the URL right?") from None


def planned_requests(conv: Conventions, options: ContractOptions) -> int:
    """A rough upper bound of the run's requests (operations x examples), for the wait estimates."""
    import yaml

    spec = yaml.safe_load((SPEC_DIR / conv.spec_file).read_text(encoding="utf-8"))
    methods = {"get", "put", "post", "delete", "patch", "head", "options"}
    operations = sum(1 for item in spec.get("paths", {}).values() for name in item if name in methods)
    return operations * options.max_examples


def run_contract(
    options: ContractOptions, *, sandbox_config: Config | None = None, output: IO[str] | None = None
) -> int:
    """Exit code of the run: 0 only when every check passed. `output` captures Schemathesis' report."""
    conv = VENDORS[options.api]
    default_key, default_other = conv.default_keys()
    key = options.key or os.environ.get(KEY_ENV) or default_key
    other = options.other_key or os.environ.get(OTHER_KEY_ENV)
    if options.base_url is not None:
        guard(conv, options.base_url, key, other)
        check_reachable(options.base_url)
        if other is None and is_loopback_url(options.base_url):
            other = default_other  # a local sandbox (`make serve`) has the fixture tenants
        return _schemathesis(conv, options, options.base_url.rstrip("/"), key, other, output)
    config = sandbox_config or Config(
        db="memory",
        apis=(options.api,),
        # Limits stay evaluated (headers, counting) but never trip during the run.
        plans={"*": UNLIMITED},
        validate_responses=True,
        # fuzzed webhook URLs must never turn into traffic off this machine
        webhook_hosts="loopback",
    )
    with running_sandbox(config) as origin:
        print(
            f"contract: {options.api} sandbox on {origin}{conv.solo_base} (fresh in-memory state)",
            file=output or sys.stdout,
            flush=True,
        )
        return _schemathesis(conv, options, origin + conv.solo_base, key, other or default_other, output)


def _schemathesis(
    conv: Conventions,
    options: ContractOptions,
    base_url: str,
    key: str,
    other: str | None,
    output: IO[str] | None = None,
) -> int:
    env = dict(os.environ)
    env["SCHEMATHESIS_HOOKS"] = "sandbox.contracts.hooks"
    env["LEAD_SANDBOX_CONTRACT_API"] = conv.api
    env["LEAD_SANDBOX_CONTRACT_KEY"] = key
    env["LEAD_SANDBOX_CONTRACT_PLANNED"] = str(planned_requests(conv, options))
    if other:
        env["LEAD_SANDBOX_CONTRACT_OTHER_KEY"] = other
    else:
        env.pop("LEAD_SANDBOX_CONTRACT_OTHER_KEY", None)
    if output is None:
        return subprocess.call(command(conv, options, base_url, key), env=env)
    result = subprocess.run(
        command(conv, options, base_url, key),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    output.write(result.stdout)
    return result.returncode
