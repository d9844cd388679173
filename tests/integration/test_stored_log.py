"""Stored data keeps working: a log written by the flat layout (before the subpackages)
still verifies, rebuilds to the same projections and takes new events.

The fixture (tests/fixtures/log-2026-12-01, see its README) is copied to a temporary
directory first and never modified: stored topics and canonical bytes must not depend
on where the code that wrote them lived.
"""

from __future__ import annotations

import hashlib
import io
import shutil
import sqlite3
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from ledger.projections.read_models import ReadModels
from ledger.projections.runner import ProjectionRunner

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import SHOWN_NAME, CredentialOrder, Ledger
from ledger.cli.main import main
from ledger.domain.achievement import upcast_spec_v1
from ledger.domain.learner import legacy_learner_id
from ledger.eventlog.signing_keys import FileKeyStore
from tests.factories import admin, learner

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "log-2026-12-01"
EVENTS = 44


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    """A private copy of the fixture log, store, bundle and keys."""
    copy = tmp_path / "log"
    shutil.copytree(FIXTURE, copy)
    return copy


def verify(*arguments: str) -> tuple[int, dict[str, Any]]:
    out = io.StringIO()
    with redirect_stdout(out):
        code = main([*arguments, "--json", "--workers", "1", "--quiet"])
    return code, orjson.loads(out.getvalue())


def store_url(stored: Path) -> str:
    return f"sqlite:///{stored / 'ledger.db'}"


def projection_digests(runner: ProjectionRunner) -> dict[str, str]:
    """SHA-256 of every projection table's rows, order-independent."""
    digests = {}
    with runner.transaction(commit=False) as (_, cursor):
        for projection in runner.projections:
            for table in projection.tables:
                rows = sorted(
                    repr(tuple(bytes(v).hex() if isinstance(v, bytes) else v for v in row))
                    for row in cursor.rows(f"SELECT * FROM {table}")
                )
                digests[table] = hashlib.sha256("\n".join(rows).encode()).hexdigest()
    return digests


def test_the_fixture_is_the_log_it_says() -> None:
    """The committed store holds the 44 events of its README, under stable topics only."""
    with sqlite3.connect(f"file:{FIXTURE / 'ledger.db'}?mode=ro", uri=True) as db:
        topics = [row[0] for row in db.execute("SELECT topic FROM stored_events")]
    assert len(topics) == EVENTS
    assert all(topic.startswith("ledger/") and topic.count("/") == 2 for topic in topics)
    assert len(list((FIXTURE / "keys").glob("*.pem"))) == 3


def test_the_old_store_and_bundle_verify(stored: Path) -> None:
    code, report = verify("--store", store_url(stored), "verify")
    assert code == 0, report
    assert report["events"] == EVENTS and report["ok"]
    code, report = verify(
        "--store", store_url(stored), "verify", "--bundle", str(stored / "bundle.jsonl")
    )
    assert code == 0, report
    assert report["events"] == EVENTS and report["ok"]


def test_a_rebuild_gives_the_same_projections(stored: Path) -> None:
    demo = orjson.loads((stored / "demo.json").read_bytes())
    with sqlite3.connect(stored / "ledger.db") as db:
        old_tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    ledger = Ledger(store_url(stored), key_store=FileKeyStore(stored / "keys"))
    try:
        runner = ProjectionRunner(ledger)
        written_by_old_code = {
            table: digest
            for table, digest in projection_digests(runner).items()
            if table in old_tables
        }
        assert len(written_by_old_code) >= 15
        runner.catch_up()  # projections added since the fixture was written catch up
        before_rebuild = projection_digests(runner)
        runner.rebuild()
        after_rebuild = projection_digests(runner)
        assert {t: before_rebuild[t] for t in written_by_old_code} == written_by_old_code
        changed = {t for t in after_rebuild if after_rebuild[t] != before_rebuild[t]}
        # The one intended difference: achievements are read as class version 2 now
        # (issue 14's upcaster), so their specs are the upcast of what the old code stored.
        assert changed <= {"backpack_achievements"}
        with runner.transaction(commit=False) as (_, cursor):
            rebuilt: dict[str, str] = dict(
                cursor.rows(
                    "SELECT achievement_id || '/' || revision, spec FROM backpack_achievements"
                )
            )
        with sqlite3.connect(FIXTURE / "ledger.db") as db:
            old = dict(
                db.execute(
                    "SELECT achievement_id || '/' || revision, spec FROM backpack_achievements"
                )
            )
        assert rebuilt.keys() == old.keys()
        for key, spec in old.items():
            upcast = upcast_spec_v1(orjson.loads(spec))
            assert orjson.loads(rebuilt[key]) == {**orjson.loads(rebuilt[key]), **upcast}
        views = ReadModels(runner)
        revoked = views.status(UUID(demo["credentials"]["revoked"]))
        assert revoked is not None and revoked.revoked
        amended = views.credential(UUID(demo["credentials"]["amended"]))
        assert amended is not None and amended.result == {"grade": "9"}
    finally:
        ledger.close()


