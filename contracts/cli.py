"""`lead-sandbox contract`: argument parsing for the contract suite."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from contracts.runner import KEY_ENV, OTHER_KEY_ENV, ContractOptions, UnsafeTarget, run_contract
from contracts.vendors import VENDORS


def add_contract_parser(sub: argparse._SubParsersAction) -> None:
    contract = sub.add_parser(
        "contract",
        help="run the contract suite against the sandbox or a deployment",
        description=f"Without --base-url a fresh sandbox is started on loopback. The key may also come from "
        f"${KEY_ENV}; a second tenant's key for isolation checks from ${OTHER_KEY_ENV}.",
    )
    contract.add_argument("--api", required=True, choices=sorted(VENDORS))
    contract.add_argument("--base-url", default=None, help="e.g. https://staging.example/v1")
    contract.add_argument("--key", default=None, help=f"test key (default: ${KEY_ENV}, else the fixture key)")
    contract.add_argument("--other-key", default=None, help="a second tenant's test key (isolation checks)")
    contract.add_argument("--max-examples", type=int, default=25)
    contract.add_argument("--workers", type=int, default=1)
    contract.add_argument("--seed", type=int, default=None)
    contract.add_argument("--junit-xml", default=None)
    contract.add_argument("--phases", default=None, help="comma list of examples,coverage,fuzzing,stateful")


def cmd_contract(args: argparse.Namespace) -> int:
    options = ContractOptions(
        api=args.api,
        base_url=args.base_url,
        key=args.key,
        other_key=args.other_key,
        max_examples=args.max_examples,
        workers=args.workers,
        seed=args.seed,
        junit_xml=args.junit_xml,
        phases=args.phases,
    )
    try:
        return run_contract(options)
    except UnsafeTarget as exc:
        print(f"lead-sandbox contract: {exc}", file=sys.stderr)
        return 2


def add_docs_check_parser(sub: argparse._SubParsersAction) -> None:
    docs = sub.add_parser(
        "docs-check",
        help="check the examples of API docs against the spec and replay them against a sandbox",
        description="Reads Markdown, HTML or text files; exit 0 only when every example is ok.",
    )
    docs.add_argument("--api", required=True, choices=[*sorted(VENDORS), "all"],
                      help="the API the docs describe, or `all` to route each example by its URL")
    docs.add_argument("--base-url", default=None, help="replay against this sandbox base (default: a fresh one)")
    docs.add_argument("--key", default=None, help="key for the replay (default: the fixture key)")
    docs.add_argument("--no-replay", action="store_true", help="only check against the spec")
    docs.add_argument("--format", choices=("text", "json"), default="text")
    docs.add_argument("paths", nargs="+")


def check_against_fresh_sandbox(api: str, paths: list[Any], key: str | None = None) -> list[Any]:
    """docs-check with replays against a fresh in-memory sandbox on loopback (every API for `all`)."""
    from contracts.docs_check import check_paths
    from contracts.sandbox_server import running_sandbox
    from sandbox.apis import registry
    from sandbox.config import Config

    config = Config(db="memory", plans={"*": 10**9}, webhook_hosts="loopback")
    with running_sandbox(config) as origin:
        mounts = {name: origin + _default_base(name, definition) for name, definition in registry().items()}
        return check_paths(api, paths, mounts if api == "all" else mounts[api], key)


def _default_base(name: str, definition: Any) -> str:
    base = str(definition.mounts[0])
    if definition.tenant_from_host:  # the path form, tenant of the contract conventions
        tenant = VENDORS[name].solo_base.strip("/").split("/")[0]
        parent, _, last = base.rpartition("/")
        return f"{parent}/{tenant}/{last}"
    return base


def cmd_docs_check(args: argparse.Namespace) -> int:
    from pathlib import Path

    from contracts.docs_check import check_paths, render_json, render_text

    paths = [Path(p) for p in args.paths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        print(f"lead-sandbox docs-check: no such file: {', '.join(missing)}", file=sys.stderr)
        return 2
    if args.no_replay or args.base_url:
        findings = check_paths(args.api, paths, None if args.no_replay else args.base_url, args.key)
    else:
        findings = check_against_fresh_sandbox(args.api, paths, args.key)
    print(render_json(findings) if args.format == "json" else render_text(findings))
    return 0 if all(f.result == "ok" for f in findings) else 1
