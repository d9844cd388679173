"""Erasure that really forgets (issue 10, item 8), on both stores where the store matters."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.cli.main import main
from ledger.errors import InvalidInput
from ledger.eventlog.signing_keys import FileKeyStore
from tests.conftest import POSTGRES_URL
from tests.factories import admin, learner, new_achievement, new_issuer
from tests.integration.test_privacy import SUBJECT, with_learner


def test_sqlite_files_are_private(tmp_path: Path, key_store: FileKeyStore) -> None:
    path = tmp_path / "private" / "ledger.db"
    ledger = Ledger(f"sqlite:///{path}", key_store=key_store)
    try:
        with acting_as(CLI_OPERATOR):
            ledger.establish()
        with_learner(ledger)
        files = [p for p in path.parent.iterdir() if p.name.startswith("ledger.db")]
        assert {p.name for p in files} >= {"ledger.db", "ledger.db-wal"}
        for file in files:
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
    finally:
        ledger.close()


def test_a_refused_learner_request_leaves_no_data_key(ledger: Ledger) -> None:
    subject = "refused-learner"
    with acting_as(learner(subject)), pytest.raises(InvalidInput):
        ledger.grant_consent(
            subject,
            grantee="hr",
            all_credentials=True,
            purpose="hiring",
            expires_at=datetime.now(UTC) - timedelta(days=1),
        )
    assert ledger.data_keys.key(ledger.learner_ids.of(subject)) is None
    with acting_as(learner(subject)):
        ledger.grant_consent(
            subject,
            grantee="hr",
            all_credentials=True,
            purpose="hiring",
            expires_at=datetime.now(UTC) + timedelta(days=1),
        )
    assert ledger.data_keys.key(ledger.learner_ids.of(subject)) is not None
    with acting_as(learner(subject)):
        assert ledger.learner_subject(ledger.learner_ids.of(subject)) == subject


def test_a_learner_who_only_holds_credentials_can_be_erased(
    ledger: Ledger, key_store: FileKeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    with acting_as(admin(issuer_id)):
        ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="only-credentials")
        )
    monkeypatch.setenv("LEDGER_KEY_DIR", str(key_store.directory))
    monkeypatch.setenv("LEDGER_ENV", "development")
    url = ledger.store.url
    assert (
        main(["--store", url, "erase-learner", "--subject", "only-credentials", "--reason", "r"])
        == 0
    )
    assert ledger.learner(ledger.learner_ids.of("only-credentials")).erased
    assert ledger.data_keys.key(ledger.learner_ids.of("only-credentials")) is None
    assert (
        main(["--store", url, "erase-learner", "--subject", "nobody-at-all", "--reason", "r"]) == 1
    )


def _stored_bytes(ledger: Ledger) -> bytes:
    """Everything the store keeps on disk for the data keys (after a checkpoint)."""
    path = ledger.store.sqlite_path
    if path is not None:
        return b"".join(
            p.read_bytes() for p in path.parent.iterdir() if p.name.startswith(path.name)
        )
    schema = ledger.store.settings["POSTGRES_SCHEMA"]
    with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        directory = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
        relative = conn.execute(
            "SELECT pg_relation_filepath(%s)", (f"{schema}.learner_data_keys",)
        ).fetchone()[0]  # type: ignore[index]
    return Path(directory, relative).read_bytes()


# SQLite only: PostgreSQL's VACUUM FULL keeps a deleted row that any open transaction
# of the cluster may still see, so the bytes can linger there (docs/decisions.md).
@pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
def test_a_destroyed_data_key_is_not_left_on_disk(ledger: Ledger) -> None:
    learner_id, _ = with_learner(ledger)
    key = ledger.data_keys.stored(learner_id)  # wrapped: the clear key is never on disk
    assert key is not None
    try:
        assert key in _stored_bytes(ledger)
    except PermissionError:
        pytest.skip("the PostgreSQL data directory is not readable here")
    with acting_as(CLI_OPERATOR):
        ledger.erase_learner(learner_id, reason="the learner asked")
    assert key not in _stored_bytes(ledger)
    assert SUBJECT
