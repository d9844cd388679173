"""The projections' database helpers: a SQL dialect, a bulk-insert cursor, column codecs.

A projection's tables live in the same store as the events (SQLite file or
PostgreSQL schema). The SQL is written once with ``?`` placeholders and
``{blob}`` types; ``Dialect`` adapts them to the store. Queries reach the tables
through a ``Reader`` (the runner is one), so a projection module's queries need
nothing of the runner.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import orjson

from ledger.eventlog.canonical_json import format_datetime, to_json_value


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

Row = tuple[Any, ...]


class Reader(Protocol):
    """Runs one read statement over the projection tables (the runner is one)."""

    def query(self, statement: str, params: Sequence[Any] = ()) -> list[Row]:
        """The rows of one read statement."""
        ...


class Queries:
    """Base of a projection's queries: one reader, one statement at a time."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def _query(self, statement: str, params: Sequence[Any] = ()) -> list[Row]:
        return self.reader.query(statement, params)

    def _records(
        self, statement: str, params: Sequence[Any], keys: Sequence[str]
    ) -> list[dict[str, Any]]:
        """The rows of a query as dicts, under ``keys`` (one per selected column)."""
        return [dict(zip(keys, row, strict=True)) for row in self._query(statement, params)]


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
        self._inserts: dict[str, list[Row]] = {}

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
        self._send(statement, [self._storable(r) for r in rows])

    def _storable(self, params: Sequence[Any]) -> tuple[Any, ...]:
        """The parameters as the store can hold them.

        PostgreSQL text cannot hold NUL. The API refuses it, but the log may hold it
        anyway (written before the API refused it, or by another writer), and one
        such event must not stop the read side for good: the read model stores the
        text with U+FFFD in place of each NUL, and the signed event keeps the original.
        """
        values = tuple(params)
        if self.dialect is not POSTGRES:
            return values
        for value in values:  # a plain loop: this runs for every row a replay writes
            if type(value) is str and "\x00" in value:
                return tuple(
                    p.replace("\x00", NUL_REPLACEMENT) if isinstance(p, str) else p for p in values
                )
        return values

    def flush(self) -> None:
        """Send the held-back inserts (on PostgreSQL, many rows of a plain insert as a COPY:
        a replay's bulk load, several times faster than even a pipelined executemany)."""
        pending, self._inserts = self._inserts, {}
        for statement, rows in pending.items():
            self._send(statement, rows)

    def _send(self, statement: str, rows: Sequence[Row]) -> None:
        copy = (
            _copy_form(statement) if self.dialect is POSTGRES and len(rows) >= COPY_ROWS else None
        )
        if copy is None:
            self.raw.executemany(self.dialect.sql(statement), rows)
            return
        command, constants = copy
        with self.raw.copy(command) as sink:
            for row in rows:
                sink.write_row(_with_constants(row, constants) if constants else row)

    def rows(self, statement: str, params: Sequence[Any] = ()) -> list[Row]:
        """Run a query and return its rows as tuples (give result columns distinct names:
        PostgreSQL rows arrive as dicts keyed by column name)."""
        self.execute(statement, params)
        return [
            tuple(row.values()) if isinstance(row, dict) else tuple(row)
            for row in self.raw.fetchall()
        ]

    def one(self, statement: str, params: Sequence[Any] = ()) -> Row | None:
        """The first row of a query, or None."""
        found = self.rows(statement, params)
        return found[0] if found else None


#: Fewer rows than this go by executemany (a COPY costs a round trip of its own).
COPY_ROWS = 16
_INSERT = re.compile(r"INSERT INTO (\w+)(?: \(([\w, ]+)\))? VALUES \(([^()]*)\)")
_LITERAL_INT = re.compile(r"-?\d+")


@functools.cache
def _copy_form(statement: str) -> tuple[str, tuple[tuple[int, Any], ...]] | None:
    """The COPY of a plain ``INSERT INTO t [(columns)] VALUES (...)``, and the constants
    its VALUES list holds (position, value) between the ``?`` placeholders; None for any
    other statement (an upsert, a constant this does not read)."""
    match = _INSERT.fullmatch(statement)
    if match is None:
        return None
    table, columns, values = match.groups()
    constants: list[tuple[int, Any]] = []
    for index, item in enumerate(part.strip() for part in values.split(",")):
        if item == "?":
            continue
        if item == "NULL":
            constants.append((index, None))
        elif _LITERAL_INT.fullmatch(item):
            constants.append((index, int(item)))
        elif len(item) >= 2 and item[0] == item[-1] == "'" and "'" not in item[1:-1]:
            constants.append((index, item[1:-1]))
        else:
            return None
    target = f"{table} ({columns})" if columns else table
    return f"COPY {target} FROM STDIN", tuple(constants)


def _with_constants(row: Row, constants: tuple[tuple[int, Any], ...]) -> list[Any]:
    """A row's parameters with the statement's constants put in their places."""
    full = list(row)
    for index, value in constants:
        full.insert(index, value)
    return full


#: Texts of recent ids: a replay writes the same ids (the event's own, its issuer's)
#: into several tables, and ``UUID.__str__`` is pure Python.
_UUID_TEXTS: dict[object, str] = {}
_UUID_TEXTS_SIZE = 65536


def uuid_text(value: object) -> str:
    """``str(value)`` of an id, remembered for the next few thousand ids."""
    text = _UUID_TEXTS.get(value)
    if text is None:
        if len(_UUID_TEXTS) >= _UUID_TEXTS_SIZE:
            _UUID_TEXTS.clear()
        text = _UUID_TEXTS[value] = str(value)
    return text


def json_text(value: object) -> str:
    """A domain value as the JSON text a projection column stores (sorted keys)."""
    return orjson.dumps(to_json_value(value), option=orjson.OPT_SORT_KEYS).decode()


#: Canonical texts of recent datetimes: the events of a cohort share their times, and a
#: replay asks for each several times (issued, valid from, history).
_TIME_TEXTS: dict[datetime, str] = {}
_TIME_TEXTS_SIZE = 4096


def time_text(value: object) -> str | None:
    """A datetime as the canonical text a projection column stores (None if absent)."""
    if type(value) is datetime and value.tzinfo is not None:
        text = _TIME_TEXTS.get(value)
        if text is None:
            if len(_TIME_TEXTS) >= _TIME_TEXTS_SIZE:
                _TIME_TEXTS.clear()
            text = _TIME_TEXTS[value] = format_datetime(value)
        return text
    lowered = to_json_value(value)
    return lowered if isinstance(lowered, str) else None
