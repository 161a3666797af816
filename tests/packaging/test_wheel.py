"""The wheel works anywhere: built from this checkout, installed into a fresh virtual environment outside
it, it serves, answers a request, runs the contract suite for one API, checks a document, and its pytest
fixture works in a throwaway user project that has its own `contracts` and `fixtures` modules.

Needs a package index for the dependencies (the constraints pin them); skipped only when pip cannot
reach one."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sandbox.serving import free_port

REPO = Path(__file__).resolve().parents[2]
ADMIN = "hdr_test_marina_growth_admin_4f9c2a7b"

#: building, a fresh environment and every dependency take minutes on a loaded machine (a bound, not a speed test)
pytestmark = [pytest.mark.network, pytest.mark.timeout(1800)]

USER_TEST = '''
import httpx

import contracts
import fixtures


def test_own_modules_are_not_shadowed():
    assert contracts.VALUE == "mine" and fixtures.VALUE == "mine too"


def test_with_the_sandbox(lead_sandbox):
    base = lead_sandbox.base_url("hadar")
    created = httpx.post(f"{base}/leads", json={"name": "Aisha Khan", "phone": "+971501234567"},
                         headers={"Authorization": f"Bearer {lead_sandbox.key('hadar')}"})
    assert created.status_code == 201, created.text
'''

USER_DOC = """# Our integration

```sh
curl -X POST https://api.hadar-ai.com/v1/leads \\
  -H "Authorization: Bearer hdr_test_marina_growth_admin_4f9c2a7b" \\
  -H "Content-Type: application/json" \\
  -d '{"name": "Aisha Khan", "phone": "+971501234567"}'
```
"""


def _run(*args: str | Path, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("LEAD_SANDBOX_")}
    return subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the venv's bin directory, a user project directory), both outside the checkout."""
    root = tmp_path_factory.mktemp("wheel")
    assert REPO not in root.parents
    probe = _run(sys.executable, "-m", "pip", "download", "--no-deps", "--dest", root / "probe", "setuptools>=68", cwd=root)
    if probe.returncode != 0:
        pytest.skip("pip cannot reach a package index: " + (probe.stderr.strip().splitlines() or ["?"])[-1])
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--wheel-dir", root / "dist", REPO, cwd=root)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-2000:]
    (wheel,) = (root / "dist").glob("lead_sandbox-*.whl")
    venv = root / "venv"
    assert _run(sys.executable, "-m", "venv", venv, cwd=root).returncode == 0
    bin_dir = venv / "bin"
    install = _run(bin_dir / "python", "-m", "pip", "install", "--constraint", REPO / "constraints.txt", wheel, cwd=root,
                   timeout=900)
    assert install.returncode == 0, install.stdout[-2000:] + install.stderr[-2000:]
    project = root / "user-project"
    (project / "fixtures").mkdir(parents=True)
    (project / "contracts.py").write_text('VALUE = "mine"\n')
    (project / "fixtures" / "__init__.py").write_text('VALUE = "mine too"\n')
    (project / "test_user.py").write_text(USER_TEST)
    (project / "README.md").write_text(USER_DOC)
    return bin_dir, project


def test_wheel__holds_specs_and_fixtures_and_no_generic_top_level_names(installed: tuple[Path, Path]) -> None:
    bin_dir, project = installed
    code = ("import importlib.metadata as m, sandbox.config as c; d = m.distribution('lead-sandbox'); "
            "print(sorted({f.parts[0] for f in d.files if not f.parts[0].endswith(('.dist-info', '..'))})); "
            "print((c.SPEC_DIR / 'hadar.yaml').is_file(), 'site-packages' in str(c.SPEC_DIR))")
    result = _run(bin_dir / "python", "-c", code, cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["['sandbox']", "True True"]


def test_wheel__fixtures_are_data_only(installed: tuple[Path, Path]) -> None:
    """`sandbox.fixtures` ships the YAML tenants and its package marker, no code: the seeders are in the vendor
    packages. setuptools never empties `build/lib`, so a checkout that built a wheel before the seeders moved
    would ship stale copies (`rm -rf build` clears them)."""
    bin_dir, project = installed
    code = ("import importlib.metadata as m; d = m.distribution('lead-sandbox'); "
            "print(sorted(f.name for f in d.files if f.parts[:2] == ('sandbox', 'fixtures') and f.suffix == '.py'))")
    result = _run(bin_dir / "python", "-c", code, cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['__init__.py']", result.stdout


def test_wheel__holds_the_scaffold_templates(installed: tuple[Path, Path], tmp_path: Path) -> None:
    """The scaffold's templates are package data; without the `dev` extra (its spec validator) the command
    says what to install, in one line."""
    bin_dir, project = installed
    code = ("from importlib import resources; folder = resources.files('sandbox') / 'templates' / 'scaffold'; "
            "print(sorted(p.name for p in folder.iterdir()))")
    listed = _run(bin_dir / "python", "-c", code, cwd=project)
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.strip() == "['api_init.py.j2', 'fixture.yaml.j2', 'handlers.py.j2', 'test_api.py.j2']"
    (tmp_path / "sandbox" / "apis").mkdir(parents=True)
    (tmp_path / "openapi").mkdir()
    spec = tmp_path / "notes.yaml"
    spec.write_text("openapi: 3.1.0\ninfo: {title: Notes, version: '1'}\npaths: {}\n")
    result = _run(bin_dir / "lead-sandbox", "scaffold", "notes", "--spec", spec, "--into", tmp_path, cwd=project)
    assert result.returncode != 0 and "openapi-spec-validator" in result.stderr, result.stderr[-2000:]
    assert len(result.stderr.strip().splitlines()) == 1


def test_wheel__serve_answers_a_request(installed: tuple[Path, Path]) -> None:
    bin_dir, project = installed
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith("LEAD_SANDBOX_")}
    process = subprocess.Popen([str(bin_dir / "lead-sandbox"), "serve", "--port", str(port), "--api", "hadar"],
                               cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert process.stdout is not None
        lines = []
        deadline = time.monotonic() + 120
        for line in process.stdout:
            lines.append(line)
            if line.startswith("ready on ") or time.monotonic() > deadline:
                break
        assert lines and lines[-1].startswith("ready on "), "".join(lines)
        response = httpx.get(f"http://127.0.0.1:{port}/v1/leads", headers={"Authorization": f"Bearer {ADMIN}"})
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=15)
    assert (project / ".lead-sandbox" / "sandbox.db").is_file()  # the user's working directory, not site-packages


def test_wheel__contract_for_one_api(installed: tuple[Path, Path]) -> None:
    bin_dir, project = installed
    result = _run(bin_dir / "lead-sandbox", "contract", "--api", "href", "--max-examples", "2", "--phases", "examples",
                  cwd=project)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_wheel__docs_check(installed: tuple[Path, Path]) -> None:
    bin_dir, project = installed
    result = _run(bin_dir / "lead-sandbox", "docs-check", "--api", "hadar", "README.md", cwd=project)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "OK " in result.stdout and "0 problem(s)" in result.stdout


def test_wheel__pytest_fixture_in_a_user_project(installed: tuple[Path, Path]) -> None:
    bin_dir, project = installed
    result = _run(bin_dir / "python", "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=project)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout
