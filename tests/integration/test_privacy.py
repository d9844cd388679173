"""A learner's personal data can be forgotten without breaking the log (design section 6)."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from datetime import timedelta
from uuid import UUID, uuid4

import orjson
import pytest
from ledger.projections.read_models import ReadModels
from ledger.projections.runner import ProjectionRunner

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import SHOWN_NAME, CredentialOrder, Ledger
from ledger.application.privacy import seal, unseal
from ledger.cli.main import main
from ledger.domain.base import utcnow
from ledger.errors import Forbidden, InvalidTransition
from tests.factories import admin, learner, new_achievement, new_issuer
from tests.rawstore import RawEvents

SUBJECT = "eduid-7f3a-private-subject"
NAME = "Fenna Zwart-Oudejans"


def with_learner(ledger: Ledger) -> tuple[UUID, UUID]:
    """A learner with a credential, a consent and a share link."""
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    with acting_as(admin(issuer_id)):
        credential_id = ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject=SUBJECT)
        )
    with acting_as(learner(SUBJECT)):
        ledger.grant_consent(
            SUBJECT,
            grantee="hr@employer.example",
            credential_ids=[credential_id],
            purpose="hiring",
            expires_at=utcnow() + timedelta(days=30),
        )
        ledger.create_share_link(SUBJECT, credential_ids=[credential_id])
        ledger.create_share_link(SUBJECT, credential_ids=[credential_id], shown_name=NAME)
    return ledger.learner_ids.of(SUBJECT), credential_id


def test_the_log_never_holds_the_subject_in_clear(ledger: Ledger) -> None:
    learner_id, _ = with_learner(ledger)
    rows = RawEvents(ledger.store).rows()
    assert rows
    assert not any(SUBJECT.encode() in row[4] for row in rows)
    assert not any(NAME.encode() in row[4] for row in rows)
    sealed = sorted(
        link.sealed_name or "" for link in ledger.learner(learner_id).share_links.values()
    )
    assert sealed[0] == ""  # the first link: the learner chose to show no name
    assert ledger.data_keys.opened(learner_id, sealed[1], field=SHOWN_NAME) == NAME
    with acting_as(learner(SUBJECT)):
        assert ledger.learner_subject(learner_id) == SUBJECT
    with acting_as(learner("someone-else")), pytest.raises(Forbidden):
        ledger.learner_subject(learner_id)


def test_erasure_forgets_the_subject_and_keeps_the_log_verifiable(ledger: Ledger) -> None:
    learner_id, credential_id = with_learner(ledger)
    runner = ProjectionRunner(ledger)
    with acting_as(CLI_OPERATOR):
        ledger.erase_learner(learner_id, reason="GDPR art. 17 request 2026-113")
        assert ledger.learner_subject(learner_id) is None
        # Erasing again changes nothing and records nothing more.
        ledger.erase_learner(learner_id, reason="again")
    assert ledger.data_keys.key(learner_id) is None
    erased = ledger.learner(learner_id)
    assert erased.erased
    assert all(c.withdrawn for c in erased.consents.values())
    assert all(link.revoked for link in erased.share_links.values())
    # The name a link showed is in the log still, sealed, and opens for no one now.
    (sealed_name,) = [link.sealed_name for link in erased.share_links.values() if link.sealed_name]
    assert ledger.data_keys.opened(learner_id, sealed_name, field=SHOWN_NAME) is None
    with acting_as(learner(SUBJECT)), pytest.raises(InvalidTransition, match="erased"):
        ledger.create_share_link(SUBJECT, credential_ids=[credential_id])

    runner.catch_up()
    views = ReadModels(runner)
    assert views.erased_at(learner_id) is not None
    assert not any(c["live"] for c in views.consents(learner_id))
    assert all(link["revoked"] for link in views.share_links(learner_id))
    assert not any(link["shows_name"] for link in views.share_links(learner_id))
    trail = views.audit_trail("learner", str(learner_id), after=0, limit=100)
    erasures = [e for e in trail if e["topic"] == "ledger/Learner/Erased"]
    assert len(erasures) == 1
    assert erasures[0]["reason"] == "GDPR art. 17 request 2026-113"
    # The credential is the institution's record and stays, still verifiable.
    assert views.credential(credential_id) is not None

    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["--store", ledger.store.url, "verify", "--json", "--workers", "1"])
    assert code == 0, out.getvalue()
    assert orjson.loads(out.getvalue())["ok"] is True


def test_only_the_operator_erases(ledger: Ledger) -> None:
    learner_id, _ = with_learner(ledger)
    with acting_as(learner(SUBJECT)), pytest.raises(Forbidden):
        ledger.erase_learner(learner_id, reason="mine")
    assert ledger.data_keys.key(learner_id) is not None


def test_the_cli_erases_by_subject(
    ledger: Ledger, key_store: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    learner_id, _ = with_learner(ledger)
    monkeypatch.setenv("LEDGER_KEY_DIR", str(key_store.directory))  # type: ignore[attr-defined]
    monkeypatch.setenv("LEDGER_ENV", "development")  # unset, PostgreSQL means production
    url = ledger.store.url
    assert main(["--store", url, "erase-learner", "--subject", SUBJECT, "--reason", "request"]) == 0
    assert ledger.data_keys.key(learner_id) is None
    assert main(["--store", url, "erase-learner", "--reason", "nobody"]) == 2
    assert main(["--store", url, "erase-learner", str(uuid4()), "--reason", "unknown"]) == 1


def test_a_sealed_subject_opens_only_with_its_learners_key() -> None:
    key, other_key = b"k" * 32, b"o" * 32
    learner_a, learner_b = uuid4(), uuid4()
    sealed = seal(key, learner_a, SUBJECT)
    assert SUBJECT not in sealed
    assert unseal(key, learner_a, sealed) == SUBJECT
    assert seal(key, learner_a, SUBJECT) != sealed  # a fresh nonce each time
    with pytest.raises(ValueError, match="does not open"):
        unseal(other_key, learner_a, sealed)
    with pytest.raises(ValueError, match="does not open"):
        unseal(key, learner_b, sealed)  # moved to another learner
    # A sealed subject cannot pass as another field (a name shown on a page).
    with pytest.raises(ValueError, match="does not open"):
        unseal(key, learner_a, sealed, field=SHOWN_NAME)
    tampered = sealed[:-2] + ("A" if sealed[-2] != "A" else "B") + sealed[-1]
    with pytest.raises(ValueError):
        unseal(key, learner_a, tampered)
