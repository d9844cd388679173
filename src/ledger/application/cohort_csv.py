"""Cohorts from a CSV file, as edubadges and Badgr award them: template, dry run, import.

The file has one row per learner. Columns (the header row names them, in any order):

* ``learner_subject`` (required): the learner's eduID subject;
* ``valid_from``, ``valid_until`` (optional): ISO 8601 instants with a time zone;
* ``evidence`` (optional): URLs separated by ``;``;
* ``result.<name>`` (optional, any number): a result, e.g. ``result.grade``.

A dry run reads every row and reports every problem of every row (an unknown column,
a missing field, a malformed subject or date, a learner listed twice, a learner who
already holds the achievement) and writes nothing. The import runs the same checks
and then issues the whole cohort in one atomic transaction under an idempotency key
(``Ledger.issue_cohort``): either every row gets its credential or none does, and the
same key with the same file returns the same credentials. The result maps each row
to its credential id.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.application.ledger import CredentialOrder, Ledger
from ledger.errors import InvalidInput

SUBJECT = "learner_subject"
KNOWN_COLUMNS = (SUBJECT, "valid_from", "valid_until", "evidence")
RESULT_PREFIX = "result."
MAX_ROWS = 20_000
MAX_SUBJECT = 500
MAX_VALUE = 2000
MAX_EVIDENCE = 50

TEMPLATE = (
    "learner_subject,valid_from,valid_until,result.grade,evidence\r\n"
    "eduid-subject-of-learner-1,,,8.5,\r\n"
    "eduid-subject-of-learner-2,2026-09-01T00:00:00+00:00,2031-09-01T00:00:00+00:00,7,"
    "https://portfolio.example/work-2\r\n"
)

#: ``(done, total, what)``: progress of a long import, for the CLI's stderr.
Progress = Callable[[int, int, str], None]
#: The learner ids (as text) who hold a live credential of an achievement (read side).
Holders = Callable[[UUID], set[str]]
#: The learner ids of eduID subjects (``LearnerIds.of_many``: keyed, so the ledger's).
LearnerIdsOf = Callable[[list[str]], list[UUID]]


#: The English words of each problem (the API's and the CLI's); the console's pages
#: say the same from the code and its particulars in the reader's language.
PROBLEM_TEXTS = {
    "missing-column": "missing column {column!r}",
    "column-twice": "column {column!r} appears twice",
    "unknown-column": "unknown column {column!r} (known: {known}, result.<name>)",
    "too-many-values": "{values} values for {columns} columns",
    "missing-subject": f"missing {SUBJECT}",
    "bad-subject": f"bad {SUBJECT}: one word of at most {{most}} characters",
    "not-an-instant": "{column}: {text!r} is not an ISO 8601 instant",
    "no-time-zone": "{column}: needs a time zone (e.g. +00:00)",
    "until-not-after-from": "valid_until must be after valid_from",
    "too-much-evidence": "evidence: at most {most} URLs",
    "evidence-not-urls": "evidence: URLs (https://…) separated by ';'",
    "value-too-long": "a value is longer than {most} characters",
    "duplicate": "duplicate learner: the same subject as row {first}",
    "holds-already": "this learner already holds this achievement",
}


@dataclass(frozen=True)
class Problem:
    """One problem of the header or of a row: what it is and its particulars.

    A code, not only words, so that each reader gets them in its own language: the
    API's report and the CLI print ``text``; the console's pages translate the code.
    """

    code: str
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def text(self) -> str:
        """The problem in English."""
        return PROBLEM_TEXTS[self.code].format(**self.params)

    def __str__(self) -> str:
        return self.text


@dataclass
class CohortRow:
    """One data row: its number in the file (the header is row 1) and what it asks for."""

    row: int
    subject: str
    order: CredentialOrder | None
    problems: list[Problem] = field(default_factory=list)


@dataclass
class CohortFile:
    """A parsed file: its header problems and its rows, each with its own problems."""

    columns: list[str]
    header_problems: list[Problem]
    rows: list[CohortRow]

    @property
    def ok(self) -> bool:
        """No problem anywhere, and at least one row."""
        return (
            bool(self.rows) and not self.header_problems and not any(r.problems for r in self.rows)
        )

    def report(self) -> dict[str, Any]:
        """The dry run's answer: counts, header problems, and every row that has a problem."""
        bad = [r for r in self.rows if r.problems]
        return {
            "valid": self.ok,
            "rows": len(self.rows),
            "rows_ok": len(self.rows) - len(bad),
            "rows_with_problems": len(bad),
            "columns": self.columns,
            "header_problems": [p.text for p in self.header_problems],
            "problems": [{"row": r.row, "problems": [p.text for p in r.problems]} for r in bad],
        }

    def summary(self) -> str:
        """A one-paragraph account of the problems, for an error message."""
        parts = [p.text for p in self.header_problems]
        if not self.rows and not parts:
            parts.append("the file has no data rows")
        parts += [
            f"row {r.row}: {'; '.join(p.text for p in r.problems)}" for r in self.rows if r.problems
        ][:20]
        more = sum(1 for r in self.rows if r.problems) - 20
        if more > 0:
            parts.append(f"and {more} more rows with problems")
        return "; ".join(parts)


