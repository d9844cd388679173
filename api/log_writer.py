"""The ledger's log, written by one thread a few times a second, never by a request.

A request used to format its access line into a log record and put it on a queue
whose listener thread woke for each record: every wake took the interpreter from
the event loop, and the loop then waited for it back after each socket write.
Now a request appends a tuple to a deque (no lock, no wake); ``LogWriter`` wakes
every ``INTERVAL_SECONDS``, turns the tuples into the JSON lines of
``ledger.access`` and writes them, with every other record of the ``ledger``
loggers (handed to a queue nobody waits on), through the handlers configured.
Lines reach the stream up to ``INTERVAL_SECONDS`` late; at exit the rest is written.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections import deque
from itertools import count
from logging.handlers import QueueHandler

import orjson

INTERVAL_SECONDS = 0.05
access_log = logging.getLogger("ledger.access")

#: (request id, pid, method, route, status, seconds taken) of each answered request.
Entry = tuple[str, int, str, str, int, float]


class LogWriter:
    """The thread that writes access lines and queued records (see the module)."""

    def __init__(self, interval: float = INTERVAL_SECONDS) -> None:
        self.interval = interval
        self._entries: deque[Entry] = deque()
        self._records: queue.SimpleQueue[logging.LogRecord] | None = None
        self._handlers: list[logging.Handler] = []
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def access(self, entry: Entry) -> None:
        """Note one request for the access log (on the request path: an append)."""
        self._entries.append(entry)
        if self._thread is None:
            self._start()

    def take_over(self, logger: logging.Logger) -> None:
        """Write ``logger``'s records from this thread: its handlers move here, and a
        ``QueueHandler`` on a queue nobody blocks on takes their place."""
        with self._lock:
            if self._records is not None or not logger.handlers:
                return
            if any(isinstance(h, QueueHandler) for h in logger.handlers):
                return  # already handed over elsewhere
            self._records = queue.SimpleQueue()
            self._handlers = list(logger.handlers)
            logger.handlers = [QueueHandler(self._records)]
        self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="ledger-log", daemon=True)
            self._thread.start()
        atexit.register(self.flush)

    def _run(self) -> None:
        while True:
            time.sleep(self.interval)
            try:
                self.flush()
            except Exception:  # a broken handler must not end the log
                logging.getLogger("ledger.errors").exception("the log writer failed")

    def flush(self) -> None:
        """Write every access line and record waiting (the thread, and at exit)."""
        with self._lock:
            self._write_access_lines()
            self._write_records()

    def _write_access_lines(self) -> None:
        entries = self._entries
        enabled = access_log.isEnabledFor(logging.INFO)
        # With the handlers taken over and none of its own, a line goes straight to
        # them: no caller lookup, no queue round trip, one formatting.
        direct = self._records is not None and not access_log.handlers and access_log.propagate
        while entries:
            request_id, pid, method, route, status, seconds = entries.popleft()
            if not enabled:
                continue
            line = {
                "request_id": request_id,
                "pid": pid,
                "method": method,
                "route": route,
                "status": status,
                "ms": round(seconds * 1000, 2),
            }
            record = access_log.makeRecord(
                access_log.name, logging.INFO, __file__, 0, orjson.dumps(line).decode(), (), None
            )
            if not access_log.filter(record):
                continue
            if direct:
                self._emit(record)
            else:
                access_log.handle(record)

    def _emit(self, record: logging.LogRecord) -> None:
        for handler in self._handlers:
            if record.levelno >= handler.level:
                handler.handle(record)

    def _write_records(self) -> None:
        if self._records is None:
            return
        while True:
            try:
                record = self._records.get_nowait()
            except queue.Empty:
                return
            self._emit(record)


WRITER = LogWriter()


class RequestIds:
    """Request ids as long as a UUID's hex: a random prefix per process and a counter.

    A UUID4 per request cost a system call for 16 random bytes; the prefix is drawn
    again in a forked child so that two processes never share one.
    """

    def __init__(self) -> None:
        self._new_prefix()
        os.register_at_fork(after_in_child=self._new_prefix)

    def _new_prefix(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = count()

    def next(self) -> str:
        """A fresh id (32 hex digits)."""
        return f"{self._prefix}{next(self._counter):016x}"


REQUEST_IDS = RequestIds()
