"""A real sandbox on a free loopback port, in a background thread (moto's server mode, for us)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sandbox.config import Config
from sandbox.serving import free_port, serve_in_thread, server_options

__all__ = ["free_port", "running_sandbox"]


@contextmanager
def running_sandbox(config: Config, *, port: int | None = None, app: Any = None) -> Iterator[str]:
    """Serve `create_app(config)` (or `app`) on 127.0.0.1 until the block ends; yields the origin."""
    from sandbox.app import create_app  # the web stack, imported only when a sandbox is started here

    app = app if app is not None else create_app(config)
    with serve_in_thread(app, port, options=server_options(config)) as origin:
        yield origin
