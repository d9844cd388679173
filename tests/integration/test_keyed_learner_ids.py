"""Learner ids come from a keyed function (issue 10, item 8): knowing a subject is not
enough to find their trail; learners a log already names by the old unkeyed id keep it."""

from __future__ import annotations

import io
import stat
from contextlib import redirect_stdout
from pathlib import Path
from uuid import UUID

import orjson
import pytest
from ledger.projections.read_models import ReadModels
from ledger.projections.runner import ProjectionRunner

from ledger.application.actor import acting_as
from ledger.application.learner_ids import keyed_learner_id
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.cli.main import main
from ledger.domain.base import utcnow
from ledger.domain.learner import legacy_learner_id
from ledger.eventlog.signing_keys import FileKeyStore
from tests.factories import admin, learner, new_achievement, new_issuer
from tests.integration.test_erasure_forgets import _stored_bytes
from tests.integration.test_wrapped_data_keys import key_rows, table
from tests.rawstore import RawEvents

OLD_LEARNER = "eduid-old-learner"  # had a learner record (a consent) before keyed ids
OLD_HOLDER = "eduid-old-holder"  # only held a credential before keyed ids


def write_as_before_keyed_ids(ledger: Ledger, monkeypatch: pytest.MonkeyPatch) -> dict[str, UUID]:
    """The store as the code before keyed ids left it: uuid5 learner ids, data keys in
    clear and no ``learner_legacy_ids`` table. Returns each old subject's credential."""
    with monkeypatch.context() as patch:
        patch.setattr(
            ledger.learner_ids,
            "of_many",
            lambda subjects: [legacy_learner_id(s) for s in subjects],
        )
        issuer_id = new_issuer(ledger)
        achievement_id = new_achievement(ledger, issuer_id)
        with acting_as(admin(issuer_id)):
            credentials = {
                subject: ledger.issue_credential(
                    issuer_id, achievement_id, CredentialOrder(learner_subject=subject)
                )
                for subject in (OLD_LEARNER, OLD_HOLDER)
            }
        with acting_as(learner(OLD_LEARNER)):
            ledger.grant_consent(
                OLD_LEARNER,
                grantee="hr@employer.example",
                credential_ids=[credentials[OLD_LEARNER]],
                purpose="hiring",
                expires_at=utcnow().replace(year=utcnow().year + 1),
            )
    old_id = legacy_learner_id(OLD_LEARNER)
    key = ledger.data_keys.key(old_id)
    raw = RawEvents(ledger.store)
    raw.execute(
        f"UPDATE {table(raw, 'learner_data_keys')} SET data_key = ? WHERE learner_id = ?",
        (key, str(old_id)),
    )
    raw.execute(f"DROP TABLE {table(raw, 'learner_legacy_ids')}")
    return credentials


def test_a_new_learner_gets_a_keyed_id(ledger: Ledger, tmp_path: Path) -> None:
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    with acting_as(admin(issuer_id)):
        credential_id = ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="eduid-new")
        )
    learner_id = ledger.credential(credential_id).learner_id
    assert learner_id == ledger.learner_ids.of("eduid-new")
    assert learner_id != legacy_learner_id("eduid-new")
    assert learner_id.version == 8
    # Another key directory gives another id: the subject alone does not make it.
    other = FileKeyStore(tmp_path / "other-keys").secret("learner-ids", create=True)
    assert keyed_learner_id(other, "eduid-new") != learner_id


def test_ledger_init_makes_the_secrets_private_and_keeps_them_out_of_the_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = tmp_path / "keys"
    monkeypatch.setenv("LEDGER_KEY_DIR", str(keys))
    monkeypatch.setenv("LEDGER_ENV", "development")
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    with redirect_stdout(io.StringIO()):
        assert main(["--store", url, "init"]) == 0
    secrets = {p.name: p for p in keys.glob("*.secret")}
    assert set(secrets) == {"learner-ids.secret", "data-keys.secret"}
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("ledger.db*"))
    for path in secrets.values():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert len(path.read_bytes()) == 32
        assert path.read_bytes() not in stored