def test_new_events_join_the_old_log(stored: Path) -> None:
    demo = orjson.loads((stored / "demo.json").read_bytes())
    university = UUID(demo["issuers"]["university"])
    ledger = Ledger(store_url(stored), key_store=FileKeyStore(stored / "keys"))
    try:
        with acting_as(admin(university, "alice@uni.example")):
            ledger.suspend_credential(UUID(demo["credentials"]["cohort"][5]), reason="inquiry")
            issued = ledger.issue_credential(
                university,
                UUID(demo["achievements"]["data_science"]),
                CredentialOrder(learner_subject="eduid-new-001", result={"grade": "7"}),
            )
        assert ledger.credential(issued).status() == "active"
        # A learner registered by the old code (subject in clear, no data key) shares
        # with their name: the name is sealed under a key made for them now.
        subject = demo["learners"][0]
        learner_id = legacy_learner_id(subject)
        (old_link,) = ledger.learner(learner_id).share_links.values()
        assert old_link.sealed_name is None  # made before the choice existed
        with acting_as(learner(subject)):
            link_id, _ = ledger.create_share_link(
                subject, credential_ids=[UUID(demo["credentials"]["cohort"][0])], shown_name="Eva"
            )
        sealed = ledger.learner(learner_id).share_links[link_id].sealed_name
        assert sealed and "Eva" not in sealed
        assert ledger.data_keys.opened(learner_id, sealed, field=SHOWN_NAME) == "Eva"
        runner = ProjectionRunner(ledger)
        runner.catch_up()
        assert (
            ReadModels(runner).credential_status(UUID(demo["credentials"]["cohort"][5]))
            == "suspended"
        )
        shows = {
            link["link_id"]: link["shows_name"]
            for link in ReadModels(runner).share_links(learner_id)
        }
        assert shows == {str(old_link.link_id): False, str(link_id): True}
    finally:
        ledger.close()
    code, report = verify("--store", store_url(stored), "verify")
    assert code == 0, report
    assert report["events"] > EVENTS and report["ok"]
    assert (FIXTURE / "ledger.db").read_bytes() != (stored / "ledger.db").read_bytes()


def test_the_old_logs_learners_keep_their_ids(stored: Path) -> None:
    """Learner ids in a log cannot be rewritten: the fixture's learners (one with a record
    of their own, eleven who only hold credentials) keep their unkeyed ids."""
    demo = orjson.loads((stored / "demo.json").read_bytes())
    ledger = Ledger(store_url(stored), key_store=FileKeyStore(stored / "keys"))
    try:
        subjects: list[str] = demo["learners"]
        assert ledger.learner_ids.of_many(subjects) == [legacy_learner_id(s) for s in subjects]
        runner = ProjectionRunner(ledger)
        runner.catch_up()
        views = ReadModels(runner)
        cohort = {str(UUID(c)) for c in demo["credentials"]["cohort"]}
        held = {c.credential_id for s in subjects for c in views.backpack(ledger.learner_ids.of(s))}
        assert cohort <= held
        first = legacy_learner_id(subjects[0])
        with acting_as(learner(subjects[0])):
            assert ledger.learner_subject(first) == subjects[0]
        with acting_as(CLI_OPERATOR):
            ledger.erase_learner(first, reason="the learner asked")
        assert ledger.learner(first).erased and ledger.data_keys.key(first) is None
        # A subject the old log never named gets a keyed id.
        assert ledger.learner_ids.of("eduid-new-001").version == 8
    finally:
        ledger.close()
