"""The two engines under the one store: SQLite (standard library, the default) and PostgreSQL (psycopg 3).

The store's SQL is written once, with `?` placeholders and what both engines share (upserts with
`ON CONFLICT`, `RETURNING`, subqueries). A dialect supplies the few pieces that differ: its connection,
placeholders, how a write transaction takes its lock, row locking for job claims, a JSON field in a
filter, and the column types of the schema. PostgreSQL is imported only when a `postgresql://` URL is used.
"""

from __future__ import annotations

import functools
import re
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

MEMORY_URLS = frozenset({"memory", ":memory:", "sqlite://", "sqlite:///:memory:"})
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(url: str) -> bool:
    return url.startswith(POSTGRES_SCHEMES)


def sqlite_path(url: str) -> str:
    """`memory`, a file path, or an `sqlite:///path` URL -> what `sqlite3.connect` takes."""
    if url in MEMORY_URLS:
        return ":memory:"
    if url.startswith("sqlite:///"):
        url = url[len("sqlite:///"):]
    elif "://" in url:
        raise ValueError(
            f"unsupported database URL {url!r}: use an SQLite file (a path, sqlite:///path), memory, "
            "or postgresql://user@host/database"
        )
    Path(url).parent.mkdir(parents=True, exist_ok=True)
    return url


def check_url(url: str) -> None:
    """ValueError for a URL no dialect takes (a CLI error, raised before anything starts)."""
    if not is_postgres(url):
        sqlite_path(url)


def _wal(conn: sqlite3.Connection, attempts: int = 100) -> None:
    """Switch a file to WAL. Workers starting together on a new file race for the lock this takes, and
    SQLite answers `database is locked` at once instead of waiting: try again briefly."""
    for attempt in range(attempts):
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError:
            if attempt == attempts - 1:
                raise
            time.sleep(0.05)


class Connection(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ...) -> Any: ...
    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any: ...
    def close(self) -> None: ...


class Dialect:
    """SQLite: the SQL is already in its form."""

    name = "sqlite"
    #: starts a write transaction; SQLite takes its (database-wide) write lock up front, so two
    #: processes never deadlock upgrading a read lock
    begin_write = "BEGIN IMMEDIATE"
    #: row locks for a job claim; SQLite's write lock already serializes claimers
    skip_locked = ""
    #: a row lock for read-modify-write; SQLite's write lock already covers it
    for_update = ""

    def connect(self, url: str) -> Connection:
        path = sqlite_path(url)
        # Autocommit mode: single statements commit on their own; `begin_write` groups several.
        # timeout: how long a writer waits for another process's transaction (SQLite's busy timeout).
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=5.0,
                               cached_statements=512)
        if path != ":memory:":
            # WAL + NORMAL: durable across restarts, readers never block the writer, no fsync per request.
            _wal(conn)
            conn.execute("PRAGMA synchronous=NORMAL")
            # Reads straight from the mapped file instead of a read() per page, for the first 16 MiB (the
            # schema, the indexes' upper levels, recent records). Every mapped page a query touches counts in
            # the process's RSS, so a 256 MiB map made RSS follow the file (122 MB after a 5-minute soak).
            conn.execute("PRAGMA mmap_size=16777216")
        return conn

    def ddl(self, statement: str) -> str:
        return statement.replace("{seq}", "INTEGER NOT NULL PRIMARY KEY").replace("{json}", "JSON").replace(
            "{blob}", "BLOB"
        )

    def json_field(self, field: str) -> str:
        # A JSON number compares as a number, a string as text, true/false as 1/0.
        return f"json_extract(data, '$.\"{field}\"')"

    def json_text(self, field: str) -> str:
        return self.json_field(field)

    def json_param(self) -> str:
        return "?"

    def json_value(self, value: Any) -> Any:
        return value

    def lock_migrations(self, conn: Connection) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def unlock_migrations(self, conn: Connection, ok: bool) -> None:
        conn.execute("COMMIT" if ok else "ROLLBACK")


_VARCHAR = re.compile(r"VARCHAR\((\d+)\)")


@functools.lru_cache(maxsize=2048)
def _pg_sql(sql: str) -> str:
    # `?` never appears inside the store's literals, so a plain replace is exact; `%` is escaped first.
    return sql.replace("%", "%%").replace("?", "%s")


class _PostgresConnection:
    """psycopg's connection with the store's `?` placeholders (translated once per statement text)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._conn = self._connect()
        self._in_transaction = False

    def _connect(self) -> Any:
        import psycopg

        # Autocommit, like the SQLite connection: `BEGIN` groups statements where a write needs it.
        # prepare_threshold: statements are server-side prepared after two uses (psycopg's default is 5).
        return psycopg.connect(self._url, autocommit=True, prepare_threshold=2, connect_timeout=5)

    def _live(self) -> Any:
        """The connection, opened again after the server went away (a restart, a failover): the call
        that met the broken connection failed; later ones work once PostgreSQL answers. Never inside a
        transaction, whose earlier statements died with the old connection."""
        if (self._conn.broken or self._conn.closed) and not self._in_transaction:
            self._conn = self._connect()
        return self._conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        conn = self._live()
        if sql in ("BEGIN", "COMMIT", "ROLLBACK"):
            self._in_transaction = sql == "BEGIN"
        return conn.execute(_pg_sql(sql), params or None)

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> Any:
        with self._live().cursor() as cursor:
            cursor.executemany(_pg_sql(sql), params)
            return cursor

    def close(self) -> None:
        self._conn.close()


# Any constant: the advisory lock that serializes schema migrations across processes.
_MIGRATION_LOCK = 7_105_150_014


class PostgresDialect(Dialect):
    name = "postgresql"
    begin_write = "BEGIN"
    # Each claimer skips the rows another claimer holds, so a job goes to exactly one worker.
    skip_locked = " FOR UPDATE SKIP LOCKED"
    for_update = " FOR UPDATE"

    def connect(self, url: str) -> Connection:
        return _PostgresConnection(url)

    def ddl(self, statement: str) -> str:
        # Bytewise ("C") order for every text column: ISO times, slugs and keys sort as on SQLite.
        statement = _VARCHAR.sub(r'VARCHAR(\1) COLLATE "C"', statement)
        return statement.replace("{seq}", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY").replace(
            "{json}", "TEXT"
        ).replace("{blob}", "BYTEA")

    def json_field(self, field: str) -> str:
        # Documents are stored as their exact text; jsonb compares numbers as numbers, strings as text.
        return f"(data::jsonb -> '{field}')"

    def json_text(self, field: str) -> str:
        return f"(data::jsonb ->> '{field}')"

    def json_param(self) -> str:
        return "CAST(? AS jsonb)"

    def json_value(self, value: Any) -> Any:
        from sandbox.core import jsonio

        return jsonio.dumps_document(value)

    def lock_migrations(self, conn: Connection) -> None:
        conn.execute("BEGIN")
        conn.execute("SELECT pg_advisory_xact_lock(?)", (_MIGRATION_LOCK,))

    def unlock_migrations(self, conn: Connection, ok: bool) -> None:
        conn.execute("COMMIT" if ok else "ROLLBACK")


SQLITE = Dialect()
POSTGRESQL = PostgresDialect()


def dialect_for(url: str) -> Dialect:
    return POSTGRESQL if is_postgres(url) else SQLITE
