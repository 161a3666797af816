"""The command line's manners: --version, settings from flag > environment > file > default, and one
line plus a non-zero exit (never a traceback) for every ordinary mistake."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox import __version__
from sandbox.cli import main
from sandbox.cli import server as serve_module
from sandbox.config import Config
from sandbox.contracts.sandbox_server import free_port

ADMIN = "hdr_test_marina_growth_admin_4f9c2a7b"


def _one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err + captured.out
    return lines[0]


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[Config]:
    """`serve` resolves its settings and would start: the Config it would run, no socket, no server."""
    configs: list[Config] = []
    monkeypatch.setattr(serve_module, "bind", lambda host, port: None)
    monkeypatch.setattr(serve_module, "run", lambda config, listener: configs.append(config))
    for name in ("PORT", "HOST", "DB", "SEED", "API", "PLAN", "ADMIN_TOKEN", "RATE_WINDOW"):
        monkeypatch.delenv(f"LEAD_SANDBOX_{name}", raising=False)
    return configs


def test_version__prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"lead-sandbox {__version__}"


def test_help__every_serve_option_has_help_and_its_environment_variable(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for env in ("LEAD_SANDBOX_PORT", "LEAD_SANDBOX_HOST", "LEAD_SANDBOX_DB", "LEAD_SANDBOX_SEED", "LEAD_SANDBOX_ADMIN_TOKEN"):
        assert env in text
    assert "default: 4010" in text and "default: 127.0.0.1" in text


def test_settings__flag_beats_environment_beats_file_beats_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[Config]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lead-sandbox.toml").write_text('port = 4100\nseed = 7\ndb = "file.db"\napi = ["hadar"]\n')
    monkeypatch.setenv("LEAD_SANDBOX_SEED", "8")
    monkeypatch.setenv("LEAD_SANDBOX_DB", "env.db")
    assert main(["serve", "--db", "memory"]) == 0
    (config,) = started
    assert (config.port, config.seed, config.db, config.apis, config.host) == (4100, 8, "memory", ("hadar",), "127.0.0.1")


def test_settings__pyproject_tool_table_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[Config]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n[tool.lead-sandbox]\nrate-window = 5\nplan = ["growth=3"]\n')
    assert main(["serve"]) == 0
    assert started[0].rate_window == 5 and dict(started[0].plans) == {"growth": 3}


def test_settings__unknown_file_setting_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], started: list[Config]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "lead-sandbox.toml").write_text("prot = 4100\n")
    assert main(["serve"]) == 2
    assert "unknown setting prot" in _one_line_error(capsys)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["serve", "--port", "99999"], "99999 is not in the range 1<=x<=65535"),
        (["serve", "--port", "0"], "0 is not in the range"),
        (["serve", "--api", "nope"], "unknown API nope"),
        (["serve", "--plan", "growth=lots"], "NAME=PER_MINUTE"),
        (["serve", "--db", "postgres-typo://x"], "unsupported database URL"),
        (["contract", "--api", "nope"], "'nope' is not one of"),
        (["clock", "advance", "5 fortnights"], "not a duration"),
        (["nonsense"], "No such command 'nonsense'"),
    ],
    ids=["port-range", "port-zero", "unknown-api", "bad-plan", "bad-db-url", "contract-unknown-api", "bad-duration",
         "unknown-command"],
)
def test_ordinary_mistake__one_line_and_exit_2(argv: list[str], expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert expected in _one_line_error(capsys)


def test_serve__unusable_db_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "not-a-db").write_text("hello, I am text")
    assert main(["serve", "--port", str(free_port()), "--db", str(tmp_path / "not-a-db")]) == 2
    assert "cannot use it as a SQLite database" in _one_line_error(capsys)
    (tmp_path / "file").write_text("")
    assert main(["serve", "--port", str(free_port()), "--db", str(tmp_path / "file" / "sandbox.db")]) == 2
    assert "--db" in _one_line_error(capsys)


def test_serve__busy_port_says_so_before_printing_keys(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        assert main(["serve", "--port", str(port), "--db", "memory"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # no key table first
    assert f"port {port} on 127.0.0.1 is already in use" in captured.err and "--port" in captured.err
    assert "PORT=" in captured.err and "Traceback" not in captured.err


def test_reset__refuses_a_database_that_does_not_exist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEAD_SANDBOX_DB", raising=False)
    assert main(["reset"]) == 2
    line = _one_line_error(capsys)
    assert str(tmp_path / ".lead-sandbox" / "sandbox.db") in line and "no sandbox database" in line
    assert not (tmp_path / ".lead-sandbox").exists()


def test_reset__names_the_database_it_reset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "named.db"
    assert main(["keys", "--json", "--db", str(db)]) == 0  # creates and seeds it
    capsys.readouterr()
    assert main(["reset", "--db", str(db), "--api", "hadar"]) == 0
    assert str(db) in capsys.readouterr().out


def _serve(*args: str) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "serve", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip())
        if line.startswith("ready on "):
            return process, lines
    process.kill()
    raise AssertionError("serve did not print 'ready on':\n" + "\n".join(lines))


def test_serve__ctrl_c_stops_cleanly() -> None:
    process, _ = _serve("--port", str(free_port()), "--db", "memory", "--api", "hadar")
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=20)
    assert process.returncode == 0
    assert "Traceback" not in rest and "KeyboardInterrupt" not in rest


def test_serve__sigterm_stops_cleanly_with_exit_0(tmp_path: Path) -> None:
    """The README calls SIGTERM graceful: the same clean shutdown as Ctrl-C, exit 0 (not 143, which `make`
    reports as "Error 2"), the port free again and the database file usable."""
    port = free_port()
    process, _ = _serve("--port", str(port), "--db", str(tmp_path / "t.db"), "--api", "hadar")
    assert httpx.get(f"http://127.0.0.1:{port}/_sandbox/health").status_code == 200
    process.send_signal(signal.SIGTERM)
    rest, _ = process.communicate(timeout=20)
    assert process.returncode == 0, rest
    assert "Traceback" not in rest
    with socket.create_server(("127.0.0.1", port)):  # freed: binding again works
        pass
    assert main(["reset", "--db", str(tmp_path / "t.db"), "--api", "hadar"]) == 0


def test_keys__urls_work_on_the_running_server(tmp_path: Path) -> None:
    port = free_port()
    process, _ = _serve("--port", str(port), "--db", str(tmp_path / "s.db"))
    try:
        result = subprocess.run([sys.executable, "-m", "sandbox", "keys", "--json", "--port", str(port),
                                 "--db", str(tmp_path / "s.db")], capture_output=True, text=True, timeout=60, check=True)
        rows: list[dict[str, Any]] = json.loads(result.stdout)
        assert {row["api"] for row in rows} == {"hadar", "hadar-crm", "leaditio", "askad", "href"}
        for base in {row["base_path"] for row in rows}:
            assert httpx.get(f"http://127.0.0.1:{port}{base}/openapi.json").status_code == 200, base
        admin = next(row for row in rows if row["key"] == ADMIN)
        leads = httpx.get(f"http://127.0.0.1:{port}{admin['base_path']}/leads", headers={"Authorization": f"Bearer {ADMIN}"})
        assert leads.status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_keys__a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "sandbox", "keys", "--db", str(tmp_path / "p.db")],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "LEAD_SANDBOX_PORT": str(free_port())})
    assert process.stdout is not None and process.stderr is not None
    process.stdout.readline()
    process.stdout.close()  # like `| head -1`
    err = process.stderr.read()
    process.wait(timeout=30)
    assert "Traceback" not in err and "BrokenPipeError" not in err


def test_href_provision__endpoint_on_the_port_of_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """`make serve PORT=4710` with LEAD_SANDBOX_PORT=4710 exported: the printed endpoint is on 4710, as
    `logs`, `listen`, `trigger` and `clock` would find the server."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LEAD_SANDBOX_HOST", raising=False)
    monkeypatch.setenv("LEAD_SANDBOX_PORT", "4710")
    assert main(["href", "provision", "smithlaw", "Smith & Partners", "--db", str(tmp_path / "h.db")]) == 0
    endpoint = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("Endpoint: "))
    assert endpoint == ("Endpoint: http://smithlaw.localtest.me:4710/href/api/leads/intake "
                        "(or http://127.0.0.1:4710/href/smithlaw/api/leads/intake)")
    (tmp_path / "lead-sandbox.toml").write_text("port = 4720\n")  # the config file, when the environment is silent
    monkeypatch.delenv("LEAD_SANDBOX_PORT")
    assert main(["href", "rotate-key", "smithlaw", "--db", str(tmp_path / "h.db")]) == 0
    assert "smithlaw.localtest.me:4720/" in capsys.readouterr().out


