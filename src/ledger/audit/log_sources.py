"""Where ``ledger verify`` reads the log from: a live store, or an audit bundle.

Both hand out the log in chunks that a worker process can load on its own (a
range of notification ids, or a slice of bundle lines), so that the
verification of signatures runs on every core while the main process only
merges the results in log order. Reading a live store never changes it: the
recorder is opened without creating tables or triggers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.persistence import ApplicationRecorder, InfrastructureFactory, StoredEvent
from eventsourcing.utils import Environment

from ledger import base64url
from ledger.domain.keyregistry import KEY_REGISTRY_ID
from ledger.domain.log_checkpoints import LOG_CHECKPOINTS_ID
from ledger.errors import MalformedEvent
from ledger.eventlog.envelope import pack
from ledger.eventlog.persistence import StoreConfig, parse_store_url

#: Notification ids (or bundle lines) per chunk handed to a worker.
CHUNK = 2000

#: One event as verification sees it: position, aggregate id, version, topic, stored state.
Row = tuple[int, UUID, int, str, bytes]


@dataclass(frozen=True)
class StoreChunk:
    """The events with notification ids in ``(after, upto]`` of a store."""

    url: str
    after: int
    upto: int


@dataclass(frozen=True)
class LineChunk:
    """Event lines of an audit bundle, with the line number of the first."""

    first_line: int
    lines: tuple[bytes, ...]


Chunk = StoreChunk | LineChunk


def open_recorder(store: StoreConfig) -> tuple[InfrastructureFactory[Any], ApplicationRecorder]:
    """The library's recorder for a store, read-only in effect: no tables are created."""
    env = Environment("Ledger", {**store.settings, "CREATE_TABLE": "n"})
    factory: InfrastructureFactory[Any] = InfrastructureFactory.construct(env)
    return factory, factory.application_recorder()


class StoreSource:
    """A live SQLite or PostgreSQL store."""

    def __init__(self, store: StoreConfig | str, *, chunk_size: int = CHUNK) -> None:
        self.store = parse_store_url(store) if isinstance(store, str) else store
        self.chunk_size = chunk_size
        self.description = self.store.url
        self._factory, self.recorder = open_recorder(self.store)

    def registry_events(self) -> list[StoredEvent]:
        """The key registry's events, read before everything else to know the keys."""
        return list(self.recorder.select_events(KEY_REGISTRY_ID))

    def head(self) -> int:
        """The highest notification id (0 for an empty log)."""
        return self.recorder.max_notification_id() or 0

    def chunks(self) -> Iterator[Chunk]:
        """Consecutive id ranges covering the whole log."""
        head = self.head()
        for after in range(0, head, self.chunk_size):
            yield StoreChunk(self.store.url, after, min(after + self.chunk_size, head))

    def last_checkpoint(self) -> StoredEvent | None:
        """The newest checkpoint event recorded in the log (None before the first)."""
        events = self.recorder.select_events(LOG_CHECKPOINTS_ID, desc=True, limit=1)
        return events[0] if events else None

    def position_of_event(self, index: int) -> int | None:
        """The notification id of the log's ``index``-th event (0-based; ids have gaps)."""
        datastore: Any = self.recorder.datastore  # type: ignore[attr-defined]
        table: str = self.recorder.events_table_name  # type: ignore[attr-defined]
        with datastore.transaction(commit=False) as cursor:
            if self.store.kind == "sqlite":
                cursor.execute(
                    f"SELECT rowid FROM {table} ORDER BY rowid LIMIT 1 OFFSET ?",  # noqa: S608
                    (index,),
                )
            else:
                cursor.execute(
                    f"SELECT notification_id FROM {datastore.schema}.{table} "  # noqa: S608
                    "ORDER BY notification_id LIMIT 1 OFFSET %s",
                    (index,),
                )
            row = cursor.fetchone()
        if row is None:
            return None
        return int(row[0] if not isinstance(row, dict) else next(iter(row.values())))

    def load(self, chunk: Chunk) -> Sequence[Row]:
        """The rows of a chunk, read through this source's own connections."""
        if not isinstance(chunk, StoreChunk):
            raise TypeError("a store reads store chunks")
        return _select(self.recorder, chunk)

    def raw_load(self, chunk: Chunk) -> list[tuple[int, str, int, str, bytes]]:
        """The rows of a chunk as plain values straight from SQL (ids as text).

        What the verifier's reader sends to its workers: no library objects are
        built per row only to be taken apart again.
        """
        if not isinstance(chunk, StoreChunk):
            raise TypeError("a store reads store chunks")
        datastore: Any = self.recorder.datastore  # type: ignore[attr-defined]
        table: str = self.recorder.events_table_name  # type: ignore[attr-defined]
        with datastore.transaction(commit=False) as cursor:
            if self.store.kind == "sqlite":
                cursor.execute(
                    "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608
                    f"FROM {table} WHERE rowid > ? AND rowid <= ? ORDER BY rowid",
                    (chunk.after, chunk.upto),
                )
            else:
                cursor.execute(
                    "SELECT notification_id, originator_id::text, originator_version, "  # noqa: S608
                    f"topic, state FROM {datastore.schema}.{table} "
                    "WHERE notification_id > %s AND notification_id <= %s "
                    "ORDER BY notification_id",
                    (chunk.after, chunk.upto),
                )
            fetched = cursor.fetchall()
        rows = []
        for row in fetched:
            position, originator_id, version, topic, state = (
                tuple(row.values()) if isinstance(row, dict) else tuple(row)
            )
            rows.append((position, str(originator_id), version, topic, bytes(state)))
        return rows

    def close(self) -> None:
        """Release the store's connections."""
        self._factory.close()


