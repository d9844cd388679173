"""Status entries reserved in blocks, so that issuance writes no shared record.

Every credential needs a (status list, index) pair that no other credential of its
issuer has. The pairs are reserved on the issuer aggregate, which every writer of an
institution shares; reserving them in the transaction of each issuance made that
aggregate a hot spot (concurrent writers of one institution collided on it). Here a
process reserves a *block* of entries in a transaction of its own (a few
``StatusEntriesReserved`` events on the issuer, the same events as before) and then
hands the block out to its own issuances, which save only new aggregates and so can
never collide. Blocks grow while a process keeps issuing (16, 32, ... 1,024
entries), so a short-lived process wastes little and a busy one reserves rarely.

Uniqueness holds across processes because a block belongs to the process whose
save of it succeeded (optimistic concurrency on the issuer); entries left unused
when a process stops are never handed out again (a gap: a 0 bit nobody owns, which
costs a little of a list's capacity and nothing of its privacy, since indexes come
from the list's random permutation whatever the order of reservation).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from uuid import UUID

#: Size of a process's first block for an issuer, and the largest block.
FIRST_BLOCK = 16
LARGEST_BLOCK = 1024

#: Reserves ``count`` entries for an issuer durably; returns them in reservation order.
Reserve = Callable[[UUID, int], list[tuple[int, int]]]


class StatusEntryPool:
    """The entries this process reserved and has not handed out yet, per issuer."""

    def __init__(self, reserve: Reserve) -> None:
        self._reserve = reserve
        self._free: dict[UUID, deque[tuple[int, int]]] = {}
        self._next_block: dict[UUID, int] = {}
        self._lock = threading.Lock()

    def take(self, issuer_id: UUID, count: int) -> list[tuple[int, int]]:
        """``count`` entries of the issuer's lists that no one else will ever get.

        Taken entries are the caller's even if its issuance fails: handing them out
        again could give one index to two credentials if the failed save did commit.
        """
        with self._lock:
            free = self._free.setdefault(issuer_id, deque())
            if len(free) < count:
                block = self._next_block.get(issuer_id, FIRST_BLOCK)
                self._next_block[issuer_id] = min(LARGEST_BLOCK, block * 2)
                free.extend(self._reserve(issuer_id, count - len(free) + block))
            return [free.popleft() for _ in range(count)]

    def available(self, issuer_id: UUID) -> int:
        """How many reserved entries this process still holds for an issuer."""
        with self._lock:
            return len(self._free.get(issuer_id, ()))
