"""Projections on both stores: content, rebuild, read-after-write, tampering, crashes."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ledger.projections.read_models import ReadModels
from ledger.projections.runner import ProjectionRunner, all_projections

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.cli.demo import build_demo
from ledger.errors import SignatureInvalid
from ledger.standards.bitstring_status_list import Bitstring
from tests.factories import admin, new_achievement, new_issuer
from tests.rawstore import RawEvents


@pytest.fixture
def demo(ledger: Ledger) -> dict[str, Any]:
    return build_demo(ledger)


def table_digests(runner: ProjectionRunner) -> dict[str, str]:
    """SHA-256 of every projection table's rows, in primary-key order."""
    digests = {}
    with runner.transaction(commit=False) as (_, cursor):
        for projection in runner.projections:
            for table in projection.tables:
                rows = cursor.rows(f"SELECT * FROM {table}")
                normalised = sorted(
                    repr(
                        tuple(
                            bytes(v).hex() if isinstance(v, bytes | memoryview) else v for v in row
                        )
                    )
                    for row in rows
                )
                digests[table] = hashlib.sha256("\n".join(normalised).encode()).hexdigest()
    return digests


def test_projections_show_the_demo_world(ledger: Ledger, demo: dict[str, Any]) -> None:
    runner = ProjectionRunner(ledger)
    runner.catch_up()
    views = ReadModels(runner)
    credentials = demo["credentials"]
    learner = ledger.learner_ids.of(demo["learners"][0])
    backpack = views.backpack(learner)
    assert {c.credential_id for c in backpack} == {
        str(credentials["cohort"][0]),
        str(credentials["badge"]),
        str(credentials["energy"]),
    }
    titles = {c.achievement["title"] for c in backpack}
    assert "Data Science Foundations" in titles and "Student Association Board Year" in titles

    amended = views.credential(credentials["amended"])
    assert amended is not None
    assert amended.amendments == 1 and amended.result == {"grade": "9"}
    assert [step["event"] for step in amended.history] == ["Issued", "Amended"]
    assert amended.history[1]["reason"] == "Grade corrected after review"

    reinstated = views.credential(credentials["suspended_and_reinstated"])
    assert reinstated is not None and reinstated.state == "active"
    assert views.credential(credentials["revoked"]).state == "revoked"  # type: ignore[union-attr]

    revoked_status = views.status(credentials["revoked"])
    assert revoked_status is not None and revoked_status.revoked and not revoked_status.suspended
    reinstated_status = views.status(credentials["suspended_and_reinstated"])
    assert reinstated_status is not None and not reinstated_status.suspended

    university = demo["issuers"]["university"]
    encoded, _ = views.status_list(university, revoked_status.list_number, "revocation")  # type: ignore[misc]
    published = Bitstring.decode(encoded)
    assert published.get(revoked_status.index)
    assert published.count() == 1
    assert len(published) == 131_072

    assert [c["live"] for c in views.consents(learner)] == [True]
    assert len(views.lookups(learner)) == 1
    assert len(views.share_links(learner)) == 1
    assert [c["state"] for c in views.claims_of(learner)] == ["approved"]

    college = demo["issuers"]["college"]
    register = views.exemption_register(college, programme="B Built Environment")
    assert sorted(c["state"] for c in register) == ["approved", "rejected"]
    assert [c["reason"] for c in views.exemption_register(college, state="rejected")] == [
        "Outcomes do not cover the module"
    ]

    trail = views.audit_trail("credential", str(credentials["revoked"]))
    assert [e["topic"] for e in trail] == ["ledger/Credential/Issued", "ledger/Credential/Revoked"]
    assert trail[1]["actor_subject"] == "alice@uni.example"
    assert trail[1]["reason"] == "Exam fraud established by the board of examiners"
    assert trail[1]["kid"].startswith("ed25519:")
    by_bob = views.audit_trail("actor", "bob@hs.example")
    assert {e["topic"].rsplit("/", 1)[1] for e in by_bob} >= {"Approved", "Rejected", "Issued"}
    assert len(views.audit_trail("issuer", str(university), limit=1000)) > 12
    assert len(views.audit_trail("learner", str(learner))) >= 5
    with pytest.raises(ValueError, match="per"):
        views.audit_trail("weather", "x")


def test_a_parallel_rebuild_verifies_first_and_gives_identical_bytes(
    ledger: Ledger, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.errors import TamperDetected
    from tests.rawstore import RawEvents

    runner = ProjectionRunner(ledger, batch_size=7)
    runner.catch_up()
    before = table_digests(runner)
    runner.rebuild(workers=2)
    assert table_digests(runner) == before

    # A tampered log is refused before anything is dropped.
    raw = RawEvents(ledger.store)
    raw.disable_guard()
    position, originator_id, version, _, state = raw.rows()[-1]
    raw.set_state(originator_id, version, state.replace(b'"', b"'", 1)[:-3] + b"AAA")
    with pytest.raises(TamperDetected, match=f"position {position}"):
        runner.rebuild(workers=2)
    assert table_digests(runner) == before
    raw.set_state(originator_id, version, state)

    # The replay applies only the bytes that were verified.
    # (a verifier that saw other bytes: the replay's Merkle root differs from its root)
    from ledger.projections.rebuild import Fingerprint

    verified = runner._verify_log(2)
    other = Fingerprint(verified.size, "0" * 64)
    monkeypatch.setattr(ProjectionRunner, "_verify_log", lambda self, workers, **_: other)
    with pytest.raises(TamperDetected, match="changed after it was verified"):
        runner.rebuild(workers=2)
    assert table_digests(runner) == before


def test_rebuild_gives_identical_bytes(ledger: Ledger, demo: dict[str, Any]) -> None:
    runner = ProjectionRunner(ledger, batch_size=7)
    runner.catch_up()
    before = table_digests(runner)
    runner.rebuild()
    assert table_digests(runner) == before
    runner.rebuild(["status"])
    assert table_digests(runner) == before
    with pytest.raises(KeyError):
        runner.rebuild(["nonsense"])


def _index_names(runner: ProjectionRunner) -> set[str]:
    if ledger_kind(runner) == "sqlite":
        rows = runner.query("SELECT name FROM sqlite_master WHERE type = 'index'")
    else:
        rows = runner.query("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()")
    return {str(row[0]) for row in rows}


def ledger_kind(runner: ProjectionRunner) -> str:
    return runner.ledger.store.kind


def test_a_rebuild_builds_the_secondary_indexes_after_the_load(
    ledger: Ledger, demo: dict[str, Any]
) -> None:
    runner = ProjectionRunner(ledger)
    runner.catch_up()
    declared = {
        statement.split(" IF NOT EXISTS ")[1].split()[0]
        for projection in runner.projections
        for statement in projection.ddl
        if statement.startswith("CREATE INDEX")
    }
    assert declared and declared <= _index_names(runner)
    before = table_digests(runner)
    runner.rebuild(workers=2)
    assert declared <= _index_names(runner)
    assert table_digests(runner) == before


def test_a_read_after_a_write_sees_it(ledger: Ledger) -> None:
    runner = ProjectionRunner(ledger)
    views = ReadModels(runner)
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    with acting_as(admin(issuer_id)):
        credential_id = ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="s")
        )
        ledger.revoke_credential(credential_id, reason="fraud")
    head = ledger.recorder.max_notification_id() or 0
    runner.catch_up()
    runner.wait(head, timeout=1)
    assert views.status(credential_id).revoked  # type: ignore[union-attr]
    assert runner.lag() == 0


def test_a_tampered_event_stops_the_projections(ledger: Ledger, demo: dict[str, Any]) -> None:
    runner = ProjectionRunner(ledger, batch_size=5)
    head = ledger.recorder.max_notification_id() or 0
    target = demo["credentials"]["revoked"]
    raw = RawEvents(ledger.store)
    raw.disable_guard()
    raw.set_state(target, 2, raw.state(target, 2).replace(b"Exam fraud", b"Exam praud"))
    with pytest.raises(SignatureInvalid, match=str(target)):
        runner.catch_up()
    positions = runner.positions()
    assert max(positions.values()) < head
    with pytest.raises(SignatureInvalid):
        runner.catch_up()
    assert runner.positions() == positions


def test_time_travel(ledger: Ledger) -> None:
    from ledger.audit.time_travel import backpack_at, credential_at, status_list_at

    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    with acting_as(admin(issuer_id)):
        credential_id = ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="t")
        )
        after_issue = ledger.recorder.max_notification_id() or 0
        moment = ledger.credential(credential_id).modified_on
        time.sleep(0.01)
        ledger.suspend_credential(credential_id, reason="check")
        after_suspend = ledger.recorder.max_notification_id() or 0
        ledger.revoke_credential(credential_id, reason="fraud")
    assert credential_at(ledger, credential_id, position=after_issue).status() == "active"  # type: ignore[union-attr]
    assert credential_at(ledger, credential_id, position=after_suspend).status() == "suspended"  # type: ignore[union-attr]
    assert credential_at(ledger, credential_id, at=moment).status() == "active"  # type: ignore[union-attr]
    assert credential_at(ledger, credential_id, position=after_issue - 1) is None
    assert ledger.credential(credential_id).status() == "revoked"

    runner = ProjectionRunner(ledger)
    runner.catch_up()
    views = ReadModels(runner)
    ids = views.credential_ids_of_learner(ledger.learner_ids.of("t"))
    assert ids == [credential_id]
    assert [c.status() for c in backpack_at(ledger, ids, position=after_suspend)] == ["suspended"]
    entry = views.status(credential_id)
    assert entry is not None
    then = status_list_at(ledger, ids, purpose="suspension", length=131_072, position=after_suspend)
    assert then.get(entry.index)
    before = status_list_at(ledger, ids, purpose="suspension", length=131_072, position=after_issue)
    assert before.count() == 0
    now_revoked = status_list_at(
        ledger, ids, purpose="revocation", length=131_072, position=after_suspend + 1
    )
    encoded, _ = views.status_list(issuer_id, entry.list_number, "revocation")  # type: ignore[misc]
    assert Bitstring.decode(encoded) == now_revoked
    # The two-bit message list of exports from context v2 on (revoked << 1 | suspended)
    # agrees between time travel and the served list, at every step.
    message_at = {
        p: status_list_at(ledger, ids, purpose="message", length=131_072, position=p)
        for p in (after_issue, after_suspend, after_suspend + 1)
    }
    assert message_at[after_issue].count() == 0
    assert message_at[after_suspend].get_status(entry.index, 2) == 1
    assert message_at[after_suspend + 1].get_status(entry.index, 2) == 3
    encoded_message, _ = views.status_list(issuer_id, entry.list_number, "message")  # type: ignore[misc]
    assert Bitstring.decode(encoded_message, status_size=2) == message_at[after_suspend + 1]


def test_every_projection_has_a_distinct_name() -> None:
    names = [p.name for p in all_projections()]
    assert len(names) == len(set(names)) == 6


def test_killed_projection_process_loses_and_repeats_nothing(
    store_url: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "LEDGER_ENV": "development",
        "LEDGER_STORE": store_url,
        "LEDGER_KEY_DIR": str(tmp_path / "keys"),
    }
    ledger_cmd = [sys.executable, "-m", "ledger.cli.main"]
    subprocess.run([*ledger_cmd, "init"], env=env, check=True, capture_output=True, timeout=60)
    from ledger.settings import Settings

    settings = Settings.from_env(env)
    ledger = Ledger(settings.store, key_store=settings.key_store())
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    with acting_as(admin(issuer_id)):
        for batch in range(4):
            ledger.issue_cohort(
                issuer_id,
                achievement_id,
                [CredentialOrder(learner_subject=f"k{batch}-{n}") for n in range(400)],
                request_id=f"crash-{batch}",
            )
    with acting_as(CLI_OPERATOR):
        build_demo(ledger)
    head = ledger.recorder.max_notification_id() or 0
    runner = ProjectionRunner(ledger)
    kills = 0
    for _ in range(3):
        process = subprocess.Popen(
            [*ledger_cmd, "project", "--batch-size", "40", "--interval", "0.05"],
            env=env,
            stderr=subprocess.DEVNULL,
        )
        start = min(runner.positions().values())
        deadline = time.monotonic() + 60
        while min(runner.positions().values()) <= start and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.05)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        kills += 1
        if min(runner.positions().values()) >= head:
            break
    assert kills >= 1
    runner.catch_up()
    assert min(runner.positions().values()) == head
    with runner.transaction(commit=False) as (_, cursor):
        audited = cursor.one(
            "SELECT COUNT(*) AS n, COUNT(DISTINCT position) AS d FROM audit_events"
        )
        issued = cursor.one("SELECT COUNT(*) FROM backpack_credentials")
        entries = cursor.one("SELECT COUNT(*) FROM status_entries")
    notifications = ledger.recorder.select_notifications(start=None, limit=head + 10)
    assert audited == (len(notifications), len(notifications))
    issued_events = sum(1 for n in notifications if n.topic == "ledger/Credential/Issued")
    assert issued == entries == (issued_events,)
    after_crashes = table_digests(runner)
    runner.rebuild()
    assert table_digests(runner) == after_crashes


@pytest.mark.postgres
def test_a_projection_process_follows_parallel_writers(
    postgres_schema: str, tmp_path: Path
) -> None:
    from tests.conftest import postgres_store_url

    store_url = postgres_store_url(postgres_schema)
    env = {
        **os.environ,
        "LEDGER_ENV": "development",
        "LEDGER_STORE": store_url,
        "LEDGER_KEY_DIR": str(tmp_path / "keys"),
    }
    subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", "init"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    from ledger.settings import Settings

    settings = Settings.from_env(env)
    ledger = Ledger(settings.store, key_store=settings.key_store())
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    projector_log = tmp_path / "projector.log"
    projector = subprocess.Popen(
        [sys.executable, "-m", "ledger.cli.main", "project", "--interval", "0.02"],
        env=env,
        stderr=projector_log.open("wb"),
    )
    script = (
        "import sys\n"
        "from uuid import UUID\n"
        "from ledger.application.actor import acting_as\n"
        "from ledger.application.ledger import CredentialOrder, Ledger\n"
        "from ledger.settings import Settings\n"
        "from tests.factories import admin\n"
        "s = Settings.from_env()\n"
        "l = Ledger(s.store, key_store=s.key_store())\n"
        "i, a = UUID(sys.argv[1]), UUID(sys.argv[2])\n"
        "with acting_as(admin(i)):\n"
        "    for n in range(30):\n"
        "        l.issue_credential(i, a, CredentialOrder(learner_subject=f'{sys.argv[3]}-{n}'))\n"
    )
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(issuer_id), str(achievement_id), f"w{w}"],
            env={**env, "PYTHONPATH": str(Path(__file__).parents[2])},
        )
        for w in range(2)
    ]
    try:
        for writer in writers:
            assert writer.wait(timeout=120) == 0
        head = ledger.recorder.max_notification_id() or 0
        runner = ProjectionRunner(ledger)
        deadline = time.monotonic() + 30
        while min(runner.positions().values()) < head and time.monotonic() < deadline:
            assert projector.poll() is None, projector_log.read_text()
            time.sleep(0.05)
        assert min(runner.positions().values()) == head, projector_log.read_text()
        views = ReadModels(runner)
        assert len(views.issued_by(issuer_id, limit=1000)) == 60
    finally:
        projector.send_signal(signal.SIGTERM)
        projector.wait(timeout=30)


def test_a_page_of_a_rare_state_is_full(ledger: Ledger) -> None:
    """A state filter pages in the database: a page of the few revoked (or expired)
    credentials among many holds ``limit`` of them, and the cursor reaches the rest."""
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    ends = datetime.now(UTC) + timedelta(days=30)
    with acting_as(admin(issuer_id)):
        issued = [
            ledger.issue_credential(
                issuer_id,
                achievement_id,
                CredentialOrder(learner_subject=f"p{n}", valid_until=ends if n < 2 else None),
            )
            for n in range(25)
        ]
        rare = sorted(issued, key=str)[-3:]
        for credential_id in rare:
            ledger.revoke_credential(credential_id, reason="fraud")
    runner = ProjectionRunner(ledger)
    runner.catch_up()
    views = ReadModels(runner)

    first = views.issued_by(issuer_id, state="revoked", limit=2)
    assert [c.credential_id for c in first] == [str(c) for c in sorted(rare, key=str)[:2]]
    rest = views.issued_by(issuer_id, state="revoked", after=first[-1].credential_id, limit=2)
    assert [c.credential_id for c in rest] == [str(sorted(rare, key=str)[2])]

    later = ends + timedelta(days=1)
    expiring = {str(c) for c in issued[:2]} - {str(c) for c in rare}
    expired = views.issued_by(issuer_id, state="expired", limit=25, now=later)
    assert {c.credential_id for c in expired} == expiring
    active_later = views.issued_by(issuer_id, state="active", limit=25, now=later)
    assert len(active_later) == 25 - len(rare) - len(expiring)
    assert not {c.credential_id for c in active_later} & expiring
    assert len(views.issued_by(issuer_id, state="active", limit=25)) == 25 - len(rare)
