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
    assert ledger.issuer(issuer_id).status_lists[0].reserved == 50
