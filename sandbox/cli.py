"""`lead-sandbox serve | keys | reset | contract` (also `python -m sandbox`)."""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from sandbox.config import DEFAULT_DB, Config, parse_plan_overrides


def _parser() -> argparse.ArgumentParser:
    # Environment defaults, so a container or CI job can configure the sandbox without flags.
    ENV_DB = os.environ.get("LEAD_SANDBOX_DB", DEFAULT_DB)
    ENV_SEED = int(os.environ.get("LEAD_SANDBOX_SEED", "42"))
    parser = argparse.ArgumentParser(prog="lead-sandbox", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="start the sandbox")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=4010)
    serve.add_argument("--db", default=ENV_DB, help="SQLite file (default), 'memory', or an SQLAlchemy URL")
    serve.add_argument("--seed", type=int, default=ENV_SEED)
    serve.add_argument("--api", action="append", default=[], help="serve only this API (repeatable)")
    serve.add_argument("--plan", action="append", default=[], metavar="NAME=PER_MINUTE",
                       help="override a rate-limit plan's budget, e.g. growth=100000 or hadar.starter=5")
    serve.add_argument("--rate-window", type=int, default=60, metavar="SECONDS",
                       help="length of a rate-limit window (default 60); shorter windows test client back-off fast")
    serve.add_argument("--webhooks-loopback-only", action="store_true",
                       help="deliver webhooks only to loopback URLs (never off this machine)")
    serve.add_argument("--validate-responses", action="store_true", help="check every response against the spec")
    serve.add_argument("--admin-token", default=os.environ.get("LEAD_SANDBOX_ADMIN_TOKEN"),
                       help="require this bearer token on /_sandbox")

    keys = sub.add_parser("keys", help="list tenants and their test keys")
    keys.add_argument("--db", default=ENV_DB)
    keys.add_argument("--seed", type=int, default=ENV_SEED)
    keys.add_argument("--json", action="store_true")
    keys.add_argument("--api", action="append", default=[])

    reset = sub.add_parser("reset", help="back to the seeded state")
    reset.add_argument("--db", default=ENV_DB)
    reset.add_argument("--seed", type=int, default=ENV_SEED)
    reset.add_argument("--api", default=None)
    reset.add_argument("--tenant", default=None)

    href = sub.add_parser("href", help="HREF tenants: provision one (key printed once) or rotate its key")
    href_sub = href.add_subparsers(dest="href_command", required=True)
    provision = href_sub.add_parser("provision", help="create a tenant and print its hcrm_ key once")
    provision.add_argument("slug")
    provision.add_argument("name")
    provision.add_argument("--db", default=ENV_DB)
    provision.add_argument("--seed", type=int, default=ENV_SEED)
    rotate = href_sub.add_parser("rotate-key", help="revoke the tenant's keys and print a new one once")
    rotate.add_argument("slug")
    rotate.add_argument("--db", default=ENV_DB)
    rotate.add_argument("--seed", type=int, default=ENV_SEED)

    listen = sub.add_parser("listen", help="print and forward the sandbox's webhook events (like stripe listen)")
    listen.add_argument("--forward-to", default=None, help="your app's webhook URL (else only print)")
    listen.add_argument("--api", default="hadar")
    listen.add_argument("--base-url", default=None, help="the API's base URL (default http://127.0.0.1:4010/hadar/v1)")
    listen.add_argument("--key", default=None, help="a test key of the tenant to listen to (default: fixture admin key)")
    listen.add_argument("--events", default=None, help="comma list (default: every event)")

    from contracts.cli import add_contract_parser, add_docs_check_parser

    add_contract_parser(sub)
    add_docs_check_parser(sub)
    return parser


