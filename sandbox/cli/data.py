"""`keys`, `reset` and `href`: the commands that read or change a sandbox database directly."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from sandbox.cli.settings import DEFAULT_HOST, DEFAULT_PORT, CliError, server_origin, setting
from sandbox.config import DEFAULT_DB, Config

db_option = setting("--db", default=DEFAULT_DB, metavar="URL",
                    help="the sandbox database: a SQLite file, sqlite:///path, or `memory`")
seed_option = setting("--seed", type=int, default=42, help="seed of the fixture data (as `serve --seed`)")


def key_rows(config: Config, runtime: Any = None, bases: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """One row per key: fixture keys show their (public) value; minted keys only their last four. With a
    running app's `runtime`, its store is read (no second connection, no second seeding check). `bases`
    maps an API to the base path its server mounts (default: as `config` mounts it)."""
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
        base = (bases or {}).get(name) or str(api.bases(config.solo)[0])
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
                    "base_path": api.tenant_base(base, record.tenant),
                }
            )
    if own:
        store.close()
    return rows


def print_table(rows: list[dict[str, Any]], origin: str) -> None:
    width = max((len(r["key"] or "") for r in rows), default=20)
    click.echo(f"{'API':<10} {'BASE URL':<40} {'TENANT':<22} {'ROLE':<10} {'PLAN':<13} KEY")
    for row in rows:
        url = origin + row["base_path"]
        key = row["key"] or f"…{row['last4']} (minted; shown once)"
        click.echo(f"{row['api']:<10} {url:<40} {row['tenant']:<22} {row['role']:<10} {row['plan']:<13} {key:<{width}}".rstrip())


def served_bases(origin: str) -> dict[str, list[str]] | None:
    """The base paths of each API as the sandbox at `origin` serves it, or None when nothing answers."""
    import httpx

    try:
        response = httpx.get(origin + "/_sandbox/apis", timeout=1.0, trust_env=False)
        response.raise_for_status()
        return {api["name"]: list(api["base_paths"]) for api in response.json()["data"] if api["base_paths"]}
    except (httpx.HTTPError, ValueError, KeyError, TypeError):
        return None


def refuse_missing_folder(db: str) -> None:
    """An explicit SQLite --db whose folder does not exist is a typo more often than a wish: one line, no
    folders made and nothing seeded. The default location's folder (`.lead-sandbox/`) is created as before."""
    from sandbox.core.store import MEMORY_URLS

    if db in MEMORY_URLS or ("://" in db and not db.startswith("sqlite:///")):
        return  # other schemes are the dialects' business
    path = Path(db.removeprefix("sqlite:///"))
    if path.parent.exists() or path.resolve() == Path(DEFAULT_DB).resolve():
        return
    raise CliError(f"--db {db}: the folder {path.parent} does not exist; create it first")


def existing_database(db: str, command: str) -> str:
    """`db` when it names a database that exists; a refusal otherwise (a typo or another working
    directory would silently create and seed a new one)."""
    from sandbox.core.store import MEMORY_URLS

    if db in MEMORY_URLS:
        raise CliError(f"{command}: --db memory is a new, empty database; a running server's memory is reset "
                       "with `curl -X POST http://127.0.0.1:4010/_sandbox/reset`")
    path = Path(db.removeprefix("sqlite:///"))
    if "://" not in db and not path.is_file():
        raise CliError(f"{command}: no sandbox database at {path.resolve()} (run it where `serve` ran, or pass --db)")
    return db


