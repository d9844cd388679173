"""Bounds on checking a presented credential, which anyone may ask for.

JSON-LD canonicalisation of a credential grows faster than its size (about 16 s for
3,000 blank nodes in 250 KB here), and it runs under one process-wide lock. So a
presented credential is first held to a size in nodes, objects and depth, and the
check itself runs on one thread per worker with a time budget: a caller waits at
most ``budget`` seconds, a check that takes longer is answered "too costly" (it
finishes in the background, bounded by the node limits), and while one check runs
at most ``waiting`` more may queue; anyone beyond is told to come back later.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any, TypeVar

from ledger.errors import InvalidInput, LedgerError

T = TypeVar("T")

MAX_NODES = 5_000
MAX_OBJECTS = 500
MAX_DEPTH = 32
BUDGET_SECONDS = 10.0
MAX_WAITING = 2


class CredentialTooCostly(InvalidInput):
    """A presented credential is larger or deeper than the checker accepts, or its check
    did not finish within the time budget."""

    kind = "credential-too-costly"


class CheckerBusy(LedgerError):
    """Every check slot of this worker is taken; the caller should try again shortly."""

    kind = "checker-busy"


def check_size(document: Any) -> None:
    """Refuse a document with too many JSON nodes or objects, or nested too deep."""
    nodes = objects = 0
    stack: list[tuple[Any, int]] = [(document, 1)]
    while stack:
        value, depth = stack.pop()
        nodes += 1
        if depth > MAX_DEPTH:
            raise CredentialTooCostly(f"credential: nested deeper than {MAX_DEPTH} levels")
        if isinstance(value, dict):
            objects += 1
            stack.extend((item, depth + 1) for item in value.values())
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in value)
        if nodes > MAX_NODES or objects > MAX_OBJECTS:
            raise CredentialTooCostly(
                f"credential: more than {MAX_NODES} values or {MAX_OBJECTS} objects"
            )


class CheckGate:
    """One check at a time per worker, a few waiting, each answered within its budget."""

    def __init__(self, *, budget: float = BUDGET_SECONDS, waiting: int = MAX_WAITING) -> None:
        self.budget = budget
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="credential-check")
        self._slots = threading.BoundedSemaphore(waiting + 1)

    def run(self, check: Callable[[], T]) -> T:
        """Run ``check`` within the budget, or raise ``CheckerBusy``/``CredentialTooCostly``."""
        if not self._slots.acquire(blocking=False):
            raise CheckerBusy("other credential checks are running; try again in a moment")
        try:
            future = self._pool.submit(check)
        except BaseException:
            self._slots.release()
            raise
        future.add_done_callback(lambda _: self._slots.release())
        try:
            return future.result(timeout=self.budget)
        except FutureTimeout:
            raise CredentialTooCostly(
                f"credential: checking it took longer than {self.budget:g} s"
            ) from None
