"""The status of every credential in memory: compact columns, a hash index, deltas.

A status check needs, per credential, its state (active, suspended, revoked,
expired), its end of validity and its place in its issuer's status lists. Asking
the database costs a round trip per check; this view keeps those facts in
``array`` columns instead (about 40 bytes a credential, against the few hundred
a dict of objects takes) with an open-addressing hash index of row numbers, so a
lookup is a few array reads.

It is fed by the projections, never by events: the rows of ``backpack_credentials``
(state, ``valid_until``, ``last_position``, the position of the event that last
changed the row) joined with the status projection's ``status_entries`` (issuer,
list, index). ``refresh`` reads the rows changed after the last position it saw,
on the ``backpack_credentials_changed`` index: when nothing changed that is one
indexed read that returns nothing. Read-after-write across server processes holds
because readers go through ``ReadBarrier``: an answer waits for a refresh that
started after the request arrived (see ``docs/decisions.md``).

Only one thread applies a refresh at a time; lookups take no lock. A new row's
columns are appended before its slot points at it, and the index is swapped as
one tuple, so a lookup never sees half a row.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from ledger.projections.database import Reader

from ledger.eventlog.canonical_json import parse_datetime

#: States as stored (``backpack_credentials.state``), by their code in the view.
STATES = ("active", "suspended", "revoked", "expired")
_CODES = {state: code for code, state in enumerate(STATES)}
_ACTIVE, _SUSPENDED = 0, 1
#: The code of a credential that a reload after a rebuild no longer found: unknown.
_GONE = len(STATES)
_ANSWERS: tuple[str | None, ...] = (*STATES, None)
#: ``valid_until`` of a credential without an end.
NO_END = (1 << 63) - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_LOW = (1 << 64) - 1
_EMPTY = -1
#: Rows read per statement of a refresh (a first load of a million credentials
#: streams in chunks instead of one list of a million tuples).
CHUNK = 50_000

#: The projections whose rows the view holds: a rebuild of either reloads it.
SOURCES = ("backpack", "status")
#: The rebuild count of ``SOURCES`` (``runner.REBUILDS_DDL``) on every row, and one row
#: of it alone when nothing changed: one round trip still, one indexed read when idle.
DELTA = (
    "SELECT g.generation, d.credential_id, d.state, d.valid_until, d.last_position, "
    "d.issuer_id, d.list_number, d.status_index FROM "
    "(SELECT COALESCE(SUM(generation), 0) AS generation FROM projection_rebuilds "
    "WHERE projection IN ('backpack', 'status')) g LEFT JOIN "
    "(SELECT c.credential_id, c.state, c.valid_until, c.last_position, e.issuer_id, "
    "e.list_number, e.status_index FROM backpack_credentials c "
    "JOIN status_entries e ON e.credential_id = c.credential_id "
    "WHERE c.last_position > ? ORDER BY c.last_position LIMIT ?) d ON 1 = 1 "
    "ORDER BY d.last_position"
)


def micros(moment: datetime) -> int:
    """Microseconds since the epoch (exact: what ``format_datetime`` compares)."""
    return (moment - _EPOCH) // _MICROSECOND


@dataclass(frozen=True)
class Change:
    """One credential's row as the projections hold it, with its issuer and list."""

    credential_id: UUID
    state: str
    valid_until: int  # microseconds since the epoch, NO_END if none
    position: int
    issuer_id: str
    list_number: int
    index: int


def change_of(row: Sequence[Any]) -> Change:
    """A ``Change`` from a row of ``DELTA`` (without its first column, the generation)."""
    return Change(
        credential_id=UUID(str(row[0])),
        state=str(row[1]),
        valid_until=NO_END if row[2] is None else micros(parse_datetime(str(row[2]))),
        position=int(row[3]),
        issuer_id=str(row[4]),
        list_number=int(row[5]),
        index=int(row[6]),
    )