@click.command("keys")
@db_option
@seed_option
@click.option("--api", "apis", multiple=True, metavar="NAME", help="only this API (repeatable)")
@click.option("--json", "as_json", is_flag=True, help="one JSON array, one object per key")
@setting("--host", default=DEFAULT_HOST, help="host of the running server, for the URLs")
@setting("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, help="port of the running server, for the URLs")
def keys(db: str, seed: int, apis: tuple[str, ...], as_json: bool, host: str, port: int) -> None:
    """The tenants and their test keys, with base URLs of the server on --host/--port (as that server
    mounts each API; the paths of a default `serve` when none answers)."""
    from sandbox.apis import registry

    known = registry()
    unknown = [name for name in apis if name not in known]
    if unknown:
        raise CliError(f"unknown API {', '.join(unknown)}; choose from {', '.join(n for n, a in known.items() if not a.admin_only)}")
    refuse_missing_folder(db)
    origin = f"http://{host}:{port}"
    served = served_bases(origin)
    bases = {}
    for name, api in known.items():
        bases[name] = api.documented_base((served or {}).get(name, [api.mounts[0]]))
    rows = key_rows(Config(db=db, seed=seed, apis=apis), bases=bases)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    print_table(rows, origin)
    if served is None:
        click.echo(f"(no sandbox answers on {origin}; URLs as `serve` mounts every API)", err=True)


@click.command("reset")
@db_option
@seed_option
@click.option("--api", default=None, metavar="NAME", help="only this API (default: every API)")
@click.option("--tenant", default=None, metavar="SLUG", help="only this tenant of --api")
def reset(db: str, seed: int, api: str | None, tenant: str | None) -> None:
    """Back to the seeded state: records, keys, idempotency entries, jobs, outbox and deliveries."""
    from sandbox.apis import registry
    from sandbox.core.clock import Clock
    from sandbox.core.store import Store
    from sandbox.seeding import reset as reset_store

    apis = registry()
    if api is not None and api not in apis:
        raise CliError(f"unknown API {api!r}; choose from {', '.join(apis)}")
    if tenant is not None and api is None:
        raise CliError("--tenant needs --api")
    store = Store(existing_database(db, "reset"))
    try:
        # no server here: the world is re-anchored on wall time (a running sandbox's reset uses its clock)
        reset_store(store, apis, seed, api=api, tenant=tenant, now=Clock().now())
    finally:
        store.close()
    scope = api or "all APIs"
    click.echo(f"reset {scope}{' tenant ' + tenant if tenant else ''} to seed {seed} in {Path(db.removeprefix('sqlite:///')).resolve()}")


@click.group("href")
def href() -> None:
    """HREF tenants: provision one (key printed once) or rotate its key."""


def _slug(_: click.Context, __: click.Parameter, value: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,62}", value):
        raise click.BadParameter("a slug is lower-case letters, digits and hyphens (it becomes a subdomain)")
    return value


@href.command("provision")
@click.argument("slug", callback=_slug)
@click.argument("name")
@db_option
@seed_option
def href_provision(slug: str, name: str, db: str, seed: int) -> None:
    """Create a tenant and print its hcrm_ key once."""
    _href(slug, db, seed, lambda runtime, api: _provision(runtime, api, slug, name))


@href.command("rotate-key")
@click.argument("slug", callback=_slug)
@db_option
@seed_option
def href_rotate(slug: str, db: str, seed: int) -> None:
    """Revoke the tenant's keys and print a new one once."""
    _href(slug, db, seed, lambda runtime, api: _rotate(runtime, api, slug))


def _provision(runtime: Any, api: Any, slug: str, name: str) -> dict[str, Any]:
    from sandbox import tenants

    result = tenants.provision(runtime, api, slug, name)
    click.echo(f"Provisioned {result['tenant']['name']} ({slug}).")
    return result


def _rotate(runtime: Any, api: Any, slug: str) -> dict[str, Any]:
    from sandbox import tenants

    result = tenants.rotate(runtime, api, slug)
    click.echo(f"Rotated the key of {slug}; {result['revoked']} old key(s) revoked.")
    return result


def _href(slug: str, db: str, seed: int, action: Any) -> None:
    from sandbox.apis import registry
    from sandbox.core.errors import SandboxError
    from sandbox.runtime import Runtime
    from sandbox.seeding import ensure_seeded

    refuse_missing_folder(db)
    api = registry()["href"]
    runtime = Runtime.build(Config(db=db, seed=seed, apis=("href",)), {"href": api})
    ensure_seeded(runtime)
    try:
        result = action(runtime, api)
    except SandboxError as exc:
        raise CliError(exc.message, exit_code=1) from None
    finally:
        runtime.store.close()
    click.echo(f"API key (shown once; stored only as SHA-256): {result['key']['key']}")
    # the server's address as `logs`, `listen` and `trigger` find it (LEAD_SANDBOX_HOST/_PORT, config file)
    origin = server_origin(None)
    try:
        port = urlsplit(origin).port or 80
    except ValueError:  # LEAD_SANDBOX_PORT=abc: the key is already printed; name the setting, no traceback
        raise CliError(f"cannot print the endpoint: {origin} has no valid port (LEAD_SANDBOX_PORT)", exit_code=1) from None
    click.echo(f"Endpoint: http://{slug}.localtest.me:{port}/href/api/leads/intake "
               f"(or {origin}/href/{slug}/api/leads/intake)")
