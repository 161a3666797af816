"""`lead-sandbox` (also `python -m sandbox`): serve, keys, reset, contract, docs-check and the test
helpers. Ordinary mistakes end in one line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import click

from sandbox import __version__
from sandbox.cli.data import href, keys, reset
from sandbox.cli.server import serve
from sandbox.cli.settings import default_map, read_config_file

#: exit status of a command cut short by a closed pipe or Ctrl-C, as a shell reports it (128 + signal)
SIGPIPE_EXIT = 141
SIGINT_EXIT = 130


class LazyGroup(click.Group):
    """Commands whose modules import heavy libraries (Schemathesis, the docs parsers) are loaded only
    when they run or when `--help` lists them."""

    lazy: ClassVar[dict[str, str]] = {
        "contract": "sandbox.contracts.cli:contract",
        "docs-check": "sandbox.contracts.cli:docs_check",
        "listen": "sandbox.cli.helpers:listen",
        "trigger": "sandbox.cli.helpers:trigger",
        "clock": "sandbox.cli.helpers:clock",
        "logs": "sandbox.cli.logs:logs",
        "scaffold": "sandbox.cli.scaffold:scaffold",
    }

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            import importlib

            module, _, attribute = self.lazy[name].partition(":")
            self.add_command(getattr(importlib.import_module(module), attribute), name)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, "-V", "--version", prog_name="lead-sandbox", message="%(prog)s %(version)s")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Stateful local sandboxes and contract tests for lead-management and CRM REST APIs.

    Settings: a flag beats LEAD_SANDBOX_<OPTION>, which beats lead-sandbox.toml (or [tool.lead-sandbox] in
    pyproject.toml) in the working directory, which beats the default."""
    path, values = read_config_file(Path.cwd())
    ctx.default_map = default_map(path, values, serve)


cli.add_command(serve)
cli.add_command(keys)
cli.add_command(reset)
cli.add_command(href)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status (0 only on success)."""
    from sandbox.lean_imports import import_httpx_without_its_cli
    from sandbox.warnings_policy import quiet_connexion_import

    quiet_connexion_import()
    import_httpx_without_its_cli()
    try:
        result = cli.main(list(argv) if argv is not None else None, prog_name="lead-sandbox", standalone_mode=False)
        sys.stdout.flush()
    except click.exceptions.NoArgsIsHelpError as exc:  # `lead-sandbox` alone: the help, as `--help`
        click.echo(exc.ctx.get_help() if exc.ctx else "")
        return 0
    except click.ClickException as exc:
        click.echo(one_line(exc), err=True)
        return exc.exit_code
    except (click.Abort, KeyboardInterrupt):
        click.echo("lead-sandbox: interrupted", err=True)
        return SIGINT_EXIT
    except BrokenPipeError:
        # `lead-sandbox keys | head`: the reader left. Point stdout at /dev/null so the interpreter's final
        # flush does not fail again (the recipe in the `signal` module's documentation).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return SIGPIPE_EXIT
    return result if isinstance(result, int) else 0


def one_line(exc: click.ClickException) -> str:
    """`lead-sandbox serve: Invalid value for '--port': … (see `lead-sandbox serve --help`)`: click's
    message without its usage block, so a mistake is one line."""
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        return f"{ctx.command_path}: {exc.format_message()} (see `{ctx.command_path} --help`)"
    return f"lead-sandbox: {exc.format_message()}"
