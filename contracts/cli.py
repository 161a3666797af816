"""`lead-sandbox contract` and `lead-sandbox docs-check`: the command-line faces of the contract suite
and the docs checker (loaded only when one of them runs)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from sandbox.cli.settings import CliError
from sandbox.contracts.runner import (
    KEY_ENV,
    OTHER_KEY_ENV,
    REPORT_FORMATS,
    ContractOptions,
    UnreachableTarget,
    UnsafeTarget,
    run_contract,
)
from sandbox.contracts.vendors import VENDORS


@click.command("contract", epilog=f"The key may also come from ${KEY_ENV}; a second tenant's key from ${OTHER_KEY_ENV}.")
@click.option("--api", required=True, type=click.Choice(sorted(VENDORS)), help="the API to check")
@click.option("--base-url", default=None, metavar="URL",
              help="the API's base URL, e.g. https://staging.example/v1  [default: a fresh sandbox on loopback]")
@click.option("--key", default=None, help=f"test key  [default: ${KEY_ENV}, else the fixture key]")
@click.option("--other-key", default=None, help=f"a second tenant's test key for isolation checks  [default: ${OTHER_KEY_ENV}]")
@click.option("--max-examples", type=click.IntRange(min=1), default=25, show_default=True, help="examples per operation")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True, help="Schemathesis workers")
@click.option("--seed", type=int, default=None, help="Schemathesis seed, to repeat a run  [default: random]")
@click.option("--junit-xml", default=None, metavar="PATH", help="also write a JUnit XML report here")
@click.option("--phases", default=None, metavar="LIST",
              help="comma list of examples,coverage,fuzzing,stateful  [default: all four]")
@click.option("--report", "reports", default="", metavar="LIST",
              help=f"Schemathesis' own reports, comma list of {', '.join(REPORT_FORMATS)} (e.g. har,vcr,junit)")
@click.option("--report-dir", default="reports", show_default=True, metavar="DIR", help="where --report writes")
def contract(reports: str, **options: Any) -> int:
    """Run the contract suite for one API against the sandbox or a deployment; exit 0 only when every
    check passed. Against a non-loopback URL, live keys are refused. A 429 is waited out (Retry-After),
    never a failure."""
    formats = tuple(f.strip() for f in reports.split(",") if f.strip())
    unknown = [f for f in formats if f not in REPORT_FORMATS]
    if unknown:
        raise click.BadParameter(f"unknown report format {', '.join(unknown)}; choose from {', '.join(REPORT_FORMATS)}",
                                 param_hint="'--report'")
    try:
        return run_contract(ContractOptions(reports=formats, **options))
    except UnsafeTarget as exc:
        raise CliError(f"contract: {exc}") from None
    except UnreachableTarget as exc:
        raise CliError(f"contract: {exc}", exit_code=1) from None


def check_against_fresh_sandbox(api: str, paths: list[Any], key: str | None = None) -> list[Any]:
    """docs-check with replays against a fresh in-memory sandbox on loopback (every API for `all`)."""
    from sandbox.apis import registry
    from sandbox.config import Config
    from sandbox.contracts.docs_check import check_paths
    from sandbox.contracts.sandbox_server import running_sandbox

    config = Config(db="memory", plans={"*": 10**9}, webhook_hosts="loopback")
    with running_sandbox(config) as origin:
        mounts = {name: origin + _default_base(name, definition) for name, definition in registry().items()}
        return check_paths(api, paths, mounts if api == "all" else mounts[api], key)


def _default_base(name: str, definition: Any) -> str:
    base = str(definition.mounts[0])
    if definition.tenant_from_host:  # the path form, tenant of the contract conventions
        return str(definition.tenant_base(base, VENDORS[name].solo_base.strip("/").split("/")[0]))
    return base


@click.command("docs-check")
@click.option("--api", required=True, type=click.Choice([*sorted(VENDORS), "all"]),
              help="the API the docs describe, or `all` to route each example by its URL")
@click.option("--base-url", default=None, metavar="URL", help="replay against this sandbox base  [default: a fresh one]")
@click.option("--key", default=None, help="key for the replay  [default: the fixture key]")
@click.option("--no-replay", is_flag=True, help="only check against the spec")
@click.option("--format", "output_format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def docs_check(api: str, base_url: str | None, key: str | None, no_replay: bool, output_format: str,
               paths: tuple[Path, ...]) -> int:
    """Check the examples in Markdown, HTML or text files against the spec and replay them against a
    sandbox; exit 0 only when every example is ok."""
    from sandbox.contracts.docs_check import check_paths, render_json, render_text

    if no_replay or base_url:
        findings = check_paths(api, list(paths), None if no_replay else base_url, key)
    else:
        findings = check_against_fresh_sandbox(api, list(paths), key)
    click.echo(render_json(findings) if output_format == "json" else render_text(findings))
    return 0 if all(f.result == "ok" for f in findings) else 1
