"""The one warning the processes lead-sandbox owns silence, and only those processes."""

from __future__ import annotations

import warnings


def quiet_connexion_import() -> None:
    """Connexion imports starlette.testclient, which warns about httpx (a UserWarning) on every start. Called by
    the command line and by each `--workers` process before the app is imported; never on `import sandbox`, so a
    user's own process (a pytest run with the plugin, say) keeps its warning filters untouched."""
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
