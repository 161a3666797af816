"""`lead-sandbox scaffold NAME --spec PATH`: a new API from its OpenAPI document (sandbox/scaffold.py)."""

from __future__ import annotations

from pathlib import Path

import click

from sandbox.cli.settings import CliError


@click.command("scaffold")
@click.argument("name")
@click.option("--spec", "spec_path", required=True, type=click.Path(path_type=Path),
              help="the API's OpenAPI 3.1 or 3.0 document (YAML or JSON; 3.0 is written as 3.1)")
@click.option("--into", "root", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default="the current directory", help="the lead-sandbox checkout to add the API to")
def scaffold(name: str, spec_path: Path, root: Path) -> None:
    """Add API NAME from its spec: openapi/NAME.yaml, a package under sandbox/apis/ served by the generic
    stateful behaviour, fixtures/NAME.yaml (two tenants, fixed test keys) and test stubs. Then
    `lead-sandbox serve --api NAME` serves it. Never overwrites an existing API."""
    from sandbox.scaffold import ScaffoldError, plan, write

    try:
        planned = plan(name, spec_path, root.resolve())
        written = write(planned, root.resolve())
    except ScaffoldError as exc:
        raise CliError(f"scaffold {name}: {exc}") from None
    if planned.upgraded_from:
        click.echo(f"converted OpenAPI {planned.upgraded_from} to 3.1.0 (the sandbox validates JSON Schema 2020-12): "
                   "nullable -> a \"null\" type, boolean exclusiveMinimum/exclusiveMaximum -> numeric bounds, "
                   "example -> examples")
    for path in written:
        click.echo(f"wrote {path}")
    click.echo(f"next: lead-sandbox serve --api {name}   (keys: lead-sandbox keys)")
