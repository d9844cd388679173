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
from ledger.errors import TamperDetected
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
