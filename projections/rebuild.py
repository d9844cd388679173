"""What a rebuild needs beside the runner: a replay from scratch, its fingerprint, and a
verification that runs at the same time in another process.

A rebuild used to verify the whole log first and replay it afterwards, opening and
decoding every event twice, one phase after the other. Now both run at once: the
verifier (``ledger.audit.log_verifier``, in its own process and its workers) checks
the log up to a fixed head while this process replays the same events into the
freshly dropped tables, all in one transaction. The transaction commits only if the
verification passes and the replay's fingerprint (the RFC 9162 root of exactly the
bytes it applied) equals the root of the bytes the verifier checked; otherwise it
rolls back and the old tables come back untouched, so a rebuild still never forgets
what a cut or altered log no longer shows.

The replay checks neither signatures nor chains itself: the verifier does, and equal
roots mean equal bytes in equal order. So each event is read, opened (by the verifier's
fast path, ``verify_batches.open_fast``: the same checks as ``open_stored``) and decoded
once here, which is what the plain read+decode baseline pays, plus the projections'
own work. Decoding is this side's check alone: the verifier of a rebuild does not
decode (``decode=False``), and an event that does not decode fails the replay.
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from eventsourcing.persistence import Notification
from ledger.projections.database import POSTGRES, Cursor, Dialect
from ledger.projections.projection import Applied, Projection

from ledger.audit.verify_batches import open_fast
from ledger.errors import LedgerError, MalformedEvent, TamperDetected
from ledger.eventlog.envelope import SealedEvent, decode_event, open_stored
from ledger.transparency.merkle_tree import EMPTY_ROOT, leaf_hash, node_hash

#: Events read per query during a replay, and applied between two ``finish`` calls.
PAGE = 5000

T = TypeVar("T")


@dataclass(frozen=True)
class Fingerprint:
    """How many events, and the RFC 9162 root (hex) of their signed bytes in log order."""

    size: int
    root: str


class LeafRoot:
    """The RFC 9162 root of a growing list of leaves, in O(log n) memory.

    It keeps the roots of the perfect subtrees the leaves so far make up (largest
    first); the root of the whole list folds them from the right, which is the
    tree RFC 9162 defines (split at the largest power of two below the size).
    """

    def __init__(self) -> None:
        self.size = 0
        self._peaks: list[tuple[int, bytes]] = []

    def add(self, signed_bytes: bytes) -> None:
        """Append one event's signed bytes as a leaf."""
        height, value = 0, leaf_hash(signed_bytes)
        peaks = self._peaks
        while peaks and peaks[-1][0] == height:
            value = node_hash(peaks.pop()[1], value)
            height += 1
        peaks.append((height, value))
        self.size += 1

    def fingerprint(self) -> Fingerprint:
        """The size and root of the leaves so far."""
        if not self._peaks:
            return Fingerprint(0, EMPTY_ROOT.hex())
        value = self._peaks[-1][1]
        for _, left in reversed(self._peaks[:-1]):
            value = node_hash(left, value)
        return Fingerprint(self.size, value.hex())


