"""Parallel writers of one institution on PostgreSQL, against one writer, in one run.

Every writer is its own process with its own connection pool (as ``ledger serve
--workers N`` workers and CLI processes are) and issues credentials one at a time
for the *same* institution. A round runs either one writer issuing ``--count``
credentials or ``--writers`` writers issuing ``--count / writers`` each, started
together at a barrier after each has issued one credential to warm up; rounds
alternate, the median counts. It prints total throughput of the parallel writers
against the single writer (target >= 0.9) and every error a caller saw (target 0:
no ``Conflict`` ever reaches a caller), and checks that every credential a caller
was given is stored, once, with a status entry no other credential has.

    python scripts/bench_writers.py [--count 300] [--writers 4] [--rounds 4]
"""

from __future__ import annotations

import argparse
import multiprocessing
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any
from uuid import UUID

from benchkit import Figure, load_average, postgres_schema, postgres_url, print_figures

from ledger.application.actor import CLI_OPERATOR, Actor, acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.cli.demo import MICRO_DATA_SCIENCE
from ledger.domain.achievement import AchievementSpec
from ledger.eventlog.signing_keys import FileKeyStore


def _admin(issuer_id: UUID) -> Actor:
    return Actor(subject="a", role="administrator", authenticated_by="bench", issuer_id=issuer_id)


def _writer(
    url: str,
    key_dir: str,
    issuer: str,
    achievement: str,
    name: str,
    count: int,
    barrier: Any,
    results: Any,
) -> None:
    ledger = Ledger(url, key_store=FileKeyStore(Path(key_dir)))
    issuer_id, achievement_id = UUID(issuer), UUID(achievement)
    ids: list[str] = []
    errors: list[str] = []
    with acting_as(_admin(issuer_id)):
        ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject=f"{name}-warm")
        )
        barrier.wait()
        started = time.time()
        for n in range(count):
            try:
                ids.append(
                    str(
                        ledger.issue_credential(
                            issuer_id,
                            achievement_id,
                            CredentialOrder(learner_subject=f"{name}-{n}"),
                        )
                    )
                )
            except Exception as error:
                errors.append(f"{type(error).__name__}: {error}")
        finished = time.time()
    ledger.close()
    results.put((started, finished, ids, errors))


def _round(
    url: str, key_dir: str, issuer: UUID, achievement: UUID, tag: str, writers: int, count: int
) -> tuple[float, list[str], list[str]]:
    """Run ``writers`` processes issuing ``count`` in all; (credentials/s, ids, errors)."""
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(writers)
    results = context.Queue()
    processes = [
        context.Process(
            target=_writer,
            args=(
                url,
                key_dir,
                str(issuer),
                str(achievement),
                f"{tag}-w{w}",
                count // writers,
                barrier,
                results,
            ),
        )
        for w in range(writers)
    ]
    for process in processes:
        process.start()
    reports = [results.get(timeout=600) for _ in processes]
    for process in processes:
        process.join(timeout=60)
    started = min(report[0] for report in reports)
    finished = max(report[1] for report in reports)
    ids = [i for report in reports for i in report[2]]
    errors = [e for report in reports for e in report[3]]
    return len(ids) / (finished - started), ids, errors


def _check_stored(ledger: Ledger, issued: list[str]) -> str:
    """Nothing lost, nothing doubled, every status entry unique; '' or what is wrong."""
    stored = [
        str(event.originator_id)
        for event in ledger.recorder.select_notifications(start=1, limit=10_000_000)
        if event.topic == "ledger/Credential/Issued"
    ]
    missing = set(issued) - set(stored)
    if missing or len(set(issued)) != len(issued):
        return f"{len(missing)} credentials lost, {len(issued) - len(set(issued))} doubled"
    entries = {
        (c.status_list, c.status_index) for c in (ledger.credential(UUID(i)) for i in stored)
    }
    if len(entries) != len(stored):
        return f"{len(stored) - len(entries)} status entries shared"
    return ""


def measure(full: bool = False, count: int = 0, writers: int = 4, rounds: int = 4) -> list[Figure]:
    """The figures of this benchmark (one table row each); ``full`` issues 2,000 a round."""
    count = count or (2_000 if full else 300)
    load = load_average()
    with postgres_schema() as schema, tempfile.TemporaryDirectory() as key_dir:
        url = postgres_url(schema)
        ledger = Ledger(url, key_store=FileKeyStore(Path(key_dir)))
        with acting_as(CLI_OPERATOR):
            ledger.establish()
            issuer = ledger.register_issuer(name="Bench", country="NL", administrators=["a"])
        with acting_as(_admin(issuer)):
            achievement = ledger.define_achievement(
                issuer, AchievementSpec.parse(MICRO_DATA_SCIENCE)
            )
        singles: list[float] = []
        parallels: list[float] = []
        issued: list[str] = []
        errors: list[str] = []
        for number in range(rounds):
            order = [(1, singles), (writers, parallels)]
            if number % 2:
                order.reverse()
            for processes, rates in order:
                rate, ids, errs = _round(
                    url, key_dir, issuer, achievement, f"r{number}p{processes}", processes, count
                )
                rates.append(rate)
                issued += ids
                errors += errs
        problem = _check_stored(ledger, issued)
        ledger.close()
    single, parallel = statistics.median(singles), statistics.median(parallels)
    return [
        Figure(
            f"issuance, {writers} writers / 1 writer, one institution (PG)",
            parallel,
            single,
            target=0.9,
            unit="credentials/s",
            note=f"{parallel:,.0f}/s vs {single:,.0f}/s, {count} credentials a round, {rounds} rounds"
            + (
                f"; STORED CHECK FAILED: {problem}"
                if problem
                else "; all stored once, entries unique"
            ),
            load=load,
        ),
        Figure(
            f"errors seen by callers of {writers} parallel writers",
            float(len(errors)),
            target=0,
            at_most=True,
            note="; ".join(sorted(set(errors)))[:200],
            load=load,
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--writers", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    print_figures(measure(count=args.count, writers=args.writers, rounds=args.rounds))


if __name__ == "__main__":
    main()
