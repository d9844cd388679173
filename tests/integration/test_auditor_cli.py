"""The auditor's command line as a real process on both stores: trails, time travel,
checkpoints with consistency proofs, inclusion proofs, and checkpoint counts that agree
between ``ledger export``, ``ledger verify --bundle`` and ``ledger verify``."""

from __future__ import annotations

import json
from pathlib import Path
from uuid import UUID

from ledger.eventlog.persistence import parse_store_url
from tests.integration.test_cli import run
from tests.integration.test_console_cli import Cli
from tests.rawstore import RawEvents


def test_trail_time_travel_checkpoints_and_proofs(store_url: str, tmp_path: Path) -> None:
    cli = Cli(store_url, tmp_path)
    cli("init")
    made = cli("demo")
    revoked = made["credentials"]["revoked"]
    cli("checkpoint")
    trail = cli("trail", "credential", revoked)
    assert [e["topic"] for e in trail] == ["ledger/Credential/Issued", "ledger/Credential/Revoked"]
    assert trail[1]["reason"]
    issued_at, revoked_at = trail[0]["position"], trail[1]["position"]
    before = cli("state-at", revoked, "--position", str(revoked_at - 1))
    assert before["status"] == "active" and len(before["events"]) == 1
    after = cli("state-at", revoked, "--position", str(revoked_at))
    assert after["status"] == "revoked"
    assert [e["topic"] for e in after["events"]] == [e["topic"] for e in trail]
    earlier = cli("state-at", revoked, "--position", str(issued_at - 1))
    assert earlier["existed"] is False
    by_time = cli("state-at", revoked, "--at", trail[0]["at"].replace("Z", "+00:00"))
    assert by_time["status"] == "active"
    text = run("state-at", revoked, "--position", str(revoked_at), cwd=tmp_path, env=cli.env)
    assert "revoked (version 2)" in text.stdout and "reason:" in text.stdout
    both = cli("state-at", revoked, ok=False)
    assert "exactly one" in both.stderr

    issuer = made["issuers"]["university"]
    assert any(e["topic"] == "ledger/Issuer/Registered" for e in cli("trail", "issuer", issuer))
    assert all(
        e["actor_subject"] == "alice@uni.example"
        for e in cli("trail", "actor", "alice@uni.example")
    )

    cli("institution", "register", "Extra", "--country", "NL")  # the log grows
    cli("checkpoint")
    checkpoints = cli("checkpoints")
    assert len(checkpoints) == 2
    assert checkpoints[1]["consistent_with_previous"] is True
    assert checkpoints[1]["consistency_proof"]
    proof = cli("proof", "inclusion", str(issued_at))
    assert proof["verified"] and proof["tree_size"] == checkpoints[1]["tree_size"]
    old = cli("proof", "inclusion", str(issued_at), "--size", str(checkpoints[0]["tree_size"]))
    assert old["root_hash"] == checkpoints[0]["root_hash"]
    beyond = cli("proof", "inclusion", "100000", ok=False)
    assert "no event at log position" in beyond.stderr

    # The same log: the same count everywhere, and the text says why nothing is counted twice.
    exported = cli("export", str(tmp_path / "audit.jsonl"))
    from_bundle = cli("verify", "--bundle", str(tmp_path / "audit.jsonl"), "--quiet")
    from_store = cli("verify", "--quiet")
    assert exported["checkpoints"] == exported["checkpoints_in_log"] == 2
    assert from_bundle["checkpoints"] == from_store["checkpoints"] == 2
    assert from_bundle["checkpoints_in_log"] == from_store["checkpoints_in_log"] == 2
    summary = run("verify", "--quiet", cwd=tmp_path, env=cli.env).stdout
    assert summary.startswith("Verified ")
    assert "2 distinct, 2 recorded in the log (also in the Merkle projection" in summary


def test_a_failed_verification_never_opens_with_verified(store_url: str, tmp_path: Path) -> None:
    cli = Cli(store_url, tmp_path)
    cli("init")
    made = cli("demo")
    raw = RawEvents(parse_store_url(store_url))
    raw.disable_guard()
    credential = UUID(made["credentials"]["revoked"])
    state = raw.state(credential, 2)
    raw.set_state(credential, 2, state.replace(b"Exam fraud", b"Exam frauD", 1))
    done = run("verify", "--quiet", cwd=tmp_path, env=cli.env)
    assert done.returncode == 1
    first_line = done.stdout.splitlines()[0]
    assert first_line.startswith("NOT VERIFIED") and not first_line.startswith("Verified")
    assert "FAILED at position" in done.stdout
    assert (
        json.loads(run("verify", "--quiet", "--json", cwd=tmp_path, env=cli.env).stdout)["ok"]
        is False
    )
