"""Read-after-write for in-memory views: answer only after a refresh that began later.

A view held in memory (``status_view.StatusView``, the public documents' cache)
may be behind what another server process wrote and the projector applied. A
reader that waits for a refresh *started after it arrived* sees every write
acknowledged before it arrived: the writer answered only once the projector had
committed, and the refresh's query began after that.

One refresh serves every reader waiting for it (single flight): under load, the
cost is about two refresh queries per query time, not one per request. Readers
on the event loop (``wait``) and in threads (``wait_sync``) share one sequence of
refreshes; a refresh runs in a worker thread (it queries the database).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable


class ReadBarrier:
    """Runs ``refresh`` on behalf of every reader that needs one, one at a time."""

    def __init__(self, refresh: Callable[[], object]) -> None:
        self._refresh = refresh
        self._condition = threading.Condition()
        self._started = 0
        self._finished = 0
        self._running = False
        self._failure: BaseException | None = None
        self._flight: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    def _begin(self) -> int | None:
        """Claim the next refresh if none is running (under the condition's lock)."""
        if self._running:
            return None
        self._running = True
        self._started += 1
        return self._started

    def _run(self, generation: int) -> None:
        """Run one refresh and publish its outcome to every waiter."""
        failure: BaseException | None = None
        try:
            self._refresh()
        except BaseException as error:
            failure = error
        with self._condition:
            self._running = False
            if failure is None:
                self._finished = max(self._finished, generation)
            self._failure = failure
            self._condition.notify_all()
        if failure is not None:
            raise failure

    def wait_sync(self) -> None:
        """Block until a refresh started after this call has finished (in a thread)."""
        with self._condition:
            target = self._started + 1
            while self._finished < target:
                generation = self._begin()
                if generation is None:
                    self._condition.wait()
                    if self._failure is not None and not self._running:
                        raise self._failure
                    continue
                self._condition.release()
                try:
                    self._run(generation)
                finally:
                    self._condition.acquire()

    async def wait(self) -> None:
        """``wait_sync`` for the event loop: waiters share one flight to a thread."""
        with self._condition:
            target = self._started + 1
            if self._finished >= target:
                return
        loop = asyncio.get_running_loop()
        while True:
            with self._condition:
                if self._finished >= target:
                    return
            flight = self._flight
            if flight is None or flight[0] is not loop or flight[1].done():
                future = loop.run_in_executor(None, self.wait_sync)
                self._flight = flight = (loop, future)
            await asyncio.shield(flight[1])
