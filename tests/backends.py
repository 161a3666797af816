"""Real PostgreSQL and Redis for the tests that need them, and the store parametrized over both engines.

Each PostgreSQL test gets a database of its own (`ls_test_<hex>`), dropped afterwards; each Redis test a
key prefix of its own. Without the services a test skips with one line saying what is missing, except
under CI (`CI=true`), where a missing service fails the run: CI must exercise both engines.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

POSTGRES_ADMIN_URL = os.environ.get("LEAD_SANDBOX_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
REDIS_URL = os.environ.get("LEAD_SANDBOX_TEST_REDIS", "redis://127.0.0.1:6379/0")
REQUIRED = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


#: service -> how many tests skipped for want of it (the one-line summary at the end of the run)
_SKIPPED: dict[str, int] = {}


def _missing(what: str, exc: BaseException) -> None:
    message = f"{what} unavailable ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
    if REQUIRED:
        pytest.fail(f"CI requires {message}", pytrace=False)
    _SKIPPED[what] = _SKIPPED.get(what, 0) + 1
    pytest.skip(message)


def pytest_terminal_summary(terminalreporter) -> None:  # type: ignore[no-untyped-def]
    if _SKIPPED:
        parts = "; ".join(f"{count} needing {what}" for what, count in _SKIPPED.items())
        terminalreporter.write_line(f"lead-sandbox: skipped {sum(_SKIPPED.values())} tests of the team "
                                    f"sandbox ({parts}): not reachable here; CI requires them")


def _admin_connect():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True, connect_timeout=3)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """The URL of a new, empty PostgreSQL database, dropped after the test."""
    try:
        admin = _admin_connect()
    except Exception as exc:  # noqa: BLE001 - psycopg.OperationalError, or psycopg not installed
        _missing(f"PostgreSQL at {POSTGRES_ADMIN_URL}", exc)
    name = f"ls_test_{uuid.uuid4().hex[:16]}"
    with admin:
        admin.execute(f'CREATE DATABASE "{name}"')
        base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
        try:
            yield f"{base}/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The URL of the shared Redis; the keys the test made (under its own prefix) are deleted after it."""
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any reason Redis cannot answer
        _missing(f"Redis at {REDIS_URL}", exc)
    yield REDIS_URL
    client.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A database URL of each engine: an SQLite file, then a new PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "sandbox.db")
    return str(request.getfixturevalue("postgres_url"))
