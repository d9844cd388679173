"""``ledger verify`` and audit bundles, against real tampering of real stores.

Each attack works on a real SQLite file or PostgreSQL schema with raw SQL, after
disabling the append-only guard as an attacker with database access would, and
then runs ``ledger verify`` as an auditor would. Each must be caught, naming the
first event that fails.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from ledger.projections import runner as runner_module
from ledger.projections.merkle_log import MerkleLogView
from ledger.projections.rebuild import Background
from ledger.projections.runner import ProjectionRunner

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.audit.log_sources import BundleSource, StoreSource, load_chunk
from ledger.audit.log_verifier import Verifier
from ledger.cli.main import main
from ledger.domain.base import LedgerAggregate, utcnow
from ledger.domain.credential import Amendment
from ledger.eventlog.canonical_json import format_datetime, loads, parse_datetime
from ledger.eventlog.envelope import open_stored, pack, signed_bytes_for
from ledger.eventlog.signing_keys import MemoryKeyStore, key_id
from ledger.transparency.checkpoint_publisher import CheckpointPolicy, CheckpointPublisher
from tests.factories import admin, new_achievement, new_issuer
from tests.rawstore import RawEvents


@dataclass
class World:
    ledger: Ledger
    issuer: UUID
    other_issuer: UUID
    credentials: list[UUID]
    first_checkpoint: int
    second_checkpoint: int


def issue(ledger: Ledger, issuer: UUID, achievement: UUID, count: int, tag: str) -> list[UUID]:
    with acting_as(admin(issuer)):
        return [
            ledger.issue_credential(
                issuer,
                achievement,
                CredentialOrder(learner_subject=f"{tag}{n}", result={"grade": "8"}),
            )
            for n in range(count)
        ]


def publish(ledger: Ledger) -> int:
    published = CheckpointPublisher(
        ProjectionRunner(ledger), CheckpointPolicy(origin="test.example/ledger")
    ).publish()
    assert published is not None
    return published.tree_size


@pytest.fixture
def world(ledger: Ledger) -> World:
    """Two issuers, credentials with amendments, two checkpoints, a tail after them."""
    issuer = new_issuer(ledger)
    other = new_issuer(ledger, "Hogeschool Ander", subject="admin@other.example")
    achievement = new_achievement(ledger, issuer)
    credentials = issue(ledger, issuer, achievement, 6, "a")
    with acting_as(admin(issuer)):
        ledger.amend_credential(credentials[0], Amendment(result={"grade": "9"}), reason="regraded")
    first = publish(ledger)
    credentials += issue(ledger, issuer, achievement, 6, "b")
    with acting_as(admin(issuer)):
        ledger.suspend_credential(credentials[1], reason="inquiry")
    second = publish(ledger)
    credentials += issue(ledger, issuer, achievement, 2, "c")
    return World(ledger, issuer, other, credentials, first, second)


def verify(ledger: Ledger, *extra: str) -> tuple[int, dict[str, Any]]:
    """Run ``ledger verify --json`` in process; returns the exit code and the report."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--store", ledger.store.url, "verify", "--json", "--workers", "1", *extra])
    return code, orjson.loads(out.getvalue())


def tamper(world: World) -> RawEvents:
    raw = RawEvents(world.ledger.store)
    raw.disable_guard()
    return raw


def row_of(raw: RawEvents, credential: UUID, version: int) -> tuple[int, UUID, int, str, bytes]:
    return next(r for r in raw.rows() if r[1] == credential and r[2] == version)


def first_failure(report: dict[str, Any]) -> tuple[int, str]:
    assert report["ok"] is False
    first = report["first_problem"]
    return first["position"], first["kind"]


def test_an_untouched_log_verifies(world: World) -> None:
    code, report = verify(world.ledger)
    assert code == 0, report
    assert report["ok"] is True
    assert report["events"] == len(RawEvents(world.ledger.store).rows())
    # Two in the log, the same two served by the projection: each counted once (issue 12).
    assert report["checkpoints"] == report["checkpoints_in_log"] >= 2
    assert report["checkpoint_sources"] == ["the Merkle projection"]
    assert report["operator_kid"] == world.ledger.operator_kid


def test_an_edited_payload_is_caught(world: World) -> None:
    raw = tamper(world)
    position, credential, version, _, state = row_of(raw, world.credentials[2], 1)
    raw.set_state(credential, version, state.replace(b'"grade":"8"', b'"grade":"10"', 1))
    code, report = verify(world.ledger)
    assert code == 1
    assert first_failure(report) == (position, "signature-invalid")
    assert str(credential) in report["first_problem"]["message"]


