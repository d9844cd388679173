"""A checked cohort file waiting to be imported, and the import running in the background.

The console's CSV import has three steps: the upload and its dry run, a look at the
report, and the import. Between them the file waits here, in a private directory
beside the signing keys (mode 700: it holds learners' subjects), under a random
token that the page's URL carries (the token says nothing about the file). Each
staged file records who staged it and for which institution and achievement; a
page only opens it for an administrator of that institution.

The import runs in a thread of the worker that received the request, so that the
page can answer at once and show progress while 10,000 rows are read, checked and
issued. Progress is a small JSON file beside the upload (written by an atomic
rename), so any worker of the same host can answer the progress endpoint. The
issuance itself is one transaction under the idempotency key ``console-csv:<token>``:
a double submit is refused by the start marker (created exclusively), and even a
second start elsewhere would get the same credentials back, never new ones.
Staged files older than a day are removed when the next one is staged.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import secrets
import threading
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
from ledger.api.pages.private_files import private_directory, write_atomically

from ledger.application import cohort_csv
from ledger.application.actor import Actor
from ledger.errors import LedgerError

logger = logging.getLogger(__name__)

TOKEN = re.compile(r"[A-Za-z0-9_-]{24}")
KEEP_SECONDS = 24 * 3600
UPLOAD, META, PROGRESS, STARTED, RESULT = (
    ".csv",
    ".meta.json",
    ".progress.json",
    ".started",
    ".result.csv",
)
#: The progress callback's words (``cohort_csv.Progress``) as the page's phases. Its
#: "issued" is still "issuing" here: the page says "issued" only once the read side
#: shows the credentials and the result file is written (``finish``).
PHASES = {"rows read": "reading", "issuing in one transaction": "issuing", "issued": "issuing"}


class CohortUploads:
    """Staged cohort files, their import's progress and result, in one private directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, token: str, suffix: str) -> Path:
        if not TOKEN.fullmatch(token):
            raise ValueError("not an upload token")
        return self.directory / (token + suffix)

    def stage(self, text: str, **meta: Any) -> str:
        """Keep a checked file for its import; answers its token."""
        private_directory(self.directory)
        self._sweep()
        token = secrets.token_urlsafe(18)
        write_atomically(self._path(token, UPLOAD), text.encode("utf-8"))
        write_atomically(self._path(token, META), orjson.dumps({**meta, "staged_at": time.time()}))
        return token

    def _sweep(self) -> None:
        cutoff = time.time() - KEEP_SECONDS
        for path in self.directory.iterdir():
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff:
                    path.unlink()

    def meta(self, token: str) -> dict[str, Any] | None:
        """What was staged under the token (None if unknown, expired or malformed)."""
        try:
            data: dict[str, Any] = orjson.loads(self._path(token, META).read_bytes())
        except (ValueError, OSError):
            return None
        return data

    def text(self, token: str) -> str:
        return self._path(token, UPLOAD).read_text(encoding="utf-8")

    def progress(self, token: str) -> dict[str, Any]:
        """The import's state: ``waiting`` (not started), ``reading``, ``issuing``,
        ``issued``, or ``failed`` with a ``reason``, a message (English, for the log
        and the detail), how many credentials stand ``issued``, perhaps a ``report``."""
        try:
            data: dict[str, Any] = orjson.loads(self._path(token, PROGRESS).read_bytes())
        except (ValueError, OSError):
            started = self._path(token, STARTED).exists()
            return {"state": "reading" if started else "waiting", "done": 0, "total": 0}
        return data

    def report(self, token: str, **progress: Any) -> None:
        write_atomically(self._path(token, PROGRESS), orjson.dumps(progress))

    def claim(self, token: str) -> bool:
        """Mark the import started; False if it was already (a double submit).

        A failed import may be started again: its key makes a retry safe.
        """
        marker = self._path(token, STARTED)
        if self.progress(token)["state"] == "failed":
            marker.unlink(missing_ok=True)
            self._path(token, PROGRESS).unlink(missing_ok=True)
        try:
            os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            return False
        return True

    def result(self, token: str) -> bytes | None:
        """The result CSV (row → credential id), once the import is done."""
        try:
            return self._path(token, RESULT).read_bytes()
        except OSError:
            return None

    def finish(self, token: str, result_csv: str, count: int) -> None:
        write_atomically(self._path(token, RESULT), result_csv.encode("utf-8"))
        self._path(token, UPLOAD).unlink(missing_ok=True)  # the result is all that is needed
        self.report(token, state="issued", done=count, total=count)


def request_id(token: str) -> str:
    """The idempotency key of a staged file's import."""
    return f"console-csv:{token}"


def start_import(services: Any, actor: Actor, uploads: CohortUploads, token: str) -> bool:
    """Start importing a staged file in the background; False if it was started already."""
    meta = uploads.meta(token)
    if meta is None or not uploads.claim(token):
        return False
    thread = threading.Thread(
        target=_run,
        args=(services, actor, uploads, token, meta),
        name=f"cohort-import-{token[:6]}",
        daemon=True,
    )
    thread.start()
    return True


def _run(
    services: Any, actor: Actor, uploads: CohortUploads, token: str, meta: dict[str, Any]
) -> None:
    """Import a staged file; whatever happens, end in a state the page can show.

    The thread has no caller to raise to: an exception that escaped it would leave the
    page at "reading" for ever. So every failure is logged (with its traceback when it
    is not a refusal) and reported as ``failed`` with a ``reason`` the page words in the
    reader's language (``refused``, ``ledger`` or ``error``) and how many credentials
    stand issued: none, or (the issuance is one transaction) every row, when the
    failure came after the commit, such as while writing the result file.
    """
    try:
        total = int(meta.get("rows", 0))

        def progress(done: int, of: int, what: str) -> None:
            uploads.report(token, state=PHASES.get(what, "reading"), done=done, total=of or total)

        text = uploads.text(token)
        done = services.write(
            actor,
            lambda: cohort_csv.import_cohort(
                services.ledger,
                text,
                issuer_id=UUID(meta["issuer_id"]),
                achievement_id=UUID(meta["achievement_id"]),
                request_id=request_id(token),
                holders=services.views.learners_holding,
                progress=progress,
            ),
        )
        uploads.finish(token, done.result_csv(), len(done.rows))
    except cohort_csv.CohortRefused as refused:
        logger.info("cohort import %s refused: %s", token[:6], refused)
        _failed(services, uploads, token, meta, "refused", str(refused), report=refused.report)
    except LedgerError as error:
        logger.exception("cohort import %s refused by the ledger", token[:6])
        _failed(services, uploads, token, meta, "ledger", f"{error.kind}: {error}")
    except Exception as error:  # a failure must reach the page, not only the log
        logger.exception("cohort import %s failed", token[:6])
        _failed(services, uploads, token, meta, "error", type(error).__name__)


def _failed(
    services: Any,
    uploads: CohortUploads,
    token: str,
    meta: dict[str, Any],
    reason: str,
    message: str,
    **extra: Any,
) -> None:
    """Report a failed import with how many credentials stand issued (all or none)."""
    try:
        issued = _issued(services, meta, token)
        uploads.report(
            token, state="failed", reason=reason, message=message, issued=issued, **extra
        )
    except Exception:  # nowhere left to report to: the log must say it
        logger.exception("cohort import %s: its failure could not be reported", token[:6])


def _issued(services: Any, meta: dict[str, Any], token: str) -> int:
    """How many rows stand issued: every one if the import's request was recorded."""
    completed = services.ledger.request_completed(UUID(meta["issuer_id"]), request_id(token))
    return int(meta.get("rows", 0)) if completed else 0