class StatusView:
    """Per credential: list number, index, state and end of validity, in memory."""

    def __init__(self) -> None:
        self._high = array("Q")
        self._low = array("Q")
        self._list = array("I")
        self._index = array("I")
        self._state = array("B")
        self._until = array("q")
        # (slots, mask): slots hold row numbers, _EMPTY where free; swapped whole.
        self._table: tuple[array[int], int] = (array("i", [_EMPTY]) * 8, 7)
        #: The last ``last_position`` applied.
        self.position = 0
        #: The rebuild count of the projections when last read (None: never read).
        self.generation: int | None = None
        #: During a reload: which rows it has read again (the others are then gone).
        self._reloading: bytearray | None = None
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()

    def __len__(self) -> int:
        return len(self._state)

    # -- lookups (no lock) ----------------------------------------------------

    def _row(self, credential_id: UUID) -> int:
        number = credential_id.int
        high = number >> 64
        slots, mask = self._table
        i = hash(number) & mask
        highs, lows = self._high, self._low
        while True:
            row = slots[i]
            if row == _EMPTY:
                return _EMPTY
            if highs[row] == high and lows[row] == number & _LOW:
                return row
            i = (i + 1) & mask

    def state(self, credential_id: UUID, now: int) -> str | None:
        """The state a reader sees at ``now`` (microseconds), None if unknown.

        As ``backpack.current_state``: an active or suspended credential past its
        end is expired.
        """
        # ``_row`` inlined: a call costs as much as the rest of the lookup.
        number = credential_id.int
        slots, mask = self._table
        i = hash(number) & mask
        while True:
            row = slots[i]
            if row == _EMPTY:
                return None
            if self._low[row] == number & _LOW and self._high[row] == number >> 64:
                break
            i = (i + 1) & mask
        code = self._state[row]
        if code <= _SUSPENDED and now >= self._until[row]:
            return "expired"
        return _ANSWERS[code]

    def entry(self, credential_id: UUID) -> tuple[int, int, str] | None:
        """(list number, index, stored state) of a credential, None if unknown."""
        row = self._row(credential_id)
        if row == _EMPTY or self._state[row] == _GONE:
            return None
        return self._list[row], self._index[row], STATES[self._state[row]]

    # -- changes (one writer at a time) ---------------------------------------

    def apply(self, changes: Iterable[Change]) -> None:
        """Insert or update credentials (each change is a row's current values)."""
        with self._lock:
            for change in changes:
                self._put(change)
                self.position = max(self.position, change.position)

    def _put(self, change: Change) -> None:
        row = self._row(change.credential_id)
        code = _CODES[change.state]
        if row != _EMPTY:
            self._state[row] = code
            self._until[row] = change.valid_until
            # Fixed once allocated, but a reload after a rebuild takes the rows as given.
            self._list[row] = change.list_number
            self._index[row] = change.index
            if self._reloading is not None:
                self._reloading[row] = 1
            return
        number = change.credential_id.int
        self._high.append(number >> 64)
        self._low.append(number & _LOW)
        self._list.append(change.list_number)
        self._index.append(change.index)
        self._state.append(code)
        self._until.append(change.valid_until)
        row = len(self._state) - 1
        if self._reloading is not None:
            self._reloading.append(1)
        slots, mask = self._table
        if (row + 1) * 4 > (mask + 1) * 3:  # load above 3/4: double the index
            slots, mask = self._grown(mask * 2 + 1)
        self._place(slots, mask, number, row)
        self._table = (slots, mask)

    def _grown(self, mask: int) -> tuple[array[int], int]:
        slots = array("i", [_EMPTY]) * (mask + 1)
        for row in range(len(self._state) - 1):
            number = (self._high[row] << 64) | self._low[row]
            self._place(slots, mask, number, row)
        return slots, mask

    @staticmethod
    def _place(slots: array[int], mask: int, number: int, row: int) -> None:
        i = hash(number) & mask
        while slots[i] != _EMPTY:
            i = (i + 1) & mask
        slots[i] = row

    def refresh(
        self, reader: Reader, *, on_change: Callable[[list[Change]], None] | None = None
    ) -> int:
        """Apply every row changed after ``position``; returns how many changed.

        Each event changes at most one credential's row, so positions are unique and
        a chunk boundary never splits one position's rows.

        ``on_change`` sees each chunk of changes once applied (the public routes'
        cache drops the status lists they touch).

        After a rebuild of the status or backpack projection (``ledger rebuild``), seen
        as their rebuild count moving, every row is read again from position 0: a
        rebuild may have rewritten rows at the positions they had. Rows are rewritten in
        place (a lookup meanwhile sees the old or the new value of a credential, never
        none), and every status list with a credential on it is dropped by
        ``on_change``. A credential the reload did not read again is unknown from then
        on (a lookup answers None, as for an id never seen).
        """
        # One refresh at a time: two interleaved ones could apply an older snapshot's
        # row over a newer one.
        with self._refreshing:
            total = 0
            while True:
                rows = reader.query(DELTA, (self.position, CHUNK))
                generation = int(rows[0][0]) if rows else 0
                if generation != self.generation:
                    rebuilt = self.generation is not None and self.position > 0
                    self.generation = generation
                    if rebuilt:
                        self.position = 0
                        self._reloading = bytearray(len(self._state))
                        continue
                changes = [change_of(row[1:]) for row in rows if row[1] is not None]
                self.apply(changes)
                if on_change is not None and changes:
                    on_change(changes)
                total += len(changes)
                if len(changes) < CHUNK:
                    self._end_reload()
                    return total

    def _end_reload(self) -> None:
        """After a whole reload: a credential it did not read again is unknown now."""
        with self._lock:
            seen, self._reloading = self._reloading, None
            if seen is not None:
                for row, again in enumerate(seen):
                    if not again:
                        self._state[row] = _GONE

    def nbytes(self) -> int:
        """Bytes held by the columns and the index (what a credential costs)."""
        columns = (self._high, self._low, self._list, self._index, self._state, self._until)
        slots, _ = self._table
        return sum(c.buffer_info()[1] * c.itemsize for c in (*columns, slots))