def test_an_edited_timestamp_is_caught(world: World) -> None:
    raw = tamper(world)
    position, credential, version, _, state = row_of(raw, world.credentials[3], 1)
    sealed = open_stored(
        topic="ledger/Credential/Issued",
        originator_id=credential,
        originator_version=1,
        state=state,
    )
    edited = state.replace(sealed.timestamp.encode(), b"2020-01-01T00:00:00.000000Z", 1)
    assert edited != state
    raw.set_state(credential, version, edited)
    code, report = verify(world.ledger)
    assert code == 1
    assert first_failure(report) == (position, "signature-invalid")


def test_a_removed_last_event_is_caught_by_the_checkpoint(world: World) -> None:
    raw = tamper(world)
    # The amendment is the credential's last event: no later link names it, only the
    # first checkpoint's tree holds it.
    amendment = row_of(raw, world.credentials[0], 2)
    raw.delete(world.credentials[0], 2)
    code, report = verify(world.ledger)
    assert code == 1
    assert amendment[0] <= world.first_checkpoint
    checkpoint_events = [r[0] for r in raw.rows() if r[3] == "ledger/LogCheckpoints/Published"]
    assert first_failure(report) == (checkpoint_events[0], "checkpoint-mismatch")
    assert f"first {world.first_checkpoint} events" in report["first_problem"]["message"]


def test_a_removed_event_in_the_middle_of_a_chain_is_caught(world: World) -> None:
    raw = tamper(world)
    credential = world.credentials[1]  # issued, then suspended
    issued = row_of(raw, credential, 1)
    suspended = row_of(raw, credential, 2)
    raw.delete(credential, 1)
    code, report = verify(world.ledger)
    assert code == 1
    problems = {(p["position"], p["kind"]) for p in report["problems"]}
    assert (suspended[0], "chain-broken") in problems
    # The first checkpoint covered the removed issuance: its event fails first.
    assert issued[0] <= world.first_checkpoint
    assert first_failure(report)[1] == "checkpoint-mismatch"


def test_a_reordered_pair_is_caught(world: World) -> None:
    raw = tamper(world)
    rows = raw.rows()
    # Two issuances of different credentials inside the first checkpoint.
    issued = [r for r in rows if r[3] == "ledger/Credential/Issued"][:4]
    raw.swap(issued[2][0], issued[3][0])
    code, report = verify(world.ledger)
    assert code == 1
    assert first_failure(report)[1] == "checkpoint-mismatch"
    assert f"first {world.first_checkpoint} events" in report["first_problem"]["message"]


def test_an_inserted_forged_event_is_caught(world: World) -> None:
    raw = tamper(world)
    forger = Ed25519PrivateKey.generate()
    victim = world.credentials[-1]
    last = row_of(raw, victim, 1)
    genuine = open_stored(topic=last[3], originator_id=victim, originator_version=1, state=last[4])
    signed = signed_bytes_for(
        topic="ledger/Credential/Revoked",
        originator_id=victim,
        originator_version=2,
        actor=genuine.seal.actor,
        kid=key_id(forger.public_key()),
        prev=genuine.seal.digest,
        state={"class_version": 1, "reason": "forged", "timestamp": format_datetime(utcnow())},
    )
    raw.insert(victim, 2, "ledger/Credential/Revoked", pack(signed, forger.sign(signed)))
    code, report = verify(world.ledger)
    assert code == 1
    position, kind = first_failure(report)
    assert kind == "unknown-key"
    assert position == raw.rows()[-1][0]


def test_an_event_resigned_with_another_key_is_caught(world: World) -> None:
    ledger = world.ledger
    other_kid = ledger.keyring.active_key(str(world.other_issuer)).kid  # type: ignore[union-attr]
    other_key = ledger.key_store.private_key(other_kid)
    raw = tamper(world)
    credential = world.credentials[-1]  # after the last checkpoint: only the signer check sees it
    position, _, _, topic, state = row_of(raw, credential, 1)
    sealed = open_stored(topic=topic, originator_id=credential, originator_version=1, state=state)
    signed = signed_bytes_for(
        topic=topic,
        originator_id=credential,
        originator_version=1,
        actor=sealed.seal.actor,
        kid=other_kid,
        prev=sealed.seal.prev,
        state=sealed.state,
    )
    raw.set_state(credential, 1, pack(signed, other_key.sign(signed)))
    code, report = verify(ledger)
    assert code == 1
    assert first_failure(report) == (position, "wrong-signer")


