"""Issue 13 point 3: dependencies point one way. The same import-linter contracts as `make lint`, in `make test`."""

from __future__ import annotations

import ast
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


def test_a_seeder_borrowing_another_vendors_helpers_is_caught(tmp_path):
    """Seeders live in their vendor's package (`sandbox/apis/<vendor>/factories.py`), inside the checked graph:
    AskAd's seeding reaching into Hadar's (as it once did for `spread_times`) breaks vendor independence."""
    shutil.copytree(ROOT / "sandbox", tmp_path / "sandbox", ignore=shutil.ignore_patterns("__pycache__"))
    factories = tmp_path / "sandbox" / "apis" / "askad" / "factories.py"
    factories.write_text(factories.read_text() + "\nfrom sandbox.apis.hadar.factories import seed_leads  # noqa: E402,F401\n")
    result = _lint_imports(tmp_path)
    assert result.returncode != 0
    assert "Vendors are independent of each other BROKEN" in result.stdout
    assert "sandbox.apis.askad.factories -> sandbox.apis.hadar.factories" in result.stdout


def test_fixtures_folder_is_data_only():
    """`fixtures/` installs as `sandbox.fixtures` only through setup.py's mapping, which import-linter does not
    see: code there would sit outside the checked graph, so it holds YAML (and the package marker) only."""
    code = sorted(p.name for p in (ROOT / "fixtures").rglob("*.py"))
    assert code == ["__init__.py"], code
    marker = ast.parse((ROOT / "fixtures" / "__init__.py").read_text())
    assert all(isinstance(node, ast.Expr) for node in marker.body), "fixtures/__init__.py holds a docstring only"
    assert {p.stem for p in (ROOT / "fixtures").glob("*.yaml")} >= {"hadar", "hadar-crm", "leaditio", "askad", "href"}
