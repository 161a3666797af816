"""`lead-sandbox contract`: argument parsing for the contract suite."""

from __future__ import annotations

import argparse
import sys

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
