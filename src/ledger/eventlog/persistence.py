"""Store selection and the database-level append-only guard.

``LEDGER_STORE`` is one URL: ``sqlite:///path/to/ledger.db`` (the embedded default)
or ``postgresql://user[:password]@host[:port]/dbname[?schema=name]``. It becomes the
library's own persistence settings; the only thing added to the library's
recorders is the guard: triggers that make the database itself refuse UPDATE and
DELETE on the events table (and TRUNCATE in PostgreSQL), whatever the code does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteTrackingRecorder
from eventsourcing.utils import get_topic
from psycopg.sql import SQL, Identifier

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


class AppendOnlyPostgresApplicationRecorder(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, with triggers that refuse UPDATE, DELETE, TRUNCATE.

    Large batches (bulk issuance) are inserted in chunks inside one transaction
    and outside pipeline mode: one multi-megabyte pipelined statement can stall
    psycopg and the server both waiting to read (psycopg issue #685), which we saw
    with 10,000 signed events. The table lock and the notification are the
    library's, taken exactly as in its own insert.
    """

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        if len(stored_events) <= INSERT_CHUNK:
            return cast(Sequence[int] | None, super().insert_events(stored_events, **kwargs))
        notification_ids: list[int] = []
        with self.datastore.get_connection() as conn, conn.transaction(), conn.cursor() as curs:
            self._insert_events(curs, stored_events, **kwargs)
            self._lock_table(curs)
            self._notify_channel(curs)
            for start in range(0, len(stored_events), INSERT_CHUNK):
                chunk = stored_events[start : start + INSERT_CHUNK]
                rows = [
                    self.construct_pg_stored_event(
                        s.originator_id, s.originator_version, s.topic, s.state
                    )
                    for s in chunk
                ]
                curs.execute(self.insert_events_statement, (rows,))
                notification_ids.extend(int(row["notification_id"]) for row in curs.fetchall())
        return notification_ids

    def _create_table(self, curs: Any) -> None:
        lock_schema_changes(curs)
        super()._create_table(curs)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        schema = Identifier(self.datastore.schema)
        table = Identifier(self.events_table_name)
        function = Identifier(f"{self.events_table_name}_refuse_change")
        self.sql_create_statements.append(
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.{function}() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION '{message}: % refused on %', TG_OP, TG_TABLE_NAME "
                "USING ERRCODE = 'insufficient_privilege'; END $$"
            ).format(schema=schema, function=function, message=SQL(APPEND_ONLY_MESSAGE))
        )
        for name, timing in (
            ("refuse_update_delete", "BEFORE UPDATE OR DELETE ON {schema}.{table} FOR EACH ROW"),
            ("refuse_truncate", "BEFORE TRUNCATE ON {schema}.{table} FOR EACH STATEMENT"),
        ):
            trigger = Identifier(f"{self.events_table_name}_{name}")
            self.sql_create_statements.append(
                SQL(
                    "DO $$ BEGIN "
                    "CREATE TRIGGER {trigger} "
                    + timing
                    + " EXECUTE FUNCTION {schema}.{function}(); "
                    "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
                ).format(trigger=trigger, schema=schema, table=table, function=function)
            )


class LedgerPostgresTrackingRecorder(PostgresTrackingRecorder):
    """The library's tracking recorder, creating its table under the schema lock."""

    def _create_table(self, curs: Any) -> None:
        lock_schema_changes(curs)
        super()._create_table(curs)


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
