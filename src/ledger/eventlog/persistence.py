"""Store selection and the database-level append-only guard.

``LEDGER_STORE`` is one URL: ``sqlite:///path/to/ledger.db`` (the embedded default)
or ``postgresql://user[:password]@host[:port]/dbname[?schema=name]``. It becomes the
library's own persistence settings; the only thing added to the library's
recorders is the guard: triggers that make the database itself refuse UPDATE and
DELETE on the events table (and TRUNCATE in PostgreSQL), whatever the code does.
The PostgreSQL recorders live in ``postgres_recorders.py``, imported only for a
PostgreSQL store, so that the SQLite path never loads psycopg.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteTrackingRecorder
from eventsourcing.utils import get_topic

from ledger.errors import ConfigurationError

DEFAULT_STORE = "sqlite:///ledger.db"
#: Events per INSERT statement for large PostgreSQL batches.
INSERT_CHUNK = 1000
APPEND_ONLY_MESSAGE = "ledger events are append-only"
#: Advisory lock key serialising schema changes (any 64-bit constant; this is b"ledgerdd").
SCHEMA_LOCK_KEY = 0x6C65646765726464


def lock_schema_changes(cursor: Any) -> None:
    """Serialise DDL between processes that start at once against one PostgreSQL database.

    Two processes creating the same tables, functions and triggers concurrently
    deadlock (CREATE OR REPLACE FUNCTION in one, CREATE TRIGGER in the other);
    the transaction-scoped advisory lock makes the second wait for the first and
    then find everything already there.
    """
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK_KEY,))


@dataclass(frozen=True)
class StoreConfig:
    """A parsed ``LEDGER_STORE`` URL and the library settings it stands for."""

    url: str
    kind: str
    settings: dict[str, str]

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, for the embedded store (None for PostgreSQL)."""
        name = self.settings.get("SQLITE_DBNAME")
        return Path(name) if name and self.kind == "sqlite" else None


def parse_store_url(url: str) -> StoreConfig:
    """Turn a ``LEDGER_STORE`` URL into the library's persistence settings."""
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        path = unquote(parts.path)
        if parts.netloc or not path or path == "/":
            raise ConfigurationError(f"SQLite store URL needs a file path: {url!r}")
        # sqlite:///relative.db and sqlite:////absolute/path.db, as SQLAlchemy writes them.
        file_path = path[1:] if path.startswith("/") else path
        if file_path == ":memory:":
            raise ConfigurationError("an in-memory store would lose the ledger; give a file")
        return StoreConfig(
            url=url,
            kind="sqlite",
            settings={
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": file_path,
                "SQLITE_LOCK_TIMEOUT": "30",
                "APPLICATION_RECORDER_TOPIC": get_topic(AppendOnlySQLiteApplicationRecorder),
                "TRACKING_RECORDER_TOPIC": get_topic(SQLiteTrackingRecorder),
            },
        )
    if parts.scheme in ("postgresql", "postgres"):
        database = parts.path.lstrip("/")
        if not database or not parts.hostname:
            raise ConfigurationError(f"PostgreSQL store URL needs a host and database: {url!r}")
        # Imported here, not at the top: psycopg and its pool are half of the CLI's
        # start-up, and a SQLite store never needs them (docs/decisions.md).
        from ledger.eventlog.postgres_recorders import (  # noqa: PLC0415
            AppendOnlyPostgresApplicationRecorder,
            LedgerPostgresTrackingRecorder,
        )

        query = parse_qs(parts.query)
        settings = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": database,
            "POSTGRES_HOST": parts.hostname,
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_SCHEMA": query.get("schema", ["public"])[0],
            "POSTGRES_POOL_SIZE": query.get("pool_size", ["5"])[0],
            "POSTGRES_MAX_OVERFLOW": query.get("max_overflow", ["10"])[0],
            "POSTGRES_CONNECT_TIMEOUT": "10",
            "POSTGRES_LOCK_TIMEOUT": "30",
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "60",
            # With db functions on, eventsourcing 9.5.6 skips the table lock, and
            # readers tailing the log can skip concurrently inserted events.
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            "APPLICATION_RECORDER_TOPIC": get_topic(AppendOnlyPostgresApplicationRecorder),
            "TRACKING_RECORDER_TOPIC": get_topic(LedgerPostgresTrackingRecorder),
        }
        return StoreConfig(url=url, kind="postgresql", settings=settings)
    raise ConfigurationError(f"unknown store {url!r}: use sqlite:///FILE or postgresql://...")


class AppendOnlySQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, with triggers that refuse UPDATE and DELETE."""

    def construct_create_table_statements(self) -> list[str]:
        table = self.events_table_name
        statements = super().construct_create_table_statements()
        for operation in ("UPDATE", "DELETE"):
            statements.append(
                f"CREATE TRIGGER IF NOT EXISTS {table}_refuse_{operation.lower()} "
                f"BEFORE {operation} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )
        return statements

    def _create_table(self, c: SQLiteCursor) -> None:
        # WAL lets readers (projections, API workers) run beside the single writer.
        c.execute("PRAGMA journal_mode=WAL")
        super()._create_table(c)


def create_private_file(path: Path) -> None:
    """Create a SQLite database file readable by its owner only (0600), if it is new.

    The file holds every learner's data key. SQLite creates its ``-wal`` and ``-shm``
    files with the database file's permissions, so they are private too.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(descriptor)