def decode(data: bytes) -> str:
    """The file's text: UTF-8 (a byte-order mark, as spreadsheets write, is dropped)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InvalidInput(f"file: not UTF-8 text (byte {error.start})") from None


def parse(text: str, *, progress: Progress | None = None) -> CohortFile:
    """Read a cohort file; every problem is recorded, nothing is raised for a bad row."""
    if "\x00" in text:
        raise InvalidInput("file: contains a NUL byte; is it a CSV file?")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise InvalidInput(f"file: empty; the first row names the columns ({SUBJECT}, …)") from None
    except csv.Error as error:
        raise InvalidInput(f"file: not CSV ({error})") from None
    columns = [c.strip() for c in header]
    header_problems = _header_problems(columns)
    rows: list[CohortRow] = []
    try:
        for values in reader:
            if not any(v.strip() for v in values):
                continue  # blank lines, as spreadsheets leave at the end
            if len(rows) >= MAX_ROWS:
                raise InvalidInput(f"file: at most {MAX_ROWS:,} rows in one cohort")
            rows.append(_row(reader.line_num, columns, values))
            if progress is not None and len(rows) % 2000 == 0:
                progress(len(rows), 0, "rows read")
    except csv.Error as error:
        raise InvalidInput(f"file: not CSV at line {reader.line_num} ({error})") from None
    _mark_duplicates(rows)
    return CohortFile(columns=columns, header_problems=header_problems, rows=rows)


def _header_problems(columns: list[str]) -> list[Problem]:
    problems = []
    if SUBJECT not in columns:
        problems.append(Problem("missing-column", {"column": SUBJECT}))
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            problems.append(Problem("column-twice", {"column": column}))
        seen.add(column)
        if column in KNOWN_COLUMNS:
            continue
        if column.startswith(RESULT_PREFIX) and 0 < len(column) - len(RESULT_PREFIX) <= 100:
            continue
        problems.append(
            Problem("unknown-column", {"column": column, "known": ", ".join(KNOWN_COLUMNS)})
        )
    return problems


def _row(line: int, columns: list[str], values: list[str]) -> CohortRow:
    problems: list[Problem] = []
    if len(values) > len(columns):
        problems.append(
            Problem("too-many-values", {"values": len(values), "columns": len(columns)})
        )
    cells = {c: (values[i].strip() if i < len(values) else "") for i, c in enumerate(columns)}
    subject = cells.get(SUBJECT, "")
    if not subject:
        problems.append(Problem("missing-subject"))
    elif len(subject) > MAX_SUBJECT or any(ch.isspace() or ord(ch) < 32 for ch in subject):
        problems.append(Problem("bad-subject", {"most": MAX_SUBJECT}))
    valid_from = _instant(cells, "valid_from", problems)
    valid_until = _instant(cells, "valid_until", problems)
    if valid_from and valid_until and valid_until <= valid_from:
        problems.append(Problem("until-not-after-from"))
    evidence = tuple(u.strip() for u in cells.get("evidence", "").split(";") if u.strip())
    if len(evidence) > MAX_EVIDENCE:
        problems.append(Problem("too-much-evidence", {"most": MAX_EVIDENCE}))
    if any(not u.startswith(("https://", "http://")) for u in evidence):
        problems.append(Problem("evidence-not-urls"))
    result = {
        c[len(RESULT_PREFIX) :]: v for c, v in cells.items() if c.startswith(RESULT_PREFIX) and v
    }
    if any(len(v) > MAX_VALUE for v in (*result.values(), *evidence)):
        problems.append(Problem("value-too-long", {"most": MAX_VALUE}))
    order = (
        None
        if problems
        else CredentialOrder(
            learner_subject=subject,
            valid_from=valid_from,
            valid_until=valid_until,
            result=result or None,
            evidence=evidence,
        )
    )
    return CohortRow(row=line, subject=subject, order=order, problems=problems)


def _instant(cells: dict[str, str], name: str, problems: list[Problem]) -> datetime | None:
    text = cells.get(name, "")
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        problems.append(Problem("not-an-instant", {"column": name, "text": text[:40]}))
        return None
    if value.tzinfo is None:
        problems.append(Problem("no-time-zone", {"column": name}))
        return None
    return value


def _mark_duplicates(rows: Iterable[CohortRow]) -> None:
    first: dict[str, int] = {}
    for row in rows:
        if not row.subject:
            continue
        if row.subject in first:
            row.problems.append(Problem("duplicate", {"first": first[row.subject]}))
            row.order = None
        else:
            first[row.subject] = row.row


def check_holders(
    cohort: CohortFile, achievement_id: UUID, holders: Holders, learner_ids_of: LearnerIdsOf
) -> None:
    """Mark rows whose learner already holds a live credential of this achievement."""
    held = holders(achievement_id)
    if not held:
        return
    named = [row for row in cohort.rows if row.subject]
    ids = learner_ids_of([row.subject for row in named])
    for row, learner_id in zip(named, ids, strict=True):
        if str(learner_id) in held:
            row.problems.append(Problem("holds-already"))
            row.order = None


@dataclass(frozen=True)
class CohortImport:
    """What an import issued: each row's number, subject and credential id."""

    rows: list[tuple[int, str, UUID]]

    @property
    def credential_ids(self) -> list[UUID]:
        """The credentials, in row order."""
        return [credential_id for _, _, credential_id in self.rows]

    def result_csv(self) -> str:
        """The result file: one line per row, mapping it to its credential id."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(("row", SUBJECT, "credential_id"))
        writer.writerows((row, subject, str(cid)) for row, subject, cid in self.rows)
        return out.getvalue()


def dry_run(
    text: str,
    *,
    achievement_id: UUID,
    holders: Holders,
    learner_ids_of: LearnerIdsOf,
    progress: Progress | None = None,
) -> CohortFile:
    """Every row with its problems; nothing is written."""
    cohort = parse(text, progress=progress)
    check_holders(cohort, achievement_id, holders, learner_ids_of)
    return cohort


def import_cohort(
    ledger: Ledger,
    text: str,
    *,
    issuer_id: UUID,
    achievement_id: UUID,
    request_id: str,
    holders: Holders,
    progress: Progress | None = None,
) -> CohortImport:
    """Check every row, then issue the whole cohort atomically; refused if any row is bad.

    A retry under a request id already used skips the holders check (the learners hold
    the achievement because of that very request) and gets the same credentials back.
    """
    cohort = parse(text, progress=progress)
    if not ledger.request_completed(issuer_id, request_id):
        check_holders(cohort, achievement_id, holders, ledger.learner_ids.of_many)
    if not cohort.ok:
        raise CohortRefused.of(cohort)
    orders = [row.order for row in cohort.rows if row.order is not None]
    if progress is not None:
        progress(0, len(orders), "issuing in one transaction")
    ids = ledger.issue_cohort(issuer_id, achievement_id, orders, request_id=request_id)
    if progress is not None:
        progress(len(ids), len(orders), "issued")
    return CohortImport(
        rows=[(row.row, row.subject, cid) for row, cid in zip(cohort.rows, ids, strict=True)]
    )


class CohortRefused(InvalidInput):
    """A cohort file with problems: nothing was issued. Carries the dry run's report."""

    kind = "invalid-cohort"

    def __init__(self, message: str, *, report: dict[str, Any] | None = None) -> None:
        # Constructed from a message like every LedgerError (the error tests rely on it).
        super().__init__(message)
        self.report: dict[str, Any] = report or {}

    @classmethod
    def of(cls, cohort: CohortFile) -> CohortRefused:
        """The refusal of a cohort file, carrying its dry-run report."""
        return cls(
            f"the cohort file has problems, nothing was issued: {cohort.summary()}",
            report=cohort.report(),
        )
