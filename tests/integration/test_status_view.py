"""The in-memory status view and its read barrier, on both stores.

The view must answer exactly what the projections' tables answer (state with
expiry, list and index), follow later changes by refreshing, and a reader must
never be answered by a refresh that started before it arrived.
"""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from ledger.projections.read_barrier import ReadBarrier
from ledger.projections.read_models import ReadModels
from ledger.projections.runner import BUMP_REBUILD, ProjectionRunner
from ledger.projections.status_list_cache import StatusListCache
from ledger.projections.status_view import NO_END, Change, StatusView, micros

from ledger.application.actor import acting_as
from ledger.application.ledger import Ledger
from ledger.cli.demo import build_demo
from tests.factories import admin

NOW = micros(datetime.now(UTC))


def _entries(runner: ProjectionRunner) -> dict[uuid.UUID, tuple[int, int]]:
    rows = runner.query("SELECT credential_id, list_number, status_index FROM status_entries")
    return {uuid.UUID(r[0]): (int(r[1]), int(r[2])) for r in rows}


def _assert_agrees(view: StatusView, runner: ProjectionRunner) -> None:
    views = ReadModels(runner)
    entries = _entries(runner)
    assert len(view) == len(entries) > 0
    for credential_id, (list_number, index) in entries.items():
        assert view.state(credential_id, NOW) == views.credential_status(credential_id)
        found = view.entry(credential_id)
        assert found is not None and found[:2] == (list_number, index)


def test_the_view_agrees_with_the_projections_and_follows_changes(ledger: Ledger) -> None:
    demo: dict[str, Any] = build_demo(ledger)
    runner = ProjectionRunner(ledger)
    runner.catch_up()
    view = StatusView()
    lists = StatusListCache(ReadModels(runner))
    assert view.refresh(runner, on_change=lists.changed) == len(_entries(runner))
    _assert_agrees(view, runner)
    states = {view.state(c, NOW) for c in _entries(runner)}
    assert {"active", "suspended", "revoked"} <= states
    assert view.state(uuid.uuid4(), NOW) is None
    assert view.refresh(runner) == 0  # nothing changed: nothing read

    # A later revocation: the view and the cached list follow after a refresh.
    target = demo["credentials"]["cohort"][0]
    issuer_id = demo["issuers"]["university"]
    list_number = _entries(runner)[target][0]
    before = lists.get(issuer_id, list_number, "revocation")
    assert before is not None
    with acting_as(admin(issuer_id, "alice@uni.example")):
        ledger.revoke_credential(target, reason="fraud")
    runner.catch_up()
    assert view.state(target, NOW) == "active"  # not refreshed yet
    assert view.refresh(runner, on_change=lists.changed) == 1
    assert view.state(target, NOW) == "revoked"
    after = lists.get(issuer_id, list_number, "revocation")
    assert after is not None and after != before
    assert after == ReadModels(runner).status_list(issuer_id, list_number, "revocation")
    _assert_agrees(view, runner)


def test_expiry_is_computed_at_lookup() -> None:
    view = StatusView()
    credential_id = uuid.uuid4()
    view.apply([Change(credential_id, "suspended", 1_000, 1, "i", 1, 7)])
    assert view.state(credential_id, 999) == "suspended"
    assert view.state(credential_id, 1_000) == "expired"
    view.apply([Change(credential_id, "revoked", 1_000, 2, "i", 1, 7)])
    assert view.state(credential_id, 5_000) == "revoked"  # revoked stays revoked
    assert view.entry(credential_id) == (1, 7, "revoked")
    assert view.position == 2