def key_rows(config: Config, runtime: Any = None) -> list[dict[str, Any]]:
    """One row per key: fixture keys show their (public) value; minted keys only their last four. With a
    running app's `runtime`, its store is read (no second connection, no second seeding check)."""
    from sandbox.apis import registry
    from sandbox.core.keys import hash_key
    from sandbox.core.store import Store
    from sandbox.runtime import Runtime
    from sandbox.seeding import ensure_seeded, load_fixture

    own = runtime is None
    if runtime is None:
        runtime = Runtime.build(config, registry(config.apis))
        ensure_seeded(runtime)
    apis = {name: api for name, api in runtime.apis.items() if not api.admin_only}
    store: Store = runtime.store
    rows = []
    for name, api in apis.items():
        known = {
            hash_key(k["key"]): k["key"] for t in load_fixture(name)["tenants"] for k in t.get("keys", [])
        }
        tenants = {t.slug: t for t in store.list_tenants(name)}
        for record in store.list_keys(name):
            if record.revoked_at is not None:
                continue
            tenant = tenants.get(record.tenant)
            rows.append(
                {
                    "api": name,
                    "tenant": record.tenant,
                    "tenant_name": tenant.name if tenant else record.tenant,
                    "key": known.get(record.key_hash),
                    "last4": record.last4,
                    "role": record.role,
                    "plan": record.plan,
                    "base_path": _base_path(api, config.solo, record.tenant),
                }
            )
    if own:
        store.close()
    return rows


def _base_path(api: Any, solo: bool, tenant: str) -> str:
    base = str(api.bases(solo)[0])
    if api.tenant_from_host:  # the path form of the tenant: /href/<slug>/api
        parent, _, last = base.rpartition("/")
        return f"{parent}/{tenant}/{last}"
    return base


def _print_table(rows: list[dict[str, Any]], host: str, port: int) -> None:
    width = max((len(r["key"] or "") for r in rows), default=20)
    print(f"{'API':<10} {'BASE URL':<40} {'TENANT':<22} {'ROLE':<10} {'PLAN':<13} KEY")
    for row in rows:
        url = f"http://{host}:{port}{row['base_path']}"
        key = row["key"] or f"…{row['last4']} (minted; shown once)"
        print(f"{row['api']:<10} {url:<40} {row['tenant']:<22} {row['role']:<10} {row['plan']:<13} {key:<{width}}".rstrip())


def seed_in_background(config: Config) -> int | None:
    """On a database file, seed in a forked child while this process imports the web stack.

    Seeding needs only the store and the fixtures; importing Connexion takes longer than seeding every
    API, and the machine has a second core. The child claims each API's seeding marker as `create_app`
    would, so whichever process gets there first seeds and the other waits (`seeding.seed_missing`).
    Returns the child's pid, or None where there is nothing to overlap (memory, no fork)."""
    from sandbox.core.store import MEMORY_URLS, sqlite_path

    if config.db in MEMORY_URLS or not hasattr(os, "fork"):
        return None
    sqlite_path(config.db)  # an unusable URL is the caller's error, not the child's
    pid = os.fork()
    if pid != 0:
        return pid
    code = 1
    try:
        from sandbox.apis import registry
        from sandbox.core.store import Store
        from sandbox.seeding import seed_missing

        store = Store(config.db)
        seed_missing(store, registry(config.apis), config.seed)
        store.close()
        code = 0
    except Exception:  # noqa: BLE001 - whatever went wrong, the parent seeds instead; say why here
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)  # never return into the parent's code


