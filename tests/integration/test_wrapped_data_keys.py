"""Data keys are wrapped under a key-encryption key kept outside the database (issue 10,
item 8): a copy of the database alone opens no learner's data, on both stores."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path
from uuid import UUID

import pytest

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import Ledger
from ledger.application.privacy import unseal
from ledger.errors import KeyUnavailable
from ledger.eventlog.signing_keys import FileKeyStore
from tests.factories import learner
from tests.integration.test_erasure_forgets import _stored_bytes
from tests.integration.test_privacy import SUBJECT, with_learner
from tests.integration.test_stored_log import FIXTURE
from tests.rawstore import RawEvents


def table(raw: RawEvents, name: str) -> str:
    """A side table's name as plain SQL on the store reaches it."""
    return name if raw.kind == "sqlite" else f"{raw.schema}.{name}"


def key_rows(ledger: Ledger) -> dict[UUID, bytes]:
    """The data key table as anyone with a copy of the database reads it."""
    raw = RawEvents(ledger.store)
    rows = raw.execute(f"SELECT learner_id, data_key FROM {table(raw, 'learner_data_keys')}")
    return {UUID(str(learner_id)): bytes(value) for learner_id, value in rows}


def signing_keys_only(key_store: FileKeyStore, into: Path) -> FileKeyStore:
    """A key directory with the signing keys but not the secrets (say, a partial restore)."""
    into.mkdir(mode=0o700)
    for pem in key_store.directory.glob("*.pem"):
        shutil.copy2(pem, into / pem.name)
    return FileKeyStore(into)


def test_a_copy_of_the_database_holds_no_data_key_in_clear(ledger: Ledger) -> None:
    learner_id, _ = with_learner(ledger)
    key = ledger.data_keys.key(learner_id)
    assert key is not None and len(key) == 32
    rows = key_rows(ledger)
    assert set(rows) == {learner_id}
    assert key not in rows[learner_id]
    # Without the key-encryption key, the row is no key at all for the sealed subject.
    sealed = ledger.learner(learner_id).sealed_subject
    with pytest.raises(ValueError):
        unseal(rows[learner_id][-32:], learner_id, sealed)
    if ledger.store.kind == "sqlite":
        assert key not in _stored_bytes(ledger)


def test_without_the_key_encryption_key_sealed_fields_do_not_open(
    ledger: Ledger, key_store: FileKeyStore, tmp_path: Path
) -> None:
    learner_id, _ = with_learner(ledger)
    url = ledger.store.url
    ledger.close()

    partial = Ledger(url, key_store=signing_keys_only(key_store, tmp_path / "partial"))
    try:
        with acting_as(learner(SUBJECT)), pytest.raises(KeyUnavailable, match="restore it"):
            partial.learner_subject(learner_id)
        # Refused, not silently replaced: no new secret was made beside the signing keys.
        assert not list((tmp_path / "partial").glob("*.secret"))
    finally:
        partial.close()

    other = FileKeyStore(tmp_path / "other")
    other.secret("data-keys", create=True)
    elsewhere = signing_keys_only(key_store, tmp_path / "elsewhere")
    shutil.copy2(other.directory / "data-keys.secret", elsewhere.directory)
    shutil.copy2(key_store.directory / "learner-ids.secret", elsewhere.directory)
    wrong = Ledger(url, key_store=FileKeyStore(elsewhere.directory))
    try:
        with acting_as(learner(SUBJECT)), pytest.raises(KeyUnavailable, match="LEDGER_KEY_DIR"):
            wrong.learner_subject(learner_id)
    finally:
        wrong.close()

    right = Ledger(url, key_store=FileKeyStore(key_store.directory))
    try:
        with acting_as(learner(SUBJECT)):
            assert right.learner_subject(learner_id) == SUBJECT
    finally:
        right.close()


def test_keys_stored_in_clear_before_wrapping_are_wrapped_at_start(
    ledger: Ledger, key_store: FileKeyStore
) -> None:
    learner_id, _ = with_learner(ledger)
    key = ledger.data_keys.key(learner_id)
    assert key is not None
    # The store as the code before wrapping left it: the key in clear.
    raw = RawEvents(ledger.store)
    raw.execute(
        f"UPDATE {table(raw, 'learner_data_keys')} SET data_key = ? WHERE learner_id = ?",
        (key, str(learner_id)),
    )
    assert key_rows(ledger)[learner_id] == key
    url = ledger.store.url
    ledger.close()

    reopened = Ledger(url, key_store=FileKeyStore(key_store.directory))
    try:
        assert key not in key_rows(reopened)[learner_id]
        if reopened.store.kind == "sqlite":
            # Scrubbed from the file and its WAL too (PostgreSQL: see docs/decisions.md).
            assert key not in _stored_bytes(reopened)
        with acting_as(learner(SUBJECT)):
            assert reopened.learner_subject(learner_id) == SUBJECT
        with acting_as(CLI_OPERATOR):
            reopened.erase_learner(learner_id, reason="the learner asked")
        assert learner_id not in key_rows(reopened)
    finally:
        reopened.close()


def test_the_fixture_logs_clear_key_is_wrapped_and_scrubbed(tmp_path: Path) -> None:

    copy = tmp_path / "log"
    shutil.copytree(FIXTURE, copy)
    with sqlite3.connect(FIXTURE / "ledger.db") as db:
        old = {bytes(row[0]) for row in db.execute("SELECT data_key FROM learner_data_keys")}
    assert old and all(len(k) == 32 for k in old)
    ledger = Ledger(f"sqlite:///{copy / 'ledger.db'}", key_store=FileKeyStore(copy / "keys"))
    try:
        stored = _stored_bytes(ledger)
        assert not any(k in stored for k in old)
        assert sorted(p.name for p in (copy / "keys").glob("*.secret")) == [
            "data-keys.secret",
            "learner-ids.secret",
        ]
    finally:
        ledger.close()
