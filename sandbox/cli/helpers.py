"""`listen`, `trigger` and `clock`: test helpers that talk to a running sandbox over its control plane
(`/_sandbox`), like `stripe listen` and `stripe trigger`. `--base-url` is the sandbox's origin (an API
base URL works too); by default the host and port `serve` would use."""

from __future__ import annotations

import functools
import json
import re
import signal
import threading
from typing import Any
from urllib.parse import urlsplit

import click

from sandbox.apis import registry
from sandbox.cli.settings import CliError, envvar, server_origin


class WebhookApi(click.Choice):  # type: ignore[type-arg]
    """The APIs that send webhooks, as their definitions say (a `WebhookStyle`), in the APIs' order. Read when
    click first needs them (parsing or --help of `listen`/`trigger`), not when the CLI is imported: that would
    import every vendor package for every command, and a broken scaffolded package would break them all."""

    def __init__(self) -> None:
        self.case_sensitive = True

    @functools.cached_property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        return tuple(name for name, api in registry().items() if api.webhooks is not None)
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

base_url_option = click.option(
    "--base-url", default=None, metavar="URL",
    help="the running sandbox, e.g. http://127.0.0.1:4010  [default: LEAD_SANDBOX_HOST/_PORT or the config file, "
         "else http://127.0.0.1:4010]")
admin_token_option = click.option(
    "--admin-token", default=None, envvar=envvar("--admin-token"), show_envvar=True, metavar="TOKEN",
    help="the sandbox's admin token, when it runs with one")
tenant_option = click.option("--tenant", default=None, metavar="SLUG", help="the tenant  [default: the API's first fixture tenant]")


def origin_of(base_url: str | None) -> str:
    """`http://host:port` of the sandbox, from an origin or any URL under it."""
    url = server_origin(base_url)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CliError(f"--base-url {base_url!r} is not an http(s) URL")
    return f"{parts.scheme}://{parts.netloc}"


def default_tenant(api: str) -> str:
    from sandbox.seeding import load_fixture

    return str(load_fixture(api)["tenants"][0]["slug"])


def tenant_of_key(api: str, key: str) -> str:
    from sandbox.seeding import load_fixture

    for tenant in load_fixture(api)["tenants"]:
        if any(k["key"] == key for k in tenant.get("keys", [])):
            return str(tenant["slug"])
    raise CliError(f"{key[:12]}… is not a fixture key of {api}; name the tenant with --tenant")


def control(origin: str, admin_token: str | None, method: str, path: str, **kwargs: Any) -> Any:
    """One control-plane call; any failure is one line naming what went wrong."""
    import httpx

    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    try:
        response = httpx.request(method, f"{origin}/_sandbox{path}", headers=headers, timeout=30, trust_env=False, **kwargs)
    except httpx.HTTPError as exc:
        raise CliError(f"no sandbox answers at {origin} ({exc.__class__.__name__}); start one with "
                       "`lead-sandbox serve` or pass --base-url", exit_code=1) from None
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if response.status_code >= 400:
        error = payload.get("error", {}) if isinstance(payload, dict) else {}
        message = error.get("message") if isinstance(error, dict) else None
        raise CliError(f"{method} /_sandbox{path}: {response.status_code} {message or response.text[:200]}", exit_code=1)
    return payload.get("data") if isinstance(payload, dict) else payload


@click.command("listen")
@click.option("--api", type=WebhookApi(), default="hadar", show_default=True,
              help="the API whose webhooks to receive")
@tenant_option
@click.option("--forward-to", default=None, metavar="URL", help="your app's webhook URL  [default: only print]")
@click.option("--events", default=None, metavar="LIST", help="comma list of event types  [default: every event]")
@click.option("--key", default=None, help="a fixture key instead of --tenant: listen to that key's tenant")
@base_url_option
@admin_token_option
def listen(api: str, tenant: str | None, forward_to: str | None, events: str | None, key: str | None,
           base_url: str | None, admin_token: str | None) -> int:
    """Print and forward a tenant's webhook events (like `stripe listen`). The signing secret is the same
    on every run for the same API, tenant and --forward-to URL."""
    from sandbox.listen import ListenError
    from sandbox.listen import listen as run_listener

    if tenant is None:
        tenant = tenant_of_key(api, key) if key else default_tenant(api)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    names = [e.strip() for e in events.split(",") if e.strip()] if events else None
    try:
        return run_listener(api=api, tenant=tenant, origin=origin_of(base_url), forward_to=forward_to,
                            events=names, admin_token=admin_token, stop=stop)
    except ListenError as exc:
        raise CliError(f"listen: {exc}", exit_code=1) from None