def join_background_seed(pid: int | None, config: Config) -> None:
    if pid is None:
        return
    _, status = os.waitpid(pid, 0)
    if status != 0:
        from sandbox.core.store import Store
        from sandbox.seeding import release_unfinished_claims

        store = Store(config.db)
        released = release_unfinished_claims(store)
        store.close()
        print(f"lead-sandbox: background seeding failed; seeding here instead ({', '.join(released) or 'nothing left'})",
              file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    try:
        plans = parse_plan_overrides(args.plan)
    except ValueError as exc:
        print(f"lead-sandbox: {exc}", file=sys.stderr)
        return 2
    config = Config(
        host=args.host,
        port=args.port,
        db=args.db,
        seed=args.seed,
        apis=tuple(args.api),
        plans=plans,
        validate_responses=args.validate_responses,
        rate_window=args.rate_window,
        webhook_hosts="loopback" if args.webhooks_loopback_only else "any",
        admin_token=args.admin_token,
    )
    try:
        seeder = seed_in_background(config)
    except ValueError as exc:  # e.g. a database URL that is not SQLite
        print(f"lead-sandbox: {exc}", file=sys.stderr)
        return 2
    import uvicorn

    from sandbox.app import create_app, runtime_of

    join_background_seed(seeder, config)
    try:
        app = create_app(config)
    except ValueError as exc:
        print(f"lead-sandbox: {exc}", file=sys.stderr)
        return 2
    runtime = runtime_of(app)
    # Everything built so far (specs, routes, validators) lives as long as the server: moved out of the
    # garbage collector's reach, so its full collections stop walking it (no collect first: 20 ms of start).
    gc.freeze()
    vendors = [api for api in runtime.apis.values() if not api.admin_only]
    print(f"lead-sandbox: {len(vendors)} API(s), store {config.db}, seed {config.seed}")
    _print_table(key_rows(config, runtime), config.host, config.port)
    print(f"control plane: http://{config.host}:{config.port}/_sandbox (openapi.json there)")
    for api in vendors:
        if api.docs_path:
            parent = "" if config.solo else f"/{api.name}"
            print(f"docs ({api.title}): http://{config.host}:{config.port}{parent}{api.docs_path}/")

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                print(f"ready on http://{config.host}:{config.port}", flush=True)

    server = Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            loop="auto",
            http="auto",
            ws="none",  # no WebSocket routes: skips importing a WebSocket library at start-up
            lifespan="on",
        )
    )
    server.run()
    runtime.store.close()
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    rows = key_rows(Config(db=args.db, seed=args.seed, apis=tuple(args.api)))
    if args.json:
        print(json.dumps(rows, indent=2, ensure_ascii=False))
    else:
        _print_table(rows, "127.0.0.1", 4010)
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from sandbox.apis import registry
    from sandbox.core.store import Store
    from sandbox.seeding import reset

    apis = registry()
    if args.api is not None and args.api not in apis:
        print(f"lead-sandbox: unknown API {args.api!r}; choose from {', '.join(apis)}", file=sys.stderr)
        return 2
    if args.tenant is not None and args.api is None:
        print("lead-sandbox: --tenant needs --api", file=sys.stderr)
        return 2
    store = Store(args.db)
    reset(store, apis, args.seed, api=args.api, tenant=args.tenant)
    store.close()
    scope = args.api or "all APIs"
    print(f"reset {scope}{' tenant ' + args.tenant if args.tenant else ''} to seed {args.seed}")
    return 0


def cmd_href(args: argparse.Namespace) -> int:
    import re

    from sandbox import tenants
    from sandbox.apis import registry
    from sandbox.core.errors import SandboxError
    from sandbox.runtime import Runtime
    from sandbox.seeding import ensure_seeded

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", args.slug):
        print("lead-sandbox href: a slug is lower-case letters, digits and hyphens (it becomes a subdomain)",
              file=sys.stderr)
        return 2
    api = registry()["href"]
    runtime = Runtime.build(Config(db=args.db, seed=args.seed, apis=("href",)), {"href": api})
    ensure_seeded(runtime)
    try:
        if args.href_command == "provision":
            result = tenants.provision(runtime, api, args.slug, args.name)
            print(f"Provisioned {result['tenant']['name']} ({args.slug}).")
        else:
            result = tenants.rotate(runtime, api, args.slug)
            print(f"Rotated the key of {args.slug}; {result['revoked']} old key(s) revoked.")
    except SandboxError as exc:
        print(f"lead-sandbox href: {exc.message}", file=sys.stderr)
        return 1
    finally:
        runtime.store.close()
    print(f"API key (shown once; stored only as SHA-256): {result['key']['key']}")
    print(f"Endpoint: http://{args.slug}.localtest.me:4010/href/api/leads/intake "
          f"(or http://127.0.0.1:4010/href/{args.slug}/api/leads/intake)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        return cmd_serve(args)
    if args.command == "keys":
        return cmd_keys(args)
    if args.command == "reset":
        return cmd_reset(args)
    if args.command == "href":
        return cmd_href(args)
    if args.command == "listen":
        from sandbox.listen import run

        return run(args)
    if args.command == "docs-check":
        from contracts.cli import cmd_docs_check

        return cmd_docs_check(args)
    if args.command == "contract":
        from contracts.cli import cmd_contract

        return cmd_contract(args)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
