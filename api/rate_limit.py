"""A per-client token bucket for the public routes (anyone may call them).

In memory, per worker process: with ``--workers N`` a client gets up to N times the
rate, which is still a bound. Buckets of clients not seen for a while are dropped so
that the table cannot grow without limit.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict

#: How many clients are remembered at most (the least recently seen go first).
MAX_CLIENTS = 100_000


class RateLimiter:
    """``rate`` requests per second on average, bursts of up to ``burst``, per client."""

    def __init__(self, *, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("a rate limit needs a positive rate and a burst of at least 1")
        self.rate = rate
        self.burst = burst
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def allow(self, client: str, *, now: float | None = None) -> bool:
        """Take one token from the client's bucket; False when it is empty."""
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.pop(client, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - last) * self.rate)
            allowed = tokens >= 1.0
            self._buckets[client] = (tokens - 1.0 if allowed else tokens, now)
            if len(self._buckets) > MAX_CLIENTS:
                self._buckets.popitem(last=False)
            return allowed