def test_a_truncated_tail_after_a_checkpoint_is_caught(world: World) -> None:
    raw = tamper(world)
    # Cut the log back to before the second checkpoint's size, its own event included.
    keep = raw.rows()[world.second_checkpoint - 3][0]
    raw.delete_after(keep)
    code, report = verify(world.ledger)
    assert code == 1
    messages = " ".join(p["message"] for p in report["problems"])
    assert "removed from its tail" in messages
    assert f"commits to {world.second_checkpoint} events" in messages


def test_a_log_rolled_back_between_two_checkpoints_is_caught(world: World) -> None:
    raw = tamper(world)
    rows = raw.rows()
    checkpoint_events = [r[0] for r in rows if r[3] == "ledger/LogCheckpoints/Published"]
    first_event, second_event = checkpoint_events[:2]
    # Everything recorded between the two checkpoints disappears; the rest stays.
    for position, *_ in rows:
        if first_event < position < second_event:
            raw.delete_at(position)
    code, report = verify(world.ledger)
    assert code == 1
    kinds = {p["kind"] for p in report["problems"]}
    assert "checkpoint-mismatch" in kinds
    assert any(
        f"commits to {world.second_checkpoint} events" in p["message"] for p in report["problems"]
    )


def test_a_rewritten_merkle_projection_is_caught(world: World) -> None:
    raw = RawEvents(world.ledger.store)
    forged = hashlib.sha256(b"forged").digest()
    raw.projection_execute(
        "UPDATE merkle_nodes SET hash = ? WHERE (idx << level) >= ?",
        (forged, world.first_checkpoint),
    )
    code, report = verify(world.ledger)
    assert code == 1
    assert "Merkle projection's tree" in report["first_problem"]["message"]


def test_a_key_marked_compromised_invalidates_what_it_signed_after(world: World) -> None:
    ledger = world.ledger
    kid = ledger.keyring.active_key(str(world.issuer)).kid  # type: ignore[union-attr]
    raw = RawEvents(ledger.store)
    last_issued = row_of(raw, world.credentials[-1], 1)
    sealed = open_stored(
        topic=last_issued[3],
        originator_id=last_issued[1],
        originator_version=1,
        state=last_issued[4],
    )

    with acting_as(CLI_OPERATOR):
        ledger.mark_key_compromised(kid, since=parse_datetime(sealed.timestamp), reason="leaked")
    code, report = verify(ledger)
    assert code == 1
    assert first_failure(report) == (last_issued[0], "key-not-valid")


def test_a_kept_checkpoint_catches_what_the_store_no_longer_shows(
    world: World, tmp_path: Path
) -> None:
    note = tmp_path / "kept.note"
    with ProjectionRunner(world.ledger).transaction(commit=False) as (_, cursor):
        kept = MerkleLogView(cursor).latest_checkpoint()
    assert kept is not None
    note.write_text(kept.note, encoding="utf-8")
    raw = tamper(world)
    # The attacker removes the tail and every record of the checkpoints that covered it.
    raw.delete_after(raw.rows()[world.first_checkpoint][0])
    raw.projection_execute(
        "DELETE FROM merkle_checkpoints WHERE tree_size > ?", (world.first_checkpoint,)
    )
    raw.projection_execute(
        "DELETE FROM merkle_leaves WHERE leaf_index >= ?", (world.first_checkpoint,)
    )
    raw.projection_execute(
        "DELETE FROM merkle_nodes WHERE ((idx + 1) << level) > ?", (world.first_checkpoint,)
    )
    # Without the auditor's copy the shorter log is consistent in itself; the read side,
    # which the attacker left alone, still remembers credentials the log lost.
    code, report = verify(world.ledger)
    assert report["first_problem"] is None
    assert code == 1 and report["read_side_disagreements"]
    code, report = verify(world.ledger, "--checkpoint", str(note))
    assert code == 1
    assert "removed from its tail" in report["first_problem"]["message"]