def test_many_credentials_survive_the_index_growing() -> None:
    ids = [uuid.UUID(int=n << 64 | n, version=4) for n in range(20_000)]  # similar ids
    view = StatusView()
    view.apply(Change(c, "active", NO_END, n + 1, "i", 1, n) for n, c in enumerate(ids))
    assert len(view) == len(ids)
    assert all(view.entry(c) == (1, n, "active") for n, c in enumerate(ids))
    view.apply([Change(ids[5], "revoked", NO_END, 30_000, "i", 1, 5)])
    assert len(view) == len(ids) and view.state(ids[5], NOW) == "revoked"
    assert view.nbytes() / len(ids) <= 64


def test_a_reader_waits_for_a_refresh_that_began_after_it_arrived() -> None:
    started, release = threading.Event(), threading.Event()
    calls: list[int] = []

    def refresh() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            started.set()
            assert release.wait(30)

    barrier = ReadBarrier(refresh)
    first = threading.Thread(target=barrier.wait_sync)
    first.start()
    assert started.wait(30)
    # A reader arriving while the first refresh runs must not be answered by it.
    second = threading.Thread(target=barrier.wait_sync)
    second.start()
    release.set()
    first.join(30)
    second.join(30)
    assert len(calls) == 2


def test_a_failed_refresh_fails_its_readers_and_the_next_one_retries() -> None:
    outcomes = [RuntimeError("store down"), None]

    def refresh() -> None:
        outcome = outcomes.pop(0)
        if outcome is not None:
            raise outcome

    barrier = ReadBarrier(refresh)
    with pytest.raises(RuntimeError, match="store down"):
        barrier.wait_sync()
    barrier.wait_sync()
    assert outcomes == []


def test_the_view_follows_a_rebuild_without_a_restart(ledger: Ledger) -> None:
    """A rebuild rewrites rows at the positions they had (the same log): a view that only
    reads rows past its position would keep what the projection said before forever.

    The projection is made wrong first (as a projection bug would: the revocation's row
    says active), the view loads that, and ``ledger rebuild``'s code puts it right.
    """
    demo: dict[str, Any] = build_demo(ledger)
    runner = ProjectionRunner(ledger)
    runner.catch_up()
    view = StatusView()
    lists = StatusListCache(ReadModels(runner))
    view.refresh(runner, on_change=lists.changed)
    target = demo["credentials"]["cohort"][0]
    issuer_id = demo["issuers"]["university"]
    list_number = _entries(runner)[target][0]
    with acting_as(admin(issuer_id, "alice@uni.example")):
        ledger.revoke_credential(target, reason="fraud")
    runner.catch_up()
    with runner.transaction(commit=True) as (_, cursor):
        cursor.execute(
            "UPDATE backpack_credentials SET state = 'active' WHERE credential_id = ?",
            (str(target),),
        )
    assert view.refresh(runner, on_change=lists.changed) == 1
    assert view.state(target, NOW) == "active"  # what the broken projection said
    assert lists.get(issuer_id, list_number, "revocation") is not None  # cached

    runner.rebuild(["backpack", "status"])  # what ``ledger rebuild`` runs

    assert ReadModels(runner).credential_status(target) == "revoked"
    view.refresh(runner, on_change=lists.changed)
    assert view.state(target, NOW) == "revoked"
    _assert_agrees(view, runner)
    assert lists.cached(issuer_id, list_number, "revocation") is None  # dropped
    assert lists.get(issuer_id, list_number, "revocation") == ReadModels(runner).status_list(
        issuer_id, list_number, "revocation"
    )
    assert view.refresh(runner) == 0  # and then idle again: nothing read twice

    # A rebuild that no longer shows a credential (its row is gone): unknown after it.
    gone = next(c for c in _entries(runner) if c != target)
    with runner.transaction(commit=True) as (_, cursor):
        cursor.execute("DELETE FROM backpack_credentials WHERE credential_id = ?", (str(gone),))
        cursor.execute(BUMP_REBUILD, ("backpack",))
    assert view.state(gone, NOW) is not None
    view.refresh(runner, on_change=lists.changed)
    assert view.state(gone, NOW) is None and view.entry(gone) is None
    assert view.state(target, NOW) == "revoked"