class Replay:
    """Applies the log up to a head to projections whose tables are empty.

    Everything runs in the caller's transaction (``cursor``): nothing it writes is
    seen, or kept, unless the caller commits.
    """

    def __init__(
        self, cursor: Cursor, dialect: Dialect, events_table: str, projections: Sequence[Projection]
    ) -> None:
        self.cursor = cursor
        self.dialect = dialect
        self.events_table = events_table
        self.projections = list(projections)
        self.leaves = LeafRoot()
        self.position = 0

    def run(self, head: int) -> Fingerprint:
        """Apply every event with a position up to ``head``; the fingerprint of their bytes."""
        for projection in self.projections:
            projection.begin(self.cursor, 0)
        while self.position < head:
            rows = self._page(self.position, head)
            if not rows:
                break
            self._apply(rows)
            for projection in self.projections:
                projection.finish(self.cursor)
            self.cursor.flush()
            for projection in self.projections:
                projection.begin(self.cursor, self.position)
        return self.leaves.fingerprint()

    def _page(self, after: int, head: int) -> list[tuple[Any, ...]]:
        if self.dialect is not POSTGRES:
            return self.cursor.rows(
                "SELECT rowid, originator_id, originator_version, topic, state "  # noqa: S608
                f"FROM {self.events_table} WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?",
                (after, head, PAGE),
            )
        # Plain tuples: the store's dict rows cost more than reading the page. Imported
        # here so that a SQLite store never loads the PostgreSQL driver.
        from psycopg.rows import tuple_row  # noqa: PLC0415

        self.cursor.flush()
        with self.cursor.raw.connection.cursor(row_factory=tuple_row) as reader:
            # The id as text: the envelope check compares it with the signed text as is.
            reader.execute(
                "SELECT notification_id, originator_id::text, originator_version, topic, state "  # noqa: S608
                f"FROM {self.events_table} WHERE notification_id > %s AND notification_id <= %s "
                "ORDER BY notification_id LIMIT %s",
                (after, head, PAGE),
            )
            return list(reader.fetchall())

    def _apply(self, rows: Sequence[tuple[Any, ...]]) -> None:
        add_leaf = self.leaves.add
        cursor = self.cursor
        handlers: dict[str, list[Callable[[Cursor, Applied], None]]] = {}
        for position, stored_id, version, topic, stored_state in rows:
            state = bytes(stored_state)
            opened = open_fast((position, stored_id, version, topic, state))
            if opened is not None:
                sealed = opened[0]
                originator_id = sealed.originator_id
            else:  # the full check names what is wrong (and the verifier reports it)
                originator_id = UUID(str(stored_id))
                sealed = open_stored(
                    topic=topic,
                    originator_id=originator_id,
                    originator_version=version,
                    state=state,
                )
            add_leaf(sealed.signed_bytes)
            notification = Notification(
                id=position,
                originator_id=originator_id,
                originator_version=version,
                topic=topic,
                state=state,
            )
            applied = Applied(event=_decoded(sealed, position), notification=notification)
            chosen = handlers.get(topic)
            if chosen is None:
                chosen = handlers[topic] = [
                    handler for p in self.projections for handler in p.handlers_for(topic)
                ]
            for handler in chosen:
                handler(cursor, applied)
            self.position = position


def _decoded(sealed: SealedEvent, position: int) -> Any:
    """The domain event of a verified envelope, or ``MalformedEvent`` naming its position.

    The verifier of a rebuild leaves decoding to this replay (``Verifier(decode=False)``),
    so an event that does not decode must fail the rebuild here: the error rolls the
    transaction back, and the old tables stay.
    """
    try:
        return decode_event(sealed)
    except Exception as error:  # a forged state can break any decoder or upcaster
        if isinstance(error, LedgerError):
            detail = str(error)  # names the event already
        else:
            detail = f"{sealed.describe()} does not decode: {type(error).__name__}: {error}"
        raise MalformedEvent(
            f"the log fails at position {position}: {detail}; nothing was rebuilt"
        ) from error


class Background(Generic[T]):
    """A function running in a forked child process; ``result`` waits for what it returned.

    A ``TamperDetected`` raised in the child is raised again here with its message;
    any other error becomes a ``RuntimeError``. Where there is no fork (or with
    ``fork=False``), the function runs at once, in this process.
    """

    def __init__(self, work: Callable[[], T], *, fork: bool = True) -> None:
        self._process: Any = None
        self._inline: tuple[str, Any] | None = None
        if not fork or "fork" not in multiprocessing.get_all_start_methods():
            self._inline = _outcome(work)
            return
        context = multiprocessing.get_context("fork")
        self._reader, writer = context.Pipe(duplex=False)
        self._process = context.Process(target=_child, args=(writer, work), daemon=False)
        self._process.start()
        writer.close()

    def result(self) -> T:
        """Wait for the child's answer."""
        if self._inline is not None:
            outcome = self._inline
        else:
            try:
                outcome = self._reader.recv()
            except EOFError:
                outcome = ("error", "the verification process ended without an answer")
            finally:
                self.cancel()
        kind, payload = outcome
        if kind == "ok":
            return payload  # type: ignore[no-any-return]
        if kind == "tamper":
            raise TamperDetected(payload)
        raise RuntimeError(f"the verification failed: {payload}")

    def cancel(self) -> None:
        """Stop the child if it still runs (a replay that failed does not wait for it)."""
        process = self._process
        if process is None:
            return
        self._process = None
        if process.is_alive():
            process.terminate()
        process.join()
        self._reader.close()


def _outcome(work: Callable[[], T]) -> tuple[str, Any]:
    try:
        return ("ok", work())
    except TamperDetected as error:
        return ("tamper", str(error))
    except Exception as error:  # reported to the parent, which raises it there
        return ("error", f"{type(error).__name__}: {error}")


def _child(writer: Any, work: Callable[[], Any]) -> None:
    writer.send(_outcome(work))
    writer.close()
