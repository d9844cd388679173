"""Real parallel writers on PostgreSQL: optimistic concurrency lets exactly one win.

Each writer is its own process with its own connection pool, as API workers are.
"""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from ledger.application.actor import acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.domain.issuer import Issuer
from ledger.errors import Conflict
from ledger.eventlog.signing_keys import FileKeyStore
from tests.conftest import postgres_store_url
from tests.factories import admin, new_achievement, new_issuer

pytestmark = pytest.mark.postgres


def _suspend_after_barrier(
    store_url: str, key_dir: str, issuer_id: str, credential_id: str, barrier: Any, results: Any
) -> None:
    ledger = Ledger(store_url, key_store=FileKeyStore(Path(key_dir)))
    with acting_as(admin(UUID(issuer_id))):
        credential = ledger.credential(UUID(credential_id))
        credential.suspend(reason="parallel")
        barrier.wait()
        try:
            ledger._save(credential, authority=issuer_id)
            results.put("won")
        except Conflict:
            results.put("conflict")
    ledger.close()


def _issue_many(
    store_url: str, key_dir: str, issuer_id: str, achievement_id: str, barrier: Any, results: Any
) -> None:
    ledger = Ledger(store_url, key_store=FileKeyStore(Path(key_dir)))
    barrier.wait()
    ids = []
    with acting_as(admin(UUID(issuer_id))):
        for n in range(25):
            ids.append(
                str(
                    ledger.issue_credential(
                        UUID(issuer_id),
                        UUID(achievement_id),
                        CredentialOrder(learner_subject=f"p{n}"),
                    )
                )
            )
    results.put(ids)
    ledger.close()


def test_two_writers_on_one_credential_never_both_win(postgres_schema: str, tmp_path: Path) -> None:
    store_url = postgres_store_url(postgres_schema)
    key_store = FileKeyStore(tmp_path / "keys")
    ledger = Ledger(store_url, key_store=key_store)
    from ledger.application.actor import CLI_OPERATOR

    with acting_as(CLI_OPERATOR):
        ledger.establish()
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    with acting_as(admin(issuer_id)):
        credential_id = ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="s")
        )
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    writers = [
        context.Process(
            target=_suspend_after_barrier,
            args=(
                store_url,
                str(tmp_path / "keys"),
                str(issuer_id),
                str(credential_id),
                barrier,
                results,
            ),
        )
        for _ in range(2)
    ]
    for writer in writers:
        writer.start()
    outcomes = sorted(results.get(timeout=60) for _ in writers)
    for writer in writers:
        writer.join(timeout=30)
    assert outcomes == ["conflict", "won"]
    assert [e.topic.rsplit("/", 1)[1] for e in ledger.history(credential_id)] == [
        "Issued",
        "Suspended",
    ]


def test_parallel_issuers_get_distinct_status_entries(postgres_schema: str, tmp_path: Path) -> None:
    store_url = postgres_store_url(postgres_schema)
    ledger = Ledger(store_url, key_store=FileKeyStore(tmp_path / "keys"))
    from ledger.application.actor import CLI_OPERATOR

    with acting_as(CLI_OPERATOR):
        ledger.establish()
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    results = context.Queue()
    writers = [
        context.Process(
            target=_issue_many,
            args=(
                store_url,
                str(tmp_path / "keys"),
                str(issuer_id),
                str(achievement_id),
                barrier,
                results,
            ),
        )
        for _ in range(2)
    ]
    for writer in writers:
        writer.start()
    issued = [UUID(i) for _ in writers for i in results.get(timeout=120)]
    for writer in writers:
        writer.join(timeout=30)
    assert len(issued) == 50
    entries = {(c.status_list, c.status_index) for c in map(ledger.credential, issued)}
    assert len(entries) == 50
    # Entries are reserved in blocks per writer: every index used was reserved, in
    # positions of the list's permutation that no other credential got.
    status_list = ledger.issuer(issuer_id).status_lists[0]
    reserved = {status_list.index_of(position) for position in range(status_list.reserved)}
    assert {index for _, index in entries} <= reserved


