"""Whole-log verifications started from the audit pages, run in the background.

Verifying a big log takes minutes, longer than a browser waits for a page, so a
request starts a run in a thread of its own and answers at once; the pages then
poll its progress (``done`` of ``total`` log positions) until the report is there.
The run is ``ledger verify``'s (``ledger.audit.live_store.verify_store``): the same
checks, the same checkpoint counts, the same read-side comparison.

With ``ledger serve --workers N`` the page that polls may be served by another worker
than the one running the check, so a run's state (who started it, its progress, the
finished report as JSON, or why it broke) is a file in a private directory beside the
signing keys (``private_files``: mode 700, each file written whole by a rename), which
every worker of the host reads.

Bounded: one run at a time across all workers, held by a lock file that is created
exclusively and removed when the run ends. The lock names the run and the process
(pid and the kernel's start time of that process): a lock whose process is gone (a
worker killed mid-run) is free, and its run reads as broken, never as running forever.
Only the last ``KEEP_FINISHED`` finished runs are kept. The check itself runs in one
process (no worker pool forked from a threaded server).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from ledger.api.pages.private_files import private_directory, write_atomically

from ledger.audit.live_store import public_source, verify_store
from ledger.audit.log_verifier import Report
from ledger.settings import Settings

logger = logging.getLogger(__name__)
#: Finished runs kept for their report pages (the oldest are dropped first).
KEEP_FINISHED = 10
#: How a run verifies: ``verify_store``'s signature (tests wrap it to hold a run open).
Verify = Callable[..., tuple[Report, list[str]]]
#: The directory, under the key directory, that holds the runs.
DIRECTORY = "audit-verifications"
#: ``secrets.token_urlsafe(12)``: a run's id, and the name of its file.
RUN_ID = re.compile(r"[A-Za-z0-9_-]{16}")
LOCK = "running.lock"
GUARD = "start.guard"
INTERRUPTED = "the server process running it stopped before the end"


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

    def to_json(self) -> bytes:
        """The run's file."""
        return orjson.dumps(
            {
                "run_id": self.run_id,
                "started_by": self.started_by,
                "started_at": self.started_at.isoformat(),
                "done": self.done,
                "total": self.total,
                "finished_at": self.finished_at.isoformat() if self.finished_at else None,
                "report": self.report,
                "error": self.error,
            }
        )

    @classmethod
    def from_json(cls, data: bytes) -> VerificationRun:
        """A run from its file (``ValueError``/``KeyError``/``TypeError`` if it is not one)."""
        value = orjson.loads(data)
        finished = value["finished_at"]
        return cls(
            run_id=str(value["run_id"]),
            started_by=str(value["started_by"]),
            started_at=datetime.fromisoformat(value["started_at"]),
            done=int(value["done"]),
            total=int(value["total"]),
            finished_at=datetime.fromisoformat(finished) if finished else None,
            report=value["report"],
            error=value["error"],
        )


