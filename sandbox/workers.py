"""`serve --workers N`: N uvicorn worker processes on one port, each building its app from the same Config.

uvicorn starts workers by importing an app factory; the Config travels in the environment. All state
the workers must agree on lives in the database (and Redis), so they behave as one sandbox: an SQLite
file in WAL mode on a laptop, PostgreSQL for a team.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from sandbox.config import Config

CONFIG_ENV = "LEAD_SANDBOX_WORKER_CONFIG"


def export_config(config: Config) -> None:
    os.environ[CONFIG_ENV] = json.dumps(dataclasses.asdict(config))


def config_from_environment() -> Config:
    fields: dict[str, Any] = json.loads(os.environ[CONFIG_ENV])
    fields["apis"] = tuple(fields.get("apis") or ())
    fields["allowed_hosts"] = tuple(fields.get("allowed_hosts") or ())
    return Config(**fields)


def app() -> Any:
    """The factory each worker process calls (`uvicorn.run(..., factory=True)`)."""
    from sandbox.lean_imports import import_httpx_without_its_cli
    from sandbox.warnings_policy import quiet_connexion_import

    quiet_connexion_import()
    import_httpx_without_its_cli()
    from sandbox.app import create_app

    return create_app(config_from_environment())


def check(config: Config) -> None:
    """ValueError for a configuration N workers cannot share."""
    from sandbox.core.store import MEMORY_URLS

    if config.workers < 1:
        raise ValueError("--workers takes a positive number")
    if config.workers > 1 and config.db in MEMORY_URLS:
        raise ValueError("--workers needs a database the workers share: a file (the default) or postgresql://…")
    from sandbox.apis import registry
    from sandbox.control import API as CONTROL_PLANE
    from sandbox.spec import check_schemas

    for api in [*registry(config.apis).values(), CONTROL_PLANE]:  # here, not as N tracebacks from the workers
        check_schemas(api.spec_file)


def uvicorn_config(config: Config) -> Any:
    """uvicorn's settings for N workers; `export_config` first, so each worker's factory finds the Config."""
    import uvicorn

    from sandbox.serving import server_options

    export_config(config)
    return uvicorn.Config(
        "sandbox.workers:app",
        factory=True,
        host=config.host,
        port=config.port,
        workers=config.workers,
        log_level="warning",
        access_log=False,
        ws="none",
        lifespan="on",
        # Graceful shutdown: a worker stops taking requests, finishes those in flight (bounded), and its
        # job worker hands back the claims it did not finish.
        timeout_graceful_shutdown=10,
        **server_options(config),
    )
