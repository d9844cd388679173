"""What every projection shares: a SQL dialect, a view recorder, the projection contract.

A projection's tables live in the same store as the events (SQLite file or
PostgreSQL schema). Its view is one of the library's tracking recorders, so its
writes and its position (a ``Tracking`` row named after the projection) are
committed in one transaction: a crash loses nothing and counts nothing twice.
The SQL is written once; ``Dialect`` adapts placeholders and the few types that
differ between the two stores.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from eventsourcing.persistence import Notification


@dataclass(frozen=True)
class Dialect:
    """The differences between SQLite and PostgreSQL that projection SQL meets."""

    name: str
    placeholder: str
    blob: str

    def sql(self, statement: str) -> str:
        """Adapt a statement written with ``?`` placeholders and ``{blob}`` types."""
        statement = statement.replace("{blob}", self.blob)
        return statement if self.placeholder == "?" else statement.replace("?", "%s")


SQLITE = Dialect(name="sqlite", placeholder="?", blob="BLOB")
POSTGRES = Dialect(name="postgresql", placeholder="%s", blob="BYTEA")
#: What a read model on PostgreSQL stores in place of a NUL character.
NUL_REPLACEMENT = "\ufffd"


class Cursor:
    """A store cursor that speaks one SQL dialect, and sends inserts in bulk.

    ``INSERT`` statements are held back and sent as one ``executemany`` per
    statement (one round trip on PostgreSQL, where a projection batch otherwise
    pays one per row). Anything else (a query, an update, a delete) first sends
    what is held back, so every statement sees every earlier write; the runner
    calls ``flush`` before it records a batch's position. Projections have no
    foreign keys, so grouping inserts by statement changes no outcome.
    """

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self.raw = raw
        self.dialect = dialect
        self._inserts: dict[str, list[tuple[Any, ...]]] = {}

    def execute(self, statement: str, params: Sequence[Any] = ()) -> None:
        """Run one statement (an insert is held until the next flush)."""
        values = self._storable(params)
        if statement.startswith("INSERT INTO "):
            self._inserts.setdefault(statement, []).append(values)
            return
        self.flush()
        self.raw.execute(self.dialect.sql(statement), values)

    def executemany(self, statement: str, rows: Iterable[Sequence[Any]]) -> None:
        """Run one statement for many parameter rows."""
        self.flush()
        self.raw.executemany(self.dialect.sql(statement), [self._storable(r) for r in rows])

    def _storable(self, params: Sequence[Any]) -> tuple[Any, ...]:
        """The parameters as the store can hold them.

        PostgreSQL text cannot hold NUL. The API refuses it, but the log may hold it
        anyway (written before the API refused it, or by another writer), and one
        such event must not stop the read side for good: the read model stores the
        text with U+FFFD in place of each NUL, and the signed event keeps the original.
        """
        if self.dialect is not POSTGRES:
            return tuple(params)
        return tuple(
            p.replace("\x00", NUL_REPLACEMENT) if isinstance(p, str) and "\x00" in p else p
            for p in params
        )

    def flush(self) -> None:
        """Send the held-back inserts."""
        pending, self._inserts = self._inserts, {}
        for statement, rows in pending.items():
            self.raw.executemany(self.dialect.sql(statement), rows)

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run a query and return its rows as tuples (give result columns distinct names:
        PostgreSQL rows arrive as dicts keyed by column name)."""
        self.execute(statement, params)
        return [
            tuple(row.values()) if isinstance(row, dict) else tuple(row)
            for row in self.raw.fetchall()
        ]

    def one(self, statement: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a query, or None."""
        found = self.rows(statement, params)
        return found[0] if found else None


@dataclass(frozen=True)
class Applied:
    """One event handed to a projection: the verified domain event and its position."""

    event: Any
    notification: Notification

    @property
    def position(self) -> int:
        """The event's notification id (its position in the log)."""
        return self.notification.id

    @property
    def topic(self) -> str:
        """The event's stable topic."""
        return self.notification.topic


class Projection(ABC):
    """A read model: its tables, and how each event changes them.

    ``apply`` runs inside the transaction that also records the projection's
    position, so it must only write through the cursor it is given.
    """

    name: ClassVar[str]
    tables: ClassVar[tuple[str, ...]]
    ddl: ClassVar[tuple[str, ...]]

    def begin(self, cursor: Cursor, position: int) -> None:  # noqa: B027 (optional hook)
        """Called in a batch's transaction before its events, with the position it starts after."""

    @abstractmethod
    def apply(self, cursor: Cursor, applied: Applied) -> None:
        """Change the projection's tables for one event."""

    def finish(self, cursor: Cursor) -> None:  # noqa: B027 (optional hook)
        """Called in a batch's transaction after its events, before the position is recorded."""

    def topics(self) -> tuple[str, ...]:
        """The topics this projection reads (empty: all)."""
        return ()