@click.command("trigger")
@click.argument("event")
@click.option("--api", type=WebhookApi(), required=True, help="the API whose event to trigger")
@tenant_option
@base_url_option
@admin_token_option
def trigger(event: str, api: str, tenant: str | None, base_url: str | None, admin_token: str | None) -> None:
    """Trigger EVENT (e.g. lead.created) with realistic data, making the state change behind it (like
    `stripe trigger`); its webhooks go to the tenant's endpoints."""
    tenant = tenant or default_tenant(api)
    data = control(origin_of(base_url), admin_token, "POST", "/events", json={"api": api, "tenant": tenant, "type": event})
    click.echo(f"Triggered {data['type']} {data['id']} for {api} tenant {tenant} at {data['created_at']}")


def parse_duration(text: str) -> int:
    """`90s`, `15m`, `2h`, `1d`, or `1h30m` -> seconds; a bare number is seconds."""
    text = text.strip().lower()
    if text.isdigit():
        return int(text)
    parts = re.findall(r"(\d+)\s*([smhd])", text)
    if not parts or re.sub(r"\s", "", "".join(n + u for n, u in parts)) != re.sub(r"\s", "", text):
        raise click.BadParameter(f"{text!r} is not a duration like 90s, 15m, 2h or 1d")
    return sum(int(number) * UNITS[unit] for number, unit in parts)


class Duration(click.ParamType):
    name = "DURATION"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        seconds = parse_duration(str(value))
        if seconds < 1:
            self.fail("a duration is at least 1s", param, ctx)
        return seconds


@click.group("clock")
def clock() -> None:
    """Show or move sandbox time (every tenant, or one with --api and --tenant)."""


def _scope(api: str | None, tenant: str | None) -> dict[str, str]:
    if tenant is not None and api is None:
        raise CliError("--tenant needs --api")
    if api is not None and tenant is None:  # one tenant's clock, as `trigger` and `listen` pick it
        tenant = default_tenant(api)
    return {name: value for name, value in (("api", api), ("tenant", tenant)) if value is not None}


def _show(data: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    line = f"sandbox time {data['now']}{' (frozen)' if data.get('frozen') else ''}"
    if data.get("tenant"):  # one tenant's clock (--api alone picks one): say whose
        line += f" for {data['api']}/{data['tenant']}"
    if "jobs_run" in data:
        line += f"; {data['jobs_run']} due job(s) ran"
    click.echo(line)


def _clock_command(name: str, help_text: str, method: str, path: str, with_duration: bool = False) -> click.Command:
    @click.option("--api", default=None, metavar="NAME",
                  help="one tenant of this API: --tenant, or the API's first fixture tenant  [default: every tenant]")
    @click.option("--tenant", default=None, metavar="SLUG", help="only this tenant (needs --api)")
    @click.option("--json", "as_json", is_flag=True, help="print the clock as JSON")
    @base_url_option
    @admin_token_option
    def command(api: str | None, tenant: str | None, as_json: bool, base_url: str | None, admin_token: str | None,
                duration: int | None = None) -> None:
        scope = _scope(api, tenant)
        origin = origin_of(base_url)
        if method == "GET":
            data = control(origin, admin_token, method, path, params=scope)
        else:
            body = {**scope, **({"seconds": duration} if duration is not None else {})}
            data = control(origin, admin_token, method, path, json=body or None)
        _show(data, as_json)

    command.__doc__ = help_text
    if with_duration:
        command = click.argument("duration", type=Duration())(command)
    return clock.command(name)(command)


_clock_command("show", "Print sandbox time.", "GET", "/clock")
_clock_command("freeze", "Stop sandbox time where it stands.", "POST", "/clock/freeze")
_clock_command("unfreeze", "Let sandbox time tick again from where it stands.", "POST", "/clock/unfreeze")
_clock_command("advance", "Move sandbox time forward by DURATION (90s, 15m, 2h, 1d) and run what became due.",
               "POST", "/clock/advance", with_duration=True)