class BundleSource:
    """An audit bundle file (see ``ledger.audit.bundles`` for its format)."""

    def __init__(self, path: Path, *, chunk_size: int = CHUNK) -> None:
        self.path = path
        self.chunk_size = chunk_size
        self.description = str(path)
        self.header: dict[str, Any] = {}
        self.keys: list[dict[str, Any]] = []
        self.checkpoints: list[dict[str, Any]] = []
        self._registry: list[StoredEvent] = []
        self._events = 0
        self._scan()

    def _scan(self) -> None:
        """Read everything but the event lines, and the key registry's event lines."""
        registry_marker = str(KEY_REGISTRY_ID).encode()
        with self.path.open("rb") as file:
            for number, line in enumerate(file, start=1):
                if number == 1:
                    self.header = _parse_line(line, number)
                    continue
                if line.startswith(b'{"type":"event"'):
                    self._events += 1
                    if registry_marker in line:
                        self._registry.append(stored_event(event_row(line, number)))
                    continue
                item = _parse_line(line, number)
                if item.get("type") == "key":
                    self.keys.append(item)
                elif item.get("type") == "checkpoint":
                    self.checkpoints.append(item)
                else:
                    raise MalformedEvent(f"bundle line {number} has an unknown type")

    def registry_events(self) -> list[StoredEvent]:
        """The key registry's events found in the bundle."""
        return list(self._registry)

    def head(self) -> int:
        """How many event lines the bundle holds."""
        return self._events

    def chunks(self) -> Iterator[Chunk]:
        """Slices of event lines, in file order."""
        batch: list[bytes] = []
        first = 0
        with self.path.open("rb") as file:
            for number, line in enumerate(file, start=1):
                if not line.startswith(b'{"type":"event"'):
                    continue
                if not batch:
                    first = number
                batch.append(line)
                if len(batch) == self.chunk_size:
                    yield LineChunk(first, tuple(batch))
                    batch = []
        if batch:
            yield LineChunk(first, tuple(batch))

    def load(self, chunk: Chunk) -> Sequence[Row]:
        """The rows of a chunk of lines."""
        return load_chunk(chunk)

    def close(self) -> None:
        """Nothing to release."""


def _parse_line(line: bytes, number: int) -> dict[str, Any]:
    try:
        item = orjson.loads(line)
    except orjson.JSONDecodeError as error:
        raise MalformedEvent(f"bundle line {number} is not JSON: {error}") from None
    if not isinstance(item, dict):
        raise MalformedEvent(f"bundle line {number} is not a JSON object")
    return item


def event_row(line: bytes, number: int) -> Row:
    """One bundle event line as a log row (the stored state is rebuilt exactly)."""
    item = _parse_line(line, number)
    try:
        state = pack(item["signed"].encode("utf-8"), base64url.decode(item["signature"]))
        return (
            int(item["position"]),
            UUID(item["originator_id"]),
            int(item["originator_version"]),
            str(item["topic"]),
            state,
        )
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise MalformedEvent(f"bundle line {number} is not an event: {error}") from None


def stored_event(row: Row) -> StoredEvent:
    """A log row as the library's stored event."""
    return StoredEvent(originator_id=row[1], originator_version=row[2], topic=row[3], state=row[4])


_recorders: dict[str, tuple[InfrastructureFactory[Any], ApplicationRecorder]] = {}


def load_chunk(chunk: Chunk) -> Sequence[Row]:
    """The rows of a chunk, read in a worker process (which keeps its store open)."""
    if isinstance(chunk, LineChunk):
        return [event_row(line, chunk.first_line + i) for i, line in enumerate(chunk.lines)]
    if chunk.url not in _recorders:
        _recorders[chunk.url] = open_recorder(parse_store_url(chunk.url))
    return _select(_recorders[chunk.url][1], chunk)


def _select(recorder: ApplicationRecorder, chunk: StoreChunk) -> Sequence[Row]:
    notifications = recorder.select_notifications(
        start=chunk.after, limit=chunk.upto - chunk.after, stop=chunk.upto, inclusive_of_start=False
    )
    return [
        (
            n.id,
            n.originator_id if isinstance(n.originator_id, UUID) else UUID(str(n.originator_id)),
            n.originator_version,
            n.topic,
            bytes(n.state),
        )
        for n in notifications
    ]
