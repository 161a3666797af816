"""What the processes lead-sandbox owns leave out of their imports, and only those processes.

httpx's package `__init__` imports its command-line client (`httpx._main`) whenever rich, pygments and click
are installed, and they are (Schemathesis brings them): about 65 ms of a server's one-second start spent on a
program the server never runs. Every server imports httpx (Connexion imports Starlette's test client; the
webhook sender uses it), so `serve` and each `--workers` process import httpx first with that submodule
marked absent: httpx's own `except ImportError` then defines its stub `main`, exactly as in an install
without the CLI extra. The mark is removed at once, so a later `import httpx._main` works as usual.

This touches a private module name of httpx, here only; tests/test_lean_imports.py fails loudly when an
httpx upgrade stops importing `_main` that way (the CLI's libraries would then show up again)."""

from __future__ import annotations

import sys

_CLI_MODULE = "httpx._main"


def import_httpx_without_its_cli() -> None:
    """Import httpx, leaving its command-line client (and rich, pygments) unimported. Called by the command
    line and by each `--workers` process before the app is imported; never on `import sandbox`."""
    if "httpx" in sys.modules:
        return  # already imported as it is: nothing to save, nothing to change
    sys.modules[_CLI_MODULE] = None  # type: ignore[assignment]  # None: "import httpx._main" raises ImportError
    try:
        import httpx  # noqa: F401
    finally:
        if sys.modules.get(_CLI_MODULE, False) is None:
            del sys.modules[_CLI_MODULE]
