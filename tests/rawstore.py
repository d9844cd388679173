"""Raw SQL access to a store's events table, as an attacker with database access has it."""

from __future__ import annotations

import sqlite3
from typing import Any
from uuid import UUID

import psycopg

from ledger.eventlog.persistence import StoreConfig


class RawEvents:
    """Reads and writes the events table behind the ledger's back."""

    def __init__(self, store: StoreConfig) -> None:
        self.store = store
        self.kind = store.kind
        if self.kind == "sqlite":
            self.table = "stored_events"
        else:
            settings = store.settings
            self.schema = settings["POSTGRES_SCHEMA"]
            self.table = f"{self.schema}.ledger_events"
            self.dsn = (
                f"host={settings['POSTGRES_HOST']} port={settings['POSTGRES_PORT']} "
                f"user={settings['POSTGRES_USER']} dbname={settings['POSTGRES_DBNAME']}"
            )

    def _id(self, originator_id: UUID) -> Any:
        return originator_id.hex if self.kind == "sqlite" else originator_id

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        sql = sql.replace("{table}", self.table)
        if self.kind == "sqlite":
            conn = sqlite3.connect(str(self.store.sqlite_path))
            try:
                cursor = conn.execute(sql, params)
                rows = cursor.fetchall()
                conn.commit()
                return rows
            finally:
                conn.close()
        with psycopg.connect(self.dsn, autocommit=True) as pg:
            found = pg.execute(sql.replace("?", "%s"), params)
            return found.fetchall() if found.description else []

    def disable_guard(self) -> None:
        """What an attacker with owner rights does first."""
        if self.kind == "sqlite":
            for operation in ("update", "delete"):
                self.execute(f"DROP TRIGGER stored_events_refuse_{operation}")
        else:
            self.execute("ALTER TABLE {table} DISABLE TRIGGER USER")

    def count(self) -> int:
        return int(self.execute("SELECT COUNT(*) FROM {table}")[0][0])

    def state(self, originator_id: UUID, version: int) -> bytes:
        rows = self.execute(
            "SELECT state FROM {table} WHERE originator_id=? AND originator_version=?",
            (self._id(originator_id), version),
        )
        return bytes(rows[0][0])

    def topic(self, originator_id: UUID, version: int) -> str:
        rows = self.execute(
            "SELECT topic FROM {table} WHERE originator_id=? AND originator_version=?",
            (self._id(originator_id), version),
        )
        return str(rows[0][0])

    def set_state(self, originator_id: UUID, version: int, state: bytes) -> None:
        self.execute(
            "UPDATE {table} SET state=? WHERE originator_id=? AND originator_version=?",
            (state, self._id(originator_id), version),
        )

    def delete(self, originator_id: UUID, version: int) -> None:
        self.execute(
            "DELETE FROM {table} WHERE originator_id=? AND originator_version=?",
            (self._id(originator_id), version),
        )

    def insert(self, originator_id: UUID, version: int, topic: str, state: bytes) -> None:
        self.execute(
            "INSERT INTO {table} (originator_id, originator_version, topic, state) VALUES (?,?,?,?)",
            (self._id(originator_id), version, topic, state),
        )

    @property
    def position_column(self) -> str:
        """The column that holds the notification id (SQLite's rowid)."""
        return "rowid" if self.kind == "sqlite" else "notification_id"

    def rows(self) -> list[tuple[int, UUID, int, str, bytes]]:
        """Every event row in log order."""
        found = self.execute(
            f"SELECT {self.position_column}, originator_id, originator_version, topic, state "
            f"FROM {{table}} ORDER BY {self.position_column}"
        )
        return [(int(p), UUID(str(o)), int(v), str(t), bytes(s)) for p, o, v, t, s in found]

    def delete_after(self, position: int) -> None:
        """Truncate the log's tail."""
        self.execute(f"DELETE FROM {{table}} WHERE {self.position_column} > ?", (position,))

    def delete_at(self, position: int) -> None:
        """Remove one row by its position."""
        self.execute(f"DELETE FROM {{table}} WHERE {self.position_column} = ?", (position,))

    def swap(self, first: int, second: int) -> None:
        """Exchange the contents of two rows, so that their events change places."""
        by_position = {row[0]: row for row in self.rows()}
        a, b = by_position[first], by_position[second]
        update = (
            "UPDATE {table} SET originator_id=?, originator_version=?, topic=?, state=? "
            f"WHERE {self.position_column}=?"
        )
        self.execute(update, (self._id(UUID(int=0)), 0, "x", b"", first))
        self.execute(update, (self._id(a[1]), a[2], a[3], a[4], second))
        self.execute(update, (self._id(b[1]), b[2], b[3], b[4], first))

    def projection_execute(self, sql: str, params: tuple[Any, ...] = ()) -> None:
        """Change a projection table (named unqualified) behind the runner's back."""
        if self.kind == "postgresql":
            sql = sql.replace("merkle_", f"{self.schema}.merkle_")
        self.execute(sql, params)
