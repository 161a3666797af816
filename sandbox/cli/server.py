"""`lead-sandbox serve`: every API (or the named ones) on one port, seeded, keys printed, then
`ready on http://HOST:PORT`. Every option also reads `LEAD_SANDBOX_<OPTION>` and the config file."""

from __future__ import annotations

import errno
import gc
import os
import signal
import socket
import sqlite3
import sys
import threading
from types import FrameType
from typing import Any

import click

from sandbox.cli.data import db_option, key_rows, print_table, refuse_missing_folder, seed_option
from sandbox.cli.settings import DEFAULT_HOST, DEFAULT_PORT, CliError, setting
from sandbox.config import Config, parse_plan_overrides


def _known_api(_: click.Context, __: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    from sandbox.apis import registry

    known = [name for name, api in registry().items() if not api.admin_only]
    unknown = [name for name in values if name not in known]
    if unknown:
        raise click.BadParameter(f"unknown API {', '.join(unknown)}; choose from {', '.join(known)}")
    return values


@click.command("serve")
@setting("--host", default=DEFAULT_HOST, help="address to listen on (loopback by default)")
@setting("--port", type=click.IntRange(1, 65535), default=DEFAULT_PORT, help="port to listen on")
@db_option
@seed_option
@setting("--api", "apis", multiple=True, metavar="NAME", callback=_known_api,
         help="serve only this API, e.g. hadar (repeatable; one API alone is served at the vendor's own paths)")
@setting("--plan", "plans", multiple=True, metavar="NAME=PER_MINUTE",
         help="override a rate-limit plan's budget, e.g. growth=100000 or hadar.starter=5 (repeatable)")
@setting("--rate-window", type=click.IntRange(min=1), default=60, metavar="SECONDS",
         help="length of a rate-limit window; shorter windows test client back-off fast")
@setting("--webhook-hosts", type=click.Choice(["loopback", "public", "any"], case_sensitive=False), default="public",
         help="where webhooks may go: this machine only, this machine and public addresses, or private networks "
              "too; never link-local or cloud metadata addresses")
@setting("--webhooks-loopback-only", is_flag=True, help="same as --webhook-hosts loopback")
@setting("--validate-responses", is_flag=True, help="check every response against the spec (costs CPU)")
@setting("--admin-token", default=None, metavar="TOKEN", help="require `Authorization: Bearer TOKEN` on /_sandbox")
@setting("--quiet", "-q", is_flag=True, help="no line per request on the console (the request journal keeps them)")
@setting("--log-format", type=click.Choice(["text", "json"]), default="text",
         help="the line per request: readable text (coloured on a terminal) or JSON lines")
@setting("--workers", type=click.IntRange(min=1), default=1, metavar="N",
         help="worker processes on one port; they share a database file (WAL) or PostgreSQL")
@setting("--redis", default=None, metavar="URL",
         help="redis://… for rate-limit counters shared by every worker and machine (else the database keeps them)")
@setting("--allowed-hosts", "allowed_hosts", multiple=True, metavar="NAME",
         help="a Host name the control plane answers besides loopback names and --host, e.g. sandbox.team or "
              "*.team.example (repeatable or comma-separated; DNS-rebinding protection)")
def serve(**options: Any) -> None:
    """Start the sandbox: every API on one port, seeded, keys printed, then `ready on http://HOST:PORT`."""
    config = _config(options)
    if config.workers > 1:
        from sandbox import workers

        try:
            workers.check(config)
        except ValueError as exc:
            raise CliError(str(exc)) from None
    listener = bind(config.host, config.port)  # before anything is printed: a busy port says so first
    check_db(config.db)
    if config.workers > 1:
        run_workers(config, listener)
    else:
        run(config, listener)


def _config(options: dict[str, Any]) -> Config:
    try:
        plans = parse_plan_overrides(list(options["plans"]))
    except ValueError as exc:
        raise CliError(str(exc)) from None
    return Config(
        host=options["host"],
        port=options["port"],
        db=options["db"],
        seed=options["seed"],
        apis=tuple(options["apis"]),
        plans=plans,
        validate_responses=options["validate_responses"],
        rate_window=options["rate_window"],
        webhook_hosts="loopback" if options["webhooks_loopback_only"] else options["webhook_hosts"].lower(),
        admin_token=options["admin_token"],
        console_log=None if options["quiet"] else options["log_format"],
        workers=options["workers"],
        redis=options["redis"],
        # several deployments may share one Redis: each keeps its counters under its own prefix
        redis_prefix=os.environ.get("LEAD_SANDBOX_REDIS_PREFIX", "lead-sandbox"),
        allowed_hosts=tuple(name.strip() for item in options["allowed_hosts"] for name in item.split(",") if name.strip()),
    )


def bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a busy port or a bad host is one clear line (uvicorn gets it)."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    except socket.gaierror as exc:
        raise CliError(f"cannot listen on {host}: {exc.strerror}") from None
    try:
        return socket.create_server((host, port), family=family)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CliError(f"port {port} on {host} is already in use (another sandbox?); "
                           f"choose another with --port N (or `make serve PORT=N`)") from None
        raise CliError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None


def check_db(db: str) -> None:
    """An unusable --db is one line here, not a traceback from the seeding child or the app."""
    from sandbox.core.store import MEMORY_URLS, is_postgres, sqlite_path

    if db in MEMORY_URLS:
        return
    refuse_missing_folder(db)
    if is_postgres(db):
        try:
            import psycopg

            psycopg.connect(db, connect_timeout=5).close()
        except Exception as exc:  # noqa: BLE001 - whatever psycopg says, in one line
            raise CliError(f"--db {db}: cannot connect to PostgreSQL ({str(exc).strip().splitlines()[0]})") from None
        return
    try:
        path = sqlite_path(db)
        connection = sqlite3.connect(path)
        try:
            connection.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            connection.close()
    except ValueError as exc:
        raise CliError(f"--db: {exc}") from None
    except (OSError, sqlite3.Error) as exc:
        raise CliError(f"--db {db}: cannot use it as a SQLite database ({exc})") from None


def run_workers(config: Config, listener: socket.socket) -> None:
    """`--workers N`: the database is seeded here once, then uvicorn's supervisor starts N workers on the
    listening socket, each building its app from the same Config (`sandbox.workers.app`)."""
    from uvicorn.supervisors import Multiprocess

    from sandbox import workers

    join_background_seed(seed_in_background(config), config)
    origin = f"http://{config.host}:{config.port}"
    click.echo(f"lead-sandbox: {config.workers} workers, store {config.db}, rate limits in "
               f"{'Redis' if config.redis else 'the store'}, seed {config.seed}")
    print_table(key_rows(config), origin)
    click.echo(f"control plane: {origin}/_sandbox (openapi.json there); ready when {origin}/_sandbox/health answers 200")
    sys.stdout.flush()
    uv_config = workers.uvicorn_config(config)
    Multiprocess(uv_config, sockets=[listener]).run()


def run(config: Config, listener: socket.socket) -> None:
    seeder = seed_in_background(config)
    import uvicorn

    from sandbox.app import create_app, runtime_of
    from sandbox.serving import server_options

    join_background_seed(seeder, config)
    try:
        app = create_app(config)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    runtime = runtime_of(app)
    # Everything built so far (specs, routes, validators) lives as long as the server: moved out of the
    # garbage collector's reach, so its full collections stop walking it (no collect first: 20 ms of start).
    gc.freeze()
    origin = f"http://{config.host}:{config.port}"
    vendors = [api for api in runtime.apis.values() if not api.admin_only]
    click.echo(f"lead-sandbox: {len(vendors)} API(s), store {config.db}, seed {config.seed}")
    print_table(key_rows(config, runtime), origin)
    click.echo(f"control plane: {origin}/_sandbox (openapi.json there)")
    click.echo(f"API docs, specs and keys: {origin}/   inspector: {origin}/_sandbox/ui/")

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started:
                click.echo(f"ready on {origin}")
                sys.stdout.flush()

    server = Server(
        uvicorn.Config(
            app,
            host=config.host,
            port=config.port,
            log_level="warning",
            access_log=False,
            loop="auto",
            ws="none",  # no WebSocket routes: skips importing a WebSocket library at start-up
            lifespan="on",
            **server_options(config),
        )
    )
    # uvicorn turns Ctrl-C / SIGTERM into a graceful shutdown, then restores the handlers it found and
    # re-raises the signal it caught. Under the default SIGTERM handler that ends the process with 143 after
    # the clean shutdown (`make`: "Error 2"); under this one the re-raised SIGTERM ends `server.run` as
    # Ctrl-C's KeyboardInterrupt does, and `serve` exits 0 for both.
    previous = signal.signal(signal.SIGTERM, _terminated) if threading.current_thread() is threading.main_thread() else None
    try:
        server.run(sockets=[listener])
    except (KeyboardInterrupt, Terminated):
        pass  # stopping the server is what Ctrl-C and SIGTERM are for
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        runtime.store.close()
        listener.close()


class Terminated(Exception):
    """SIGTERM, once uvicorn has shut the server down (see `run`)."""


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated


def seed_in_background(config: Config) -> int | None:
    """On a database file, seed in a forked child while this process imports the web stack.

    Seeding needs only the store and the fixtures; importing Connexion takes longer than seeding every
    API, and the machine has a second core. The child claims each API's seeding marker as `create_app`
    would, so whichever process gets there first seeds and the other waits (`seeding.seed_missing`).
    Returns the child's pid, or None where there is nothing to overlap (memory, no fork)."""
    from sandbox.core.store import MEMORY_URLS, check_url

    if config.db in MEMORY_URLS or not hasattr(os, "fork"):
        return None
    check_url(config.db)  # an unusable URL is the caller's error, not the child's
    sys.stdout.flush()
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
    except KeyboardInterrupt:  # Ctrl-C reaches the whole process group; the parent reports it
        pass
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
        click.echo(f"lead-sandbox: background seeding failed; seeding here instead ({', '.join(released) or 'nothing left'})",
                   err=True)