def test_legacy_learners_keep_their_ids_backpacks_and_erasure(
    ledger: Ledger, key_store: FileKeyStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = write_as_before_keyed_ids(ledger, monkeypatch)
    url = ledger.store.url
    ledger.close()

    upgraded = Ledger(url, key_store=FileKeyStore(key_store.directory))
    try:
        ids = upgraded.learner_ids
        assert ids.of(OLD_LEARNER) == legacy_learner_id(OLD_LEARNER)
        assert ids.of(OLD_HOLDER) == legacy_learner_id(OLD_HOLDER)
        assert ids.of_many([OLD_HOLDER, "eduid-brand-new"]) == [
            legacy_learner_id(OLD_HOLDER),
            ids.keyed("eduid-brand-new"),
        ]
        assert all(len(row) != 32 for row in key_rows(upgraded).values())
        with acting_as(learner(OLD_LEARNER)):
            assert upgraded.learner_subject(legacy_learner_id(OLD_LEARNER)) == OLD_LEARNER
            upgraded.create_share_link(OLD_LEARNER, credential_ids=[credentials[OLD_LEARNER]])
        with acting_as(learner(OLD_HOLDER)):
            # Their first own record joins the credentials the log already gave them.
            upgraded.create_share_link(OLD_HOLDER, credential_ids=[credentials[OLD_HOLDER]])
        runner = ProjectionRunner(upgraded)
        runner.catch_up()
        views = ReadModels(runner)
        for subject in (OLD_LEARNER, OLD_HOLDER):
            backpack = views.backpack(ids.of(subject))
            assert [c.credential_id for c in backpack] == [str(credentials[subject])]
        assert len(views.share_links(legacy_learner_id(OLD_LEARNER))) == 1
        assert len(views.consents(legacy_learner_id(OLD_LEARNER))) == 1

        monkeypatch.setenv("LEDGER_KEY_DIR", str(key_store.directory))
        monkeypatch.setenv("LEDGER_ENV", "development")
        for subject in (OLD_LEARNER, OLD_HOLDER):
            out = io.StringIO()
            with redirect_stdout(out):
                code = main(
                    [
                        "--store",
                        url,
                        "--json",
                        "erase-learner",
                        "--subject",
                        subject,
                        "--reason",
                        "r",
                    ]
                )
            assert code == 0
            assert orjson.loads(out.getvalue())["learner_id"] == str(legacy_learner_id(subject))
            assert upgraded.learner(legacy_learner_id(subject)).erased
            assert upgraded.data_keys.key(legacy_learner_id(subject)) is None
    finally:
        upgraded.close()


def test_after_erasure_the_subject_alone_does_not_lead_to_the_learner(
    ledger: Ledger, key_store: FileKeyStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject = "eduid-to-be-forgotten"
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    with acting_as(admin(issuer_id)):
        credential_id = ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject=subject)
        )
    with acting_as(learner(subject)):
        ledger.create_share_link(subject, credential_ids=[credential_id])
    learner_id = ledger.learner_ids.of(subject)
    monkeypatch.setenv("LEDGER_KEY_DIR", str(key_store.directory))
    monkeypatch.setenv("LEDGER_ENV", "development")
    with redirect_stdout(io.StringIO()):
        assert (
            main(
                [
                    "--store",
                    ledger.store.url,
                    "erase-learner",
                    "--subject",
                    subject,
                    "--reason",
                    "r",
                ]
            )
            == 0
        )
    assert ledger.learner(learner_id).erased
    # What anyone holding the database and the subject can compute leads nowhere: the
    # unkeyed id names nothing, and the keyed one needs the secret the store never holds.
    guessed = legacy_learner_id(subject)
    raw = RawEvents(ledger.store)
    rows = raw.execute("SELECT originator_id, state FROM {table}")
    assert rows
    for originator_id, state in rows:
        assert UUID(str(originator_id)) != guessed
        assert str(guessed).encode() not in bytes(state)
        assert subject.encode() not in bytes(state)
    other = FileKeyStore(tmp_path / "guess").secret("learner-ids", create=True)
    assert keyed_learner_id(other, subject) != learner_id
    secret = (key_store.directory / "learner-ids.secret").read_bytes()
    assert keyed_learner_id(secret, subject) == learner_id
    if ledger.store.kind == "sqlite":
        assert secret not in _stored_bytes(ledger)