def _issue_and_count_conflicts(
    store_url: str,
    key_dir: str,
    issuer_id: str,
    achievement_id: str,
    name: str,
    barrier: Any,
    results: Any,
) -> None:
    """Issue singles and small cohorts; report every id and every error a caller saw."""
    ledger = Ledger(store_url, key_store=FileKeyStore(Path(key_dir)))
    barrier.wait()
    ids: list[str] = []
    errors: list[str] = []
    with acting_as(admin(UUID(issuer_id))):
        for n in range(30):
            try:
                if n % 5 == 4:
                    orders = [CredentialOrder(learner_subject=f"{name}-{n}-{k}") for k in range(7)]
                    issued = ledger.issue_cohort(
                        UUID(issuer_id), UUID(achievement_id), orders, request_id=f"{name}-{n}"
                    )
                else:
                    issued = [
                        ledger.issue_credential(
                            UUID(issuer_id),
                            UUID(achievement_id),
                            CredentialOrder(learner_subject=f"{name}-{n}"),
                        )
                    ]
                ids.extend(map(str, issued))
            except Exception as error:  # the test counts every error a caller sees
                errors.append(f"{type(error).__name__}: {error}")
    results.put((ids, errors))
    ledger.close()


def test_many_writer_processes_of_one_institution_never_see_a_conflict(
    postgres_schema: str, tmp_path: Path
) -> None:
    store_url = postgres_store_url(postgres_schema)
    ledger = Ledger(store_url, key_store=FileKeyStore(tmp_path / "keys"))
    from ledger.application.actor import CLI_OPERATOR

    with acting_as(CLI_OPERATOR):
        ledger.establish()
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    context = multiprocessing.get_context("spawn")
    writers_count = 6
    barrier = context.Barrier(writers_count)
    results = context.Queue()
    writers = [
        context.Process(
            target=_issue_and_count_conflicts,
            args=(
                store_url,
                str(tmp_path / "keys"),
                str(issuer_id),
                str(achievement_id),
                f"w{w}",
                barrier,
                results,
            ),
        )
        for w in range(writers_count)
    ]
    for writer in writers:
        writer.start()
    reports = [results.get(timeout=300) for _ in writers]
    for writer in writers:
        writer.join(timeout=60)
    errors = [error for _, errs in reports for error in errs]
    assert errors == []
    issued = [UUID(i) for ids, _ in reports for i in ids]
    # 24 singles and 6 cohorts of 7 per writer.
    assert len(issued) == len(set(issued)) == writers_count * (24 + 6 * 7)
    credentials = [ledger.credential(credential_id) for credential_id in issued]
    assert {c.issuer_id for c in credentials} == {issuer_id}
    entries = {(c.status_list, c.status_index) for c in credentials}
    assert len(entries) == len(issued)
    status_list = ledger.issuer(issuer_id).status_lists[0]
    reserved = {status_list.index_of(position) for position in range(status_list.reserved)}
    assert {index for _, index in entries} <= reserved
    # Nothing lost or doubled: the store holds exactly the credentials callers were given.
    stored = {
        stored_event.originator_id
        for stored_event in ledger.recorder.select_notifications(start=1, limit=100_000)
        if stored_event.topic == "ledger/Credential/Issued"
    }
    assert stored == set(issued)


def test_a_block_reservation_that_loses_a_race_is_retried_unseen(
    postgres_schema: str, tmp_path: Path
) -> None:
    store_url = postgres_store_url(postgres_schema)
    first = Ledger(store_url, key_store=FileKeyStore(tmp_path / "keys"))
    from ledger.application.actor import CLI_OPERATOR

    with acting_as(CLI_OPERATOR):
        first.establish()
    issuer_id = new_issuer(first)
    achievement_id = new_achievement(first, issuer_id)
    second = Ledger(store_url, key_store=FileKeyStore(tmp_path / "keys"))
    load_issuer = first.issuer
    raced: list[bool] = []

    def issuer_then_race(loaded_id: UUID) -> Issuer:
        issuer = load_issuer(loaded_id)
        if not raced:
            # The other process reserves between this one's load and save.
            raced.append(True)
            second.status_entries.take(issuer_id, 1)
        return issuer

    first.issuer = issuer_then_race  # type: ignore[method-assign,assignment]
    with acting_as(admin(issuer_id)):
        mine = first.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="a")
        )
        theirs = second.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="b")
        )
    assert raced == [True]
    indexes = {first.credential(mine).status_index, first.credential(theirs).status_index}
    assert len(indexes) == 2
    topics = [e.topic.rsplit("/", 1)[1] for e in first.history(issuer_id)]
    assert topics.count("StatusEntriesReserved") == 2
