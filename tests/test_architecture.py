"""Issue 13 point 3: dependencies point one way. The same import-linter contracts as `make lint`, in `make test`."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    """lint-imports on the `sandbox` package found in `tree` (`python -c` puts the working directory first)."""
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
         "--config", str(ROOT / "pyproject.toml"), "--no-cache"],
        cwd=tree, capture_output=True, text=True, timeout=120,
    )


def test_layers_and_vendor_independence_hold():
    result = _lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


def test_an_upward_import_is_caught(tmp_path):
    """The check can fail: a bottom-layer module importing the app breaks the layers contract."""
    shutil.copytree(ROOT / "sandbox", tmp_path / "sandbox", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "sandbox" / "core" / "_upward_probe.py").write_text("from sandbox.app import create_app  # noqa: F401\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "sandbox.core._upward_probe -> sandbox.app" in result.stdout


def test_the_shared_generic_behaviour_importing_a_vendor_is_caught(tmp_path):
    """What the vendors share (`sandbox.apis.generic`, e.g. `records`) must not know any of them."""
    shutil.copytree(ROOT / "sandbox", tmp_path / "sandbox", ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "sandbox" / "apis" / "generic" / "_vendor_probe.py").write_text(
        "from sandbox.apis.hadar import models  # noqa: F401\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "The shared generic behaviour knows no vendor BROKEN" in result.stdout
