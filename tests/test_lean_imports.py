"""sandbox/lean_imports.py: the server's processes import httpx without its command-line client. Runs in a
fresh interpreter each (imports are per process). Fails loudly when an httpx upgrade changes how its package
imports the CLI, so the start-up saving cannot silently disappear or break httpx."""

from __future__ import annotations

import json
import subprocess
import sys

_PROBE = """
import json, sys
import sandbox.cli, sandbox.workers  # what `lead-sandbox` and each worker import before the skip
assert "httpx" not in sys.modules, "sandbox.cli or sandbox.workers imports httpx: the skip comes too late"
from sandbox.lean_imports import import_httpx_without_its_cli
import_httpx_without_its_cli()
import httpx
from sandbox.warnings_policy import quiet_connexion_import
quiet_connexion_import()
import sandbox.app
before = {name: name in sys.modules for name in ("rich", "pygments", "httpx._main")}
import httpx._main  # still importable on demand
print(json.dumps({"before": before, "client": httpx.Client.__name__, "cli": callable(httpx._main.main),
                  "marker_left": sys.modules.get("httpx._main", 0) is None}))
"""


def _probe(code: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_server_imports_httpx_but_not_its_cli_nor_what_the_cli_needs() -> None:
    seen = _probe(_PROBE)
    assert seen["before"] == {"rich": False, "pygments": False, "httpx._main": False}, (
        "the server's imports now load httpx's CLI (or rich/pygments) anyway: see sandbox/lean_imports.py")
    assert seen["client"] == "Client"
    assert seen["cli"] is True and seen["marker_left"] is False


def test_httpx_still_imports_its_cli_when_nothing_is_skipped() -> None:
    """The premise of the module: without it, `import httpx` loads the CLI and rich (else it is not needed)."""
    seen = _probe("import json, sys, httpx; print(json.dumps({'rich': 'rich' in sys.modules, "
                  "'cli': 'httpx._main' in sys.modules}))")
    assert seen == {"rich": True, "cli": True}
