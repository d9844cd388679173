"""CSV cohort import benchmark: a 10,000-row file end to end against ``issue_cohort``.

Baseline: ``Ledger.issue_cohort`` of 10,000 orders already in memory (authorisation,
policy, status entries, idempotency record, signing, one transaction). Measured: the
CSV import of 10,000 other learners end to end, as ``ledger issue-cohort`` runs it:
read the file, decode, parse and check every row, look up who already holds the
achievement on the read side, issue in one transaction, write the result CSV.
Rounds alternate between the two (each round a new achievement and new learners) so
that the machine's noise hits both; the median round counts. Target: the import at
least 0.7x the baseline's rate (ratio = baseline seconds / import seconds).

    python scripts/bench_csv_import.py [--rows N] [--rounds R] [--stores sqlite,postgres]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import UUID

from benchkit import Figure, load_average, postgres_schema, postgres_url, print_figures
from ledger.projections.read_models import ReadModels
from ledger.projections.runner import ProjectionRunner

from ledger.application import cohort_csv
from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.cli.demo import MICRO_DATA_SCIENCE
from ledger.eventlog.signing_keys import FileKeyStore


@contextmanager
def store(kind: str, scratch: Path) -> Iterator[str]:
    """A fresh store URL of the given kind."""
    if kind == "sqlite":
        yield f"sqlite:///{scratch / 'bench.db'}"
        return
    with postgres_schema("csvbench") as schema:
        yield postgres_url(schema)


def write_file(path: Path, subjects: list[str]) -> None:
    rows = "".join(f"{s},,,{i % 10},\r\n" for i, s in enumerate(subjects))
    path.write_text("learner_subject,valid_from,valid_until,result.grade,evidence\r\n" + rows)


def run(kind: str, rows: int, rounds: int) -> Figure:
    """Alternating rounds of baseline and CSV import on one store; the medians' ratio."""
    with tempfile.TemporaryDirectory() as scratch, store(kind, Path(scratch)) as url:
        ledger = Ledger(url, key_store=FileKeyStore(Path(scratch) / "keys"))
        with acting_as(CLI_OPERATOR):
            ledger.establish()
            issuer = ledger.register_issuer(name="Bench", country="NL")
        runner = ProjectionRunner(ledger)
        views = ReadModels(runner)
        baseline: list[float] = []
        imported: list[float] = []
        for n in range(rounds):
            with acting_as(CLI_OPERATOR):
                achievement = ledger.define_achievement(issuer, dict(MICRO_DATA_SCIENCE))
                orders = [CredentialOrder(f"base-{n}-{i}@bench") for i in range(rows)]
                started = time.perf_counter()
                ledger.issue_cohort(issuer, achievement, orders, request_id=f"base-{n}")
                baseline.append(time.perf_counter() - started)
                runner.catch_up()  # the read side knows who holds what (not timed)
                path = Path(scratch) / f"cohort-{n}.csv"
                write_file(path, [f"csv-{n}-{i}@bench" for i in range(rows)])
                imported.append(import_file(ledger, views, path, issuer, achievement))
                runner.catch_up()
            print(
                f"  {kind} round {n + 1}: issue_cohort {baseline[-1]:.2f} s, "
                f"CSV import {imported[-1]:.2f} s"
            )
        ledger.close()
    base, csv_time = statistics.median(baseline), statistics.median(imported)
    return Figure(
        name=f"CSV import of {rows:,} rows vs issue_cohort ({kind})",
        value=rows / csv_time,
        baseline=rows / base,
        target=0.7,
        unit="credentials/s",
        note=f"median of {rounds} rounds: issue_cohort {base:.2f} s, CSV import {csv_time:.2f} s",
        load=load_average(),
    )


def import_file(
    ledger: Ledger, views: ReadModels, path: Path, issuer: UUID, achievement: UUID
) -> float:
    """The CSV import end to end, as ``ledger issue-cohort`` does it; returns seconds."""
    started = time.perf_counter()
    text = cohort_csv.decode(path.read_bytes())
    done = cohort_csv.import_cohort(
        ledger,
        text,
        issuer_id=issuer,
        achievement_id=achievement,
        request_id=f"csv:{path.name}",
        holders=views.learners_holding,
    )
    path.with_suffix(".result.csv").write_text(done.result_csv(), newline="")
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--stores", default="sqlite,postgres")
    args = parser.parse_args()
    figures = [run(kind, args.rows, args.rounds) for kind in args.stores.split(",")]
    print_figures(figures)
    for figure in figures:
        print(f"ratio {figure.name}: {figure.ratio:.2f} (target >= 0.7)")


if __name__ == "__main__":
    main()
