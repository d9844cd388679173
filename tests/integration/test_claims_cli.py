"""``ledger claims`` as a real process on both stores: the inbox with live evidence,
approve and reject with a reason, decided claims by state; no Python in between."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

from ledger.application.actor import acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.domain.achievement import AchievementSpec
from ledger.eventlog.signing_keys import FileKeyStore
from tests.factories import admin, learner, micro
from tests.integration.test_cli import run
from tests.integration.test_console_cli import Cli

LEARNER = "learner-anna@eduid.example"


def _claims(store_url: str, tmp_path: Path) -> tuple[str, str, str, str]:
    """An institution issuing one credential, and two claims at another one."""
    cli = Cli(store_url, tmp_path)
    cli("init")
    issuer_id = cli("institution", "register", "Uni", "--country", "NL", "--administrator", "a")[
        "issuer_id"
    ]
    school_id = cli("institution", "register", "School", "--country", "NL")["issuer_id"]
    ledger = Ledger(store_url, key_store=FileKeyStore(tmp_path / "keys"))
    try:
        with acting_as(admin(UUID(issuer_id), "a")):
            achievement = ledger.define_achievement(UUID(issuer_id), AchievementSpec.parse(micro()))
            credential = ledger.issue_credential(
                UUID(issuer_id), achievement, CredentialOrder(LEARNER)
            )
        with acting_as(learner(LEARNER)):
            claims = [
                ledger.submit_exemption_claim(
                    LEARNER,
                    institution_id=UUID(school_id),
                    programme=programme,
                    credential_ids=[credential],
                )
                for programme in ("MSc Data Science", "MSc Statistics")
            ]
    finally:
        ledger.close()
    return school_id, str(credential), str(claims[0]), str(claims[1])


def test_claims_inbox_from_the_command_line(store_url: str, tmp_path: Path) -> None:
    school_id, credential_id, first, second = _claims(store_url, tmp_path)
    cli = Cli(store_url, tmp_path)
    pending = cli("claims", "list", school_id)
    assert {c["claim_id"] for c in pending} == {first, second}
    evidence = pending[0]["evidence"][0]
    assert evidence["credential_id"] == credential_id
    assert evidence["state"] == "active"
    assert evidence["signatures"].startswith("verified")
    assert evidence["held_by_claimant"] is True

    approved = cli("claims", "approve", first, "--reason", "Matches the course")
    assert approved["state"] == "approved"
    assert approved["reason"] == "Matches the course"
    rejected = cli("claims", "reject", second, "--reason", "Too little")
    assert rejected["state"] == "rejected"
    assert [c["claim_id"] for c in cli("claims", "list", school_id, "--state", "approved")] == [
        first
    ]
    assert cli("claims", "list", school_id) == []
    again = cli("claims", "approve", second, "--reason", "changed my mind", ok=False)
    assert "only a pending claim" in again.stderr
    shown = run("claims", "show", second, cwd=tmp_path, env=cli.env)
    text = shown.stdout
    assert "MSc Statistics  rejected: Too little" in text
    assert "state active, signatures verified" in text
