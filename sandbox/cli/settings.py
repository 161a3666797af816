"""Where command-line settings come from: flag > `LEAD_SANDBOX_<OPTION>` > `lead-sandbox.toml` (or
`[tool.lead-sandbox]` in `pyproject.toml`) in the working directory > the option's default.

click already resolves flag > environment > `default_map` > default; this module builds the
`default_map` from the file and gives every setting its environment variable, so adding an option
to `serve` is one `setting(...)` line."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

ENV_PREFIX = "LEAD_SANDBOX_"
CONFIG_FILE = "lead-sandbox.toml"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4010

#: settings of `serve` that other commands share: the same database, and the server's address
SHARED = {"keys": ("db", "seed", "host", "port"), "reset": ("db", "seed"), "href": ("db", "seed")}


class CliError(click.ClickException):
    """An ordinary mistake or refusal: one line on stderr, exit code 2 (1 for a failed operation)."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.__dict__["exit_code"] = exit_code  # click declares exit_code on the class


def envvar(long_flag: str) -> str:
    """`--admin-token` -> `LEAD_SANDBOX_ADMIN_TOKEN`."""
    return ENV_PREFIX + long_flag.lstrip("-").replace("-", "_").upper()


def setting(*decls: str, **kwargs: Any) -> Callable[[Any], Any]:
    """A click option that also reads its environment variable and the config file, with the default
    shown in `--help`."""
    long_flag = next(d for d in decls if d.startswith("--"))
    kwargs.setdefault("show_default", True)
    return click.option(*decls, envvar=envvar(long_flag), show_envvar=True, **kwargs)


def read_config_file(directory: Path) -> tuple[Path | None, dict[str, Any]]:
    """The settings of `lead-sandbox.toml`, else of `[tool.lead-sandbox]` in `pyproject.toml`."""
    own = directory / CONFIG_FILE
    try:
        if own.is_file():
            return own, _normalise(tomllib.loads(own.read_text(encoding="utf-8")))
        project = directory / "pyproject.toml"
        if project.is_file():
            table = tomllib.loads(project.read_text(encoding="utf-8")).get("tool", {}).get("lead-sandbox")
            if table is not None:
                return project, _normalise(table)
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {own if own.is_file() else directory / 'pyproject.toml'}: {exc}") from None
    return None, {}


def _normalise(table: dict[str, Any]) -> dict[str, Any]:
    return {str(name).replace("-", "_"): value for name, value in table.items()}


def default_map(path: Path | None, values: dict[str, Any], serve: click.Command) -> dict[str, Any]:
    """click's `default_map` for the root group: the file's settings for `serve`, and the shared ones
    for the commands that read the same database or talk to the same server."""
    if not values:
        return {}
    # a setting is named as its flag (`api = ["hadar"]` for `--api`, `admin-token` or `admin_token`)
    names = {_flag_name(param): str(param.name) for param in serve.params if isinstance(param, click.Option)}
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise CliError(f"{path}: unknown setting {', '.join(unknown)} (known: {', '.join(sorted(names))})")
    values = {names[name]: value for name, value in values.items()}
    mapping: dict[str, Any] = {"serve": dict(values)}
    for command, shared in SHARED.items():
        mapping[command] = {name: values[name] for name in shared if name in values}
    shared_href = mapping.pop("href")  # a group: its subcommands read the database
    mapping["href"] = {sub: shared_href for sub in ("provision", "rotate-key")}
    return mapping


def _flag_name(option: click.Option) -> str:
    long_flag = next((d for d in option.opts if d.startswith("--")), option.opts[0])
    return long_flag.lstrip("-").replace("-", "_")


def server_origin(base_url: str | None) -> str:
    """The running sandbox's origin for the commands that talk to it: `--base-url`, else the host and
    port `serve` would use (environment, then config file)."""
    if base_url:
        return base_url.rstrip("/")
    _, values = read_config_file(Path.cwd())
    host = os.environ.get(envvar("--host")) or values.get("host") or DEFAULT_HOST
    port = os.environ.get(envvar("--port")) or values.get("port") or DEFAULT_PORT
    return f"http://{host}:{port}"
