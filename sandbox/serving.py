"""Serve an ASGI app with uvicorn on a free 127.0.0.1 port in a background thread."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import uvicorn

from sandbox.config import Config
from sandbox.http.server_limits import uvicorn_options


def server_options(config: Config) -> dict[str, Any]:
    """`uvicorn.Config` keyword arguments for the config's connection limits: header/body deadlines (408),
    header size (431), applied through `sandbox.http.server_limits`."""
    return uvicorn_options(config.header_timeout, config.body_timeout, config.max_header_bytes)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _QuietServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # the host process owns signals
        pass


@contextmanager
def serve_in_thread(
    app: Any,
    port: int | None = None,
    *,
    lifespan: Literal["auto", "on", "off"] = "auto",
    options: dict[str, Any] | None = None,
) -> Iterator[str]:
    """Yields the origin (`http://127.0.0.1:PORT`) while the server runs; stops it afterwards.
    `options`: more `uvicorn.Config` arguments (the sandbox's connection limits)."""
    port = port or free_port()
    server = _QuietServer(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", access_log=False, lifespan=lifespan,
            **(options or {}),
        )
    )
    thread = threading.Thread(target=server.run, name=f"serve-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
