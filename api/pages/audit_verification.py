"""Whole-log verifications started from the audit pages, run in the background.

Verifying a big log takes minutes, longer than a browser waits for a page, so a
request starts a run in a thread of its own and answers at once; the pages then
poll its progress (``done`` of ``total`` log positions) until the report is there.
The run is ``ledger verify``'s (``ledger.audit.live_store.verify_store``): the same
checks, the same checkpoint counts, the same read-side comparison.

Bounded: one run at a time per server process (a second request is shown the run
in progress), in one process (no worker pool forked from a threaded server), and
only the last few finished runs are kept.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ledger.audit.live_store import public_source, verify_store
from ledger.audit.log_verifier import Report
from ledger.settings import Settings

logger = logging.getLogger(__name__)
#: Finished runs kept for their report pages (the oldest are dropped first).
KEEP_FINISHED = 10
#: How a run verifies: ``verify_store``'s signature (tests wrap it to hold a run open).
Verify = Callable[..., tuple[Report, list[str]]]


@dataclass
class VerificationRun:
    """One run: who started it, how far it got, and its report (or why it broke)."""

    run_id: str
    started_by: str
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    done: int = 0
    total: int = 0
    finished_at: datetime | None = None
    #: ``Report.to_json()`` with ``summary`` and ``read_side_disagreements`` added.
    report: dict[str, Any] | None = None
    #: Why the run could not finish (the store was unreachable, ...): no report then.
    error: str | None = None

    @property
    def state(self) -> str:
        """``running``, ``finished`` (a report, good or bad) or ``broken`` (no report)."""
        if self.error is not None:
            return "broken"
        return "finished" if self.report is not None else "running"

    @property
    def verified(self) -> bool:
        """True only for a finished run in which every check passed."""
        report = self.report
        return bool(report and report["ok"] and not report["read_side_disagreements"])

    def progress(self) -> dict[str, Any]:
        """What the progress endpoint answers."""
        percent = (
            100
            if self.state != "running"
            else (int(100 * self.done / self.total) if self.total else 0)
        )
        return {
            "run_id": self.run_id,
            "state": self.state,
            "done": self.done,
            "total": self.total,
            "percent": percent,
            "verified": self.verified,
        }

    def _advance(self, done: int, total: int, seconds: float) -> None:
        self.done, self.total = done, total


class VerificationRuns:
    """The runs of one server process: at most one running, a few finished ones kept."""

    def __init__(
        self, settings: Settings, keep: int = KEEP_FINISHED, verify: Verify = verify_store
    ) -> None:
        self._settings = settings
        self._keep = keep
        self._verify = verify
        self._lock = threading.Lock()
        self._runs: OrderedDict[str, VerificationRun] = OrderedDict()

    def start(self, started_by: str) -> tuple[VerificationRun, bool]:
        """Start a run, or give the one still running; True when this call started it."""
        with self._lock:
            running = self._running()
            if running is not None:
                return running, False
            run = VerificationRun(run_id=secrets.token_urlsafe(12), started_by=started_by)
            self._runs[run.run_id] = run
            while len(self._runs) > self._keep + 1:
                self._runs.popitem(last=False)
            threading.Thread(
                target=self._run, args=(run,), name="ledger-audit-verify", daemon=True
            ).start()
            return run, True

    def get(self, run_id: str) -> VerificationRun | None:
        """A run of this process by its id (None: unknown, or dropped long ago)."""
        with self._lock:
            return self._runs.get(run_id)

    def latest(self) -> VerificationRun | None:
        """The newest run, running or not."""
        with self._lock:
            return next(reversed(self._runs.values()), None)

    def _running(self) -> VerificationRun | None:
        return next((r for r in self._runs.values() if r.state == "running"), None)

    def _run(self, run: VerificationRun) -> None:
        started = time.monotonic()
        try:
            report, disagreements = self._verify(
                self._settings, workers=1, progress=run._advance, warn=logger.warning
            )
        except Exception as error:
            logger.exception("the verification run %s broke", run.run_id)
            run.error = f"{type(error).__name__}: {error}"
            run.finished_at = datetime.now(UTC)
            return
        report.source = public_source(report.source)
        result = report.to_json()
        result["read_side_disagreements"] = disagreements
        result["summary"] = report.summary()
        result["wall_seconds"] = round(time.monotonic() - started, 3)
        run.finished_at = datetime.now(UTC)
        run.done = run.total
        run.report = result