def test_workers_in_parallel_find_the_same_as_one(world: World) -> None:
    source = StoreSource(world.ledger.store, chunk_size=7)
    try:
        report = Verifier(source, workers=2).run()
    finally:
        source.close()
    assert report.ok, report.problems
    assert report.workers == 2
    raw = tamper(world)
    position, credential, version, _, state = row_of(raw, world.credentials[4], 1)
    raw.set_state(credential, version, state.replace(b'"grade":"8"', b'"grade":"1"', 1))
    source = StoreSource(world.ledger.store, chunk_size=7)
    try:
        report = Verifier(source, workers=2).run()
    finally:
        source.close()
    assert report.first_problem is not None
    assert (report.first_problem.position, report.first_problem.kind) == (
        position,
        "signature-invalid",
    )


# -- bundles -------------------------------------------------------------------


def export(world: World, path: Path) -> None:
    assert main(["--store", world.ledger.store.url, "export", str(path)]) == 0


def verify_bundle_elsewhere(path: Path, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``ledger verify --bundle`` in a new process with no store, no keys, another directory."""
    elsewhere = tmp_path / "auditor"
    elsewhere.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "ledger.cli.main",
            "verify",
            "--json",
            "--bundle",
            str(path),
            "--workers",
            "2",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_a_bundle_verifies_on_a_clean_machine(world: World, tmp_path: Path) -> None:
    bundle = tmp_path / "audit.jsonl"
    export(world, bundle)
    lines = bundle.read_bytes().splitlines()
    header = orjson.loads(lines[0])
    assert header["bundle"] == "ledger-audit-bundle/1"
    assert header["canonical_bytes"] == "ledger-event/1"
    kinds = [orjson.loads(line)["type"] for line in lines[1:]]
    assert kinds.count("event") == len(RawEvents(world.ledger.store).rows())
    assert kinds.count("checkpoint") == 2
    assert "key" in kinds
    done = verify_bundle_elsewhere(bundle, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    report = orjson.loads(done.stdout)
    assert report["ok"] is True
    assert report["events"] == kinds.count("event")
    assert not (tmp_path / "auditor" / "ledger.db").exists()


def test_every_event_line_carries_signature_and_chain(world: World, tmp_path: Path) -> None:
    bundle = tmp_path / "audit.jsonl"
    export(world, bundle)
    events = [orjson.loads(line) for line in bundle.read_bytes().splitlines()[1:]]
    events = [e for e in events if e["type"] == "event"]
    for event in events:
        signed = event["signed"].encode()
        assert hashlib.sha256(signed).hexdigest() == event["hash"]
        assert loads(signed)["prev"] == event["prev"]
        assert event["kid"].startswith("ed25519:") and event["signature"]


@pytest.mark.parametrize("attack", ["edit", "drop", "reorder", "truncate", "keys"])
def test_a_tampered_bundle_fails(world: World, tmp_path: Path, attack: str) -> None:
    bundle = tmp_path / "audit.jsonl"
    export(world, bundle)
    lines = bundle.read_bytes().splitlines(keepends=True)
    event_at = [i for i, line in enumerate(lines) if line.startswith(b'{"type":"event"')]
    if attack == "edit":
        i = event_at[len(event_at) // 2]
        item = orjson.loads(lines[i])
        item["signed"] = item["signed"].replace("2026", "2025", 1).replace("2027", "2025", 1)
        if '"grade":"8"' in item["signed"]:
            item["signed"] = item["signed"].replace('"grade":"8"', '"grade":"9"')
        lines[i] = orjson.dumps(item) + b"\n"
    elif attack == "drop":
        del lines[event_at[5]]
    elif attack == "reorder":
        i, j = event_at[6], event_at[7]
        lines[i], lines[j] = lines[j], lines[i]
    elif attack == "truncate":
        lines = [
            line for k, line in enumerate(lines) if k not in event_at[world.first_checkpoint :]
        ]
    else:
        key_lines = [i for i, line in enumerate(lines) if line.startswith(b'{"type":"key"')]
        del lines[key_lines[-1]]
    bundle.write_bytes(b"".join(lines))
    done = verify_bundle_elsewhere(bundle, tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    report = orjson.loads(done.stdout)
    assert report["ok"] is False
    assert report["first_problem"]["kind"]


def test_a_bundle_reads_back_the_rows_of_the_store(world: World, tmp_path: Path) -> None:
    bundle = tmp_path / "audit.jsonl"
    export(world, bundle)
    source = BundleSource(bundle)
    rows = [row for chunk in source.chunks() for row in load_chunk(chunk)]
    assert rows == RawEvents(world.ledger.store).rows()


def test_a_store_that_was_never_initialised_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    Ledger(empty, key_store=MemoryKeyStore()).close()
    code = main(["--store", empty, "verify", "--workers", "1", "--quiet"])
    assert code == 1
    assert "never initialised" in capsys.readouterr().out


def test_verifying_changes_nothing_in_the_store(world: World) -> None:
    raw = RawEvents(world.ledger.store)
    before = raw.rows()
    verify(world.ledger)
    assert raw.rows() == before


# -- checkpoints -----------------------------------------------------------------


def test_ledger_project_publishes_checkpoints_by_policy(
    world: World, monkeypatch: pytest.MonkeyPatch, key_store: Any
) -> None:
    # Two credentials follow the second checkpoint (status entries come from a block
    # reserved before it, so no issuer event follows them).
    monkeypatch.setenv("LEDGER_CHECKPOINT_EVERY", "2")
    monkeypatch.setenv("LEDGER_ENV", "development")  # unset, PostgreSQL means production
    monkeypatch.setenv("LEDGER_KEY_DIR", str(key_store.directory))
    before = world.ledger.checkpoint_log()
    assert before is not None and before.count == 2
    assert main(["--store", world.ledger.store.url, "project", "--once"]) == 0
    after = world.ledger.checkpoint_log()
    assert after is not None and after.count == 3
    assert after.tree_size > world.second_checkpoint
    # Nothing new since: no further checkpoint.
    assert main(["--store", world.ledger.store.url, "project", "--once"]) == 0
    assert world.ledger.checkpoint_log().count == 3  # type: ignore[union-attr]


def test_a_checkpoint_that_disagrees_with_the_tree_stops_the_projection(world: World) -> None:
    from ledger.errors import CheckpointMismatch, InvalidTransition

    runner = ProjectionRunner(world.ledger)
    runner.catch_up()
    size = world.second_checkpoint + 3
    with acting_as(CLI_OPERATOR):
        with pytest.raises(InvalidTransition):
            world.ledger.record_checkpoint(
                tree_size=world.first_checkpoint,
                root_hash="0" * 64,
                checkpoint_time=utcnow(),
                note="x",
            )
        world.ledger.record_checkpoint(
            tree_size=size, root_hash="ab" * 32, checkpoint_time=utcnow(), note="forged\n"
        )
    with pytest.raises(CheckpointMismatch, match="not the checkpoint's root"):
        runner.catch_up()
    code, report = verify(world.ledger)
    assert code == 1
    assert first_failure(report)[1] == "checkpoint-mismatch"


def test_creation_authorities_are_the_records_signing_authorities(tmp_path: Path) -> None:
    """Verification reads authority from creation events; it must agree with replay."""
    from eventsourcing.utils import resolve_topic

    from ledger.audit.verify_batches import authorities_undecoded
    from ledger.cli.demo import build_demo
    from ledger.eventlog.envelope import open_row
    from ledger.eventlog.signing_keys import FileKeyStore

    ledger = Ledger(f"sqlite:///{tmp_path / 'demo.db'}", key_store=FileKeyStore(tmp_path / "k"))
    with acting_as(CLI_OPERATOR):
        ledger.establish()
    build_demo(ledger)
    publish(ledger)
    seen: set[str] = set()
    for notification in ledger.recorder.select_notifications(start=None, limit=100_000):
        if notification.originator_version != 1:
            continue
        created = ledger.mapper.to_domain_event(notification)
        aggregate_class = resolve_topic(created.originator_topic)  # type: ignore[attr-defined]
        aggregate: LedgerAggregate = ledger.repository.get(UUID(str(notification.originator_id)))
        assert aggregate_class.creation_authorities(created) == aggregate.signing_authorities()
        # What a rebuild's verifier reads without decoding the event (decode=False).
        sealed = open_row(notification)
        assert authorities_undecoded(sealed) == aggregate.signing_authorities()
        seen.add(aggregate_class.__name__)
    assert {
        "Issuer",
        "Achievement",
        "Credential",
        "Learner",
        "ExemptionClaim",
        "KeyRegistry",
    } <= seen
    ledger.close()


def test_unreadable_and_malformed_inputs_fail_cleanly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "missing.jsonl"
    assert main(["verify", "--bundle", str(missing), "--quiet"]) == 2
    assert "No such file" in capsys.readouterr().err
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(b"not json\n")
    assert main(["verify", "--bundle", str(garbage), "--quiet"]) == 1
    assert "not JSON" in capsys.readouterr().err
    never_initialised = f"sqlite:///{tmp_path / 'none.db'}"
    assert main(["--store", never_initialised, "export", str(tmp_path / "b.jsonl")]) == 1
    assert "ledger init" in capsys.readouterr().err
    store = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = Ledger(store, key_store=MemoryKeyStore())
    with acting_as(CLI_OPERATOR):
        ledger.establish()
    assert main(["--store", store, "export", str(tmp_path / "no-dir" / "b.jsonl")]) == 2
    assert "No such file" in capsys.readouterr().err
    assert not (tmp_path / "no-dir").exists()
    ledger.close()


# -- trusting the newest checkpoint (what a rebuild does; verify never does) ---------------


def verify_trusting(world: World, workers: int = 1) -> Any:
    source = StoreSource(world.ledger.store)
    try:
        return Verifier(source, workers=workers, trust_checkpoint=True).run()
    finally:
        source.close()


def test_trusting_the_newest_checkpoint_skips_exactly_the_signatures_it_covers(
    world: World,
) -> None:
    report = verify_trusting(world)
    assert report.ok, report.first_problem
    assert report.trusted_tree_size == world.second_checkpoint
    assert report.trusted_events == world.second_checkpoint
    assert report.events > world.second_checkpoint
    # A full verification (ledger verify) trusts nothing.
    code, full = verify(world.ledger)
    assert code == 0
    assert full["trusted_events"] == 0


def test_an_edited_payload_under_the_trusted_checkpoint_is_caught_by_its_root(
    world: World,
) -> None:
    raw = tamper(world)
    position, credential, version, _, state = row_of(raw, world.credentials[2], 1)
    raw.set_state(credential, version, state.replace(b'"grade":"8"', b'"grade":"10"', 1))
    report = verify_trusting(world, workers=2)
    assert not report.ok
    kinds = {problem.kind for problem in report.problems}
    assert "checkpoint-mismatch" in kinds
    assert report.trusted_events == 0  # the trust was refused, not granted
    # Its signature was not what caught it; the full verification names it as before.
    assert not any(
        p.position == position for p in report.problems if p.kind != "checkpoint-mismatch"
    )
    _, full = verify(world.ledger)
    assert first_failure(full) == (position, "signature-invalid")


def test_an_edited_payload_after_the_trusted_checkpoint_fails_its_signature(
    world: World,
) -> None:
    raw = tamper(world)
    position, credential, version, _, state = row_of(raw, world.credentials[-1], 1)
    raw.set_state(credential, version, state.replace(b'"grade":"8"', b'"grade":"10"', 1))
    report = verify_trusting(world)
    assert report.first_problem is not None
    assert (report.first_problem.position, report.first_problem.kind) == (
        position,
        "signature-invalid",
    )


def test_an_event_removed_under_the_trusted_checkpoint_breaks_the_trust(world: World) -> None:
    raw = tamper(world)
    # The count under the cutoff no longer equals the checkpoint's size, nor the root.
    _, credential, version, _, _ = row_of(raw, world.credentials[3], 1)
    raw.execute(
        "DELETE FROM {table} WHERE originator_id=? AND originator_version=?",
        (raw._id(credential), version),
    )
    report = verify_trusting(world)
    assert not report.ok
    assert "checkpoint-mismatch" in {problem.kind for problem in report.problems}
    assert report.trusted_events == 0


def test_a_rebuild_trusts_the_checkpoint_and_a_full_rebuild_does_not(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ledger.errors import TamperDetected

    runner = ProjectionRunner(world.ledger)
    runner.catch_up()
    seen: list[bool] = []
    verify_log = ProjectionRunner._verify_log

    def recording(self: ProjectionRunner, workers: int, **options: Any) -> Any:
        seen.append(options["trust_checkpoint"])
        return verify_log(self, workers, **options)

    monkeypatch.setattr(ProjectionRunner, "_verify_log", recording)
    # The verification runs in this process, so that ``seen`` sees it.
    monkeypatch.setattr(runner_module, "in_background", lambda work: Background(work, fork=False))
    runner.rebuild(workers=2)
    runner.rebuild(workers=2, full=True)
    assert seen == [True, False]
    raw = tamper(world)
    _, credential, version, _, state = row_of(raw, world.credentials[2], 1)
    raw.set_state(credential, version, state.replace(b'"grade":"8"', b'"grade":"10"', 1))
    with pytest.raises(TamperDetected, match="checkpoint"):
        runner.rebuild(workers=2)
