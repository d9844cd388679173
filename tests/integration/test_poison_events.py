"""Whatever the log holds, the read side goes on or says it stopped (issue 10, item 1).

The API refuses NUL, but a log may already hold it (signed before the API refused
it, or written by another tool): PostgreSQL text cannot store it, and the projector
used to stop at that event on every restart while ``/readyz`` said ready.
"""

from __future__ import annotations

from uuid import UUID

import pytest
from ledger.projections.database import NUL_REPLACEMENT
from ledger.projections.read_models import ReadModels
from ledger.projections.runner import ProjectionRunner

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.audit.log_sources import StoreSource
from ledger.audit.log_verifier import Verifier
from ledger.errors import MalformedEvent, TamperDetected
from ledger.eventlog.envelope import open_stored, pack, signed_bytes_for
from tests.factories import admin, learner, new_achievement, new_issuer
from tests.rawstore import RawEvents


def _poisoned_claim(ledger: Ledger) -> tuple[UUID, UUID]:
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    with acting_as(admin(issuer_id)):
        credential_id = ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="poison")
        )
    with acting_as(learner("poison")):
        claim_id = ledger.submit_exemption_claim(
            "poison",
            institution_id=issuer_id,
            programme="Data\x00Science",
            credential_ids=[credential_id],
            motivation="nul\x00inside",
        )
    return issuer_id, claim_id


def test_an_event_holding_nul_is_projected_on_both_stores(ledger: Ledger) -> None:
    issuer_id, claim_id = _poisoned_claim(ledger)
    runner = ProjectionRunner(ledger)
    runner.catch_up()
    assert runner.lag() == 0
    assert runner.failure is None
    claims = ReadModels(runner).exemption_register(issuer_id)
    (claim,) = [c for c in claims if c["claim_id"] == str(claim_id)]
    assert claim["programme"] in ("Data\x00Science", f"Data{NUL_REPLACEMENT}Science")
    # Later events still reach the read side.
    with acting_as(CLI_OPERATOR):
        other = ledger.register_issuer(name="After", country="NL")
    runner.catch_up()
    assert runner.lag() == 0
    assert other


def test_a_runner_that_stops_says_why(ledger: Ledger) -> None:
    new_issuer(ledger)
    runner = ProjectionRunner(ledger)
    runner.catch_up()
    with acting_as(CLI_OPERATOR):
        ledger.register_issuer(name="Tampered", country="NL")
    raw = RawEvents(ledger.store)
    raw.disable_guard()
    _, originator_id, version, _, state = next(r for r in raw.rows() if b"Tampered" in r[4])
    raw.set_state(originator_id, version, state.replace(b"Tampered", b"Tempered"))
    with pytest.raises(TamperDetected):
        runner.catch_up()
    assert runner.failure is not None and "signature does not match" in runner.failure


def _resign_issued(ledger: Ledger, issuer_id: UUID, credential_id: UUID, **changes: str) -> None:
    """Rewrite a credential's (only) event with its issuer's own key: the signature,
    the signer and the chain all check out; only the state is not what was issued."""
    raw = RawEvents(ledger.store)
    raw.disable_guard()
    sealed = open_stored(
        topic=raw.topic(credential_id, 1),
        originator_id=credential_id,
        originator_version=1,
        state=raw.state(credential_id, 1),
    )
    kid = ledger.keyring.active_key(str(issuer_id)).kid  # type: ignore[union-attr]
    signed = signed_bytes_for(
        topic=sealed.topic,
        originator_id=credential_id,
        originator_version=1,
        actor=sealed.seal.actor,
        kid=kid,
        prev=sealed.seal.prev,
        state={**sealed.state, **changes},
    )
    raw.set_state(credential_id, 1, pack(signed, ledger.key_store.private_key(kid).sign(signed)))


def test_a_signed_event_that_does_not_decode_fails_the_rebuild_and_changes_nothing(
    ledger: Ledger,
) -> None:
    """The rebuild's verifier leaves decoding to the replay; the replay's failure rolls
    the whole rebuild back and says where, and ``ledger verify`` still names the event."""
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    with acting_as(admin(issuer_id)):
        revoked = ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="a")
        )
        ledger.revoke_credential(revoked, reason="fraud")
    runner = ProjectionRunner(ledger)
    runner.catch_up()
    positions = runner.positions()
    views = ReadModels(runner)
    with acting_as(admin(issuer_id)):
        forged = ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="b")
        )
    _resign_issued(ledger, issuer_id, forged, achievement_id="not-a-uuid")

    for full in (False, True):
        with pytest.raises(MalformedEvent, match=f"position .*{forged}.*nothing was rebuilt"):
            runner.rebuild(workers=1, full=full)
    assert runner.positions() == positions
    assert views.credential_status(revoked) == "revoked"

    source = StoreSource(ledger.store)
    try:
        report = Verifier(source).run()
    finally:
        source.close()
    assert report.first_problem is not None
    assert report.first_problem.kind == MalformedEvent.kind
    assert str(forged) in report.first_problem.message