def test_make_keys__passes_the_port_of_make_serve() -> None:
    """`make keys PORT=4710` asks `keys` for URLs on 4710, as `make serve PORT=4710` serves there."""
    repo = Path(__file__).resolve().parents[2]
    dry = subprocess.run(["make", "--no-print-directory", "-n", "keys", "PORT=4710", "HOST=127.0.0.2"], cwd=repo,
                         capture_output=True, text=True, timeout=30, check=True)
    command = dry.stdout.strip().splitlines()[-1]
    assert command.endswith("-m sandbox keys --host 127.0.0.2 --port 4710"), dry.stdout


def test_make_serve__follows_an_exported_port_and_host_unless_given_its_own() -> None:
    """The README: every `serve` option reads LEAD_SANDBOX_<OPTION>; `make serve` passes flags, so it must too."""
    repo = Path(__file__).resolve().parents[2]
    env = {**os.environ, "LEAD_SANDBOX_PORT": "4711", "LEAD_SANDBOX_HOST": "127.0.0.3"}

    def dry(*args: str) -> str:
        done = subprocess.run(["make", "--no-print-directory", "-n", "serve", *args], cwd=repo, env=env,
                              capture_output=True, text=True, timeout=30, check=True)
        return done.stdout.strip().splitlines()[-1]

    assert dry().endswith("-m sandbox serve --host 127.0.0.3 --port 4711")
    assert dry("PORT=4712").endswith("-m sandbox serve --host 127.0.0.3 --port 4712")


@pytest.mark.parametrize("command", [["serve", "--port", "1"], ["keys"], ["href", "provision", "smithlaw", "Smith"]],
                         ids=["serve", "keys", "href"])
@pytest.mark.parametrize("prefix", ["", "sqlite:///"], ids=["path", "url"])
def test_db_in_a_missing_folder__one_line_and_nothing_created(
    command: list[str], prefix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], started: list[Config]
) -> None:
    db = tmp_path / "missing" / "dir" / "x.db"
    assert main([*command, "--db", prefix + str(db)]) == 2
    line = _one_line_error(capsys)
    assert f"the folder {db.parent} does not exist; create it first" in line
    assert not (tmp_path / "missing").exists() and not started


def test_serve__default_db_folder_is_still_created(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   started: list[Config]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["serve", "--port", str(free_port())]) == 0
    assert started and (tmp_path / ".lead-sandbox" / "sandbox.db").is_file()
