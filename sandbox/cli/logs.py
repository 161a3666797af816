"""`lead-sandbox logs [--follow]`: the request journal of a running sandbox, one line per request."""

from __future__ import annotations

import click

from sandbox.cli.helpers import admin_token_option, base_url_option, origin_of
from sandbox.cli.settings import CliError


@click.command("logs")
@click.option("--follow", "-f", is_flag=True, help="keep printing new requests until Ctrl-C")
@click.option("--api", default=None, metavar="NAME", help="only this API (hadar, …, or sandbox for the control plane)")
@click.option("--tenant", default=None, metavar="SLUG", help="only this tenant")
@click.option("--status", default=None, metavar="CODE", help="only this status (404) or class (4xx)")
@click.option("--limit", type=click.IntRange(1, 500), default=20, show_default=True,
              help="how many of the newest requests to print first")
@click.option("--log-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
@base_url_option
@admin_token_option
def logs(follow: bool, api: str | None, tenant: str | None, status: str | None, limit: int, log_format: str,
         base_url: str | None, admin_token: str | None) -> None:
    """Print the sandbox's requests (like `stripe logs tail`): time, method, path, status, duration,
    api/tenant, trace id and, for an error, why. The inspector shows the same at /_sandbox/ui/requests."""
    from sandbox.logs import LogsError, tail

    try:
        tail(origin_of(base_url), api=api, tenant=tenant, status=status, follow=follow, limit=limit,
             admin_token=admin_token, log_format=log_format)
    except LogsError as exc:
        raise CliError(str(exc), exit_code=1) from None
