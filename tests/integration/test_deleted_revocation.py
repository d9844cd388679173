"""The reported attack: delete a ``Revoked`` event with raw SQL, then rebuild (issue 10, item 2).

A rebuild with one worker, or of a small log, used to replay without verifying:
the revocation bit cleared and the check route said "verified". Now every rebuild
verifies the whole log first (checkpoints included), writes on a record whose
history was cut are refused, and ``ledger verify`` compares the read side with the log.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from ledger.projections.read_models import ReadModels
from ledger.projections.recorded_history import RecordedHistory
from ledger.projections.runner import ProjectionRunner

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.errors import TamperDetected
from ledger.eventlog.signing_keys import FileKeyStore
from ledger.transparency.checkpoint_publisher import CheckpointPolicy, CheckpointPublisher
from tests.factories import admin, new_achievement, new_issuer
from tests.rawstore import RawEvents


def _revoked_credential(ledger: Ledger) -> tuple[UUID, UUID]:
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    with acting_as(admin(issuer_id)):
        credential_id = ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="victim")
        )
        ledger.revoke_credential(credential_id, reason="fraud")
    return issuer_id, credential_id


def _delete_revocation(ledger: Ledger, credential_id: UUID) -> None:
    raw = RawEvents(ledger.store)
    raw.disable_guard()
    (revoked,) = [
        r for r in raw.rows() if r[1] == credential_id and r[3] == "ledger/Credential/Revoked"
    ]
    raw.delete(credential_id, revoked[2])


@pytest.mark.parametrize("checkpointed", [True, False], ids=["checkpointed", "projected-only"])
def test_a_rebuild_with_one_worker_refuses_a_log_without_its_revocation(
    ledger: Ledger, checkpointed: bool
) -> None:
    _, credential_id = _revoked_credential(ledger)
    runner = ProjectionRunner(ledger)
    runner.catch_up()
    if checkpointed:
        with acting_as(CLI_OPERATOR):
            assert CheckpointPublisher(
                runner, CheckpointPolicy(origin="ledger.test/ledger", every=1, seconds=1)
            ).publish()
        runner.catch_up()
    views = ReadModels(runner)
    assert views.credential_status(credential_id) == "revoked"
    _delete_revocation(ledger, credential_id)
    with pytest.raises(TamperDetected):
        runner.rebuild(workers=1)
    with pytest.raises(TamperDetected):
        runner.rebuild(["status"], workers=1)
    assert views.credential_status(credential_id) == "revoked"


def test_a_write_on_a_record_whose_history_was_cut_is_refused(
    ledger: Ledger, store_url: str, key_store: FileKeyStore
) -> None:
    issuer_id, credential_id = _revoked_credential(ledger)
    runner = ProjectionRunner(ledger)
    runner.catch_up()
    _delete_revocation(ledger, credential_id)
    # A fresh process loads the credential as it was before the revocation.
    fresh = Ledger(store_url, key_store=key_store)
    try:
        fresh.history_check = RecordedHistory(ProjectionRunner(fresh)).check
        with acting_as(admin(issuer_id)), pytest.raises(TamperDetected, match="lost its events"):
            fresh.suspend_credential(credential_id, reason="as if nothing happened")
        # Records whose history is whole are written as usual.
        with acting_as(admin(issuer_id)):
            other = fresh.issue_credential(
                issuer_id,
                fresh.credential(credential_id).achievement_id,
                CredentialOrder(learner_subject="fine"),
            )
            fresh.suspend_credential(other, reason="still works")
    finally:
        fresh.close()


def _verify(store_url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ledger.cli.main", "verify", "--store", store_url, "--workers", "1"],
        env={**os.environ, "LEDGER_KEY_DIR": str(tmp_path / "keys"), "LEDGER_ENV": "development"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    "edit",
    [
        "UPDATE backpack_credentials SET state = 'active' WHERE credential_id = ?",
        "status-bit",
    ],
    ids=["backpack-state", "status-bit"],
)
def test_verify_catches_a_read_side_edited_behind_the_log(
    ledger: Ledger, store_url: str, tmp_path: Path, edit: str
) -> None:
    _, credential_id = _revoked_credential(ledger)
    runner = ProjectionRunner(ledger)
    runner.catch_up()
    assert _verify(store_url, tmp_path).returncode == 0
    raw = RawEvents(ledger.store)
    if edit == "status-bit":
        _clear_revocation_bit(runner, raw, credential_id)
    else:
        raw.execute(_qualified(raw, edit, "backpack_credentials"), (str(credential_id),))
    result = _verify(store_url, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert str(credential_id) in result.stdout + result.stderr


def _clear_revocation_bit(runner: ProjectionRunner, raw: RawEvents, credential_id: UUID) -> None:
    from ledger.standards.bitstring_status_list import Bitstring

    ((issuer_id, number, index),) = runner.query(
        "SELECT issuer_id, list_number, status_index FROM status_entries WHERE credential_id = ?",
        (str(credential_id),),
    )
    ((bits,),) = runner.query(
        "SELECT bits FROM status_lists WHERE issuer_id = ? AND list_number = ? AND purpose = ?",
        (issuer_id, number, "revocation"),
    )
    bitstring: Any = Bitstring.from_bytes(bytes(bits))
    bitstring.set(index, False)
    raw.execute(
        _qualified(
            raw,
            "UPDATE status_lists SET bits = ? WHERE issuer_id = ? AND list_number = ? "
            "AND purpose = ?",
            "status_lists",
        ),
        (bitstring.to_bytes(), issuer_id, number, "revocation"),
    )


def _qualified(raw: RawEvents, sql: str, table: str) -> str:
    return sql.replace(table, f"{raw.schema}.{table}") if raw.kind == "postgresql" else sql