def _process_started(pid: int) -> str | None:
    """When the kernel started the process (``/proc/<pid>/stat``'s field 22), so that a
    pid reused by another process is not taken for the one that took the lock."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else None


def _alive(pid: int, started: str | None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # there, but another user's: alive unless its start time says otherwise
    return started is None or _process_started(pid) in (None, started)


class VerificationRuns:
    """The runs of this server (all its workers): at most one running, a few finished ones.

    The object holds no run itself: every call reads the directory, so any number of
    them, in any number of processes of one host, see the same runs.
    """

    def __init__(
        self,
        settings: Settings,
        keep: int = KEEP_FINISHED,
        verify: Verify = verify_store,
        directory: Path | None = None,
    ) -> None:
        self._settings = settings
        self._keep = keep
        self._verify = verify
        self.directory = directory or settings.key_dir / DIRECTORY

    def start(self, started_by: str) -> tuple[VerificationRun, bool]:
        """Start a run, or give the one still running; True when this call started it."""
        private_directory(self.directory)
        with self._guard():
            holder = self._holder()
            if holder is not None:
                running = self.get(str(holder.get("run_id")))
                if running is not None and running.state == "running":
                    return running, False
            # No lock, or a stale one (its process is gone), or one whose run has ended.
            (self.directory / LOCK).unlink(missing_ok=True)
            run = VerificationRun(run_id=secrets.token_urlsafe(12), started_by=started_by)
            self._take_lock(run)
            self._save(run)
        threading.Thread(
            target=self._run, args=(run,), name="ledger-audit-verify", daemon=True
        ).start()
        return run, True

    def get(self, run_id: str) -> VerificationRun | None:
        """A run by its id (None: unknown, malformed, or dropped long ago)."""
        if not RUN_ID.fullmatch(run_id):
            return None
        run = self._load(self.directory / f"{run_id}.json")
        if run is None or run.state != "running":
            return run
        holder = self._holder()
        if holder is not None and holder.get("run_id") == run_id:
            return run
        # Not held: it ended just now (its last state was written before the lock went),
        # or its process died. Read again to tell which.
        run = self._load(self.directory / f"{run_id}.json")
        if run is not None and run.state == "running":
            run.error = INTERRUPTED
            run.finished_at = datetime.now(UTC)
            with contextlib.suppress(OSError):
                self._save(run)
        return run

    def latest(self) -> VerificationRun | None:
        """The newest run, running or not."""
        runs = self._all()
        return self.get(runs[-1].run_id) if runs else None

    # -- the files ------------------------------------------------------------------

    def _all(self) -> list[VerificationRun]:
        """Every run kept, oldest first."""
        try:
            paths = list(self.directory.glob("*.json"))
        except OSError:
            return []
        runs = [
            run
            for run in (self._load(p) for p in paths if RUN_ID.fullmatch(p.stem))
            if run is not None
        ]
        return sorted(runs, key=lambda run: run.started_at)

    @staticmethod
    def _load(path: Path) -> VerificationRun | None:
        try:
            return VerificationRun.from_json(path.read_bytes())
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def _save(self, run: VerificationRun) -> None:
        write_atomically(self.directory / f"{run.run_id}.json", run.to_json())

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """One worker at a time looks at and takes the lock (so that two workers finding
        the same stale lock do not both take it over)."""
        fd = os.open(self.directory / GUARD, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the flock

    def _holder(self) -> dict[str, Any] | None:
        """The lock's content if a live process holds it; None if free or stale."""
        try:
            holder = orjson.loads((self.directory / LOCK).read_bytes())
            pid = int(holder["pid"])
            started = holder.get("process_started")
        except (OSError, ValueError, KeyError, TypeError):
            return None
        if not isinstance(holder, dict) or not _alive(pid, started):
            return None
        return holder

    def _take_lock(self, run: VerificationRun) -> None:
        """Create the lock exclusively, whole: written aside, then hard-linked into place
        (a link fails if the lock exists; a reader never sees an empty lock)."""
        pid = os.getpid()
        aside = self.directory / f"{LOCK}.{secrets.token_hex(4)}.part"
        write_atomically(
            aside,
            orjson.dumps(
                {
                    "run_id": run.run_id,
                    "pid": pid,
                    "process_started": _process_started(pid),
                    "started_at": run.started_at.isoformat(),
                }
            ),
        )
        try:
            os.link(aside, self.directory / LOCK)
        finally:
            aside.unlink()

    def _release(self, run: VerificationRun) -> None:
        with self._guard():
            holder = self._holder()
            if holder is not None and holder.get("run_id") == run.run_id:
                (self.directory / LOCK).unlink(missing_ok=True)

    def _prune(self) -> None:
        """Drop the finished runs beyond the newest ``keep``."""
        finished = [run for run in self._all() if run.state != "running"]
        for run in finished[: max(len(finished) - self._keep, 0)]:
            (self.directory / f"{run.run_id}.json").unlink(missing_ok=True)

    # -- the run ----------------------------------------------------------------------

    def _run(self, run: VerificationRun) -> None:
        started = time.monotonic()

        def advance(done: int, total: int, seconds: float) -> None:
            run.done, run.total = done, total
            try:
                self._save(run)
            except OSError:  # a page shows older progress; the check goes on
                logger.warning("could not record the progress of run %s", run.run_id)

        try:
            report, disagreements = self._verify(
                self._settings, workers=1, progress=advance, warn=logger.warning
            )
        except Exception as error:
            logger.exception("the verification run %s broke", run.run_id)
            run.error = f"{type(error).__name__}: {error}"
        else:
            report.source = public_source(report.source)
            result = report.to_json()
            result["read_side_disagreements"] = disagreements
            result["summary"] = report.summary()
            result["wall_seconds"] = round(time.monotonic() - started, 3)
            run.done = run.total
            run.report = result
        run.finished_at = datetime.now(UTC)
        try:
            self._save(run)  # before the lock goes: see ``get``
            self._prune()
        except OSError:
            logger.exception("could not record the end of run %s", run.run_id)
        finally:
            self._release(run)
