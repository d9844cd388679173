"""The application on both real stores: commands, reloads, authorisation, bulk issuance."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from ledger.application.actor import CLI_OPERATOR, acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.domain.achievement import AchievementSpec
from ledger.domain.base import utcnow
from ledger.domain.credential import Amendment
from ledger.domain.policy import NATIONAL_EXPERIMENT_1EC
from ledger.errors import (
    CredentialRevoked,
    Forbidden,
    IdempotencyKeyReused,
    InvalidInput,
    NotFound,
    StudyLoadTooLow,
)
from tests.factories import admin, learner, micro, new_achievement, new_issuer, verifier


def issue(ledger: Ledger, issuer_id, achievement_id, subject: str = "learner-1"):  # type: ignore[no-untyped-def]
    with acting_as(admin(issuer_id)):
        return ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject=subject)
        )


def event_count(ledger: Ledger) -> int:
    return ledger.recorder.max_notification_id() or 0


def test_a_credential_survives_a_restart_with_its_history(ledger: Ledger) -> None:
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    credential_id = issue(ledger, issuer_id, achievement_id)
    with acting_as(admin(issuer_id)):
        ledger.amend_credential(credential_id, Amendment(result={"grade": "9"}), reason="typo")
        ledger.suspend_credential(credential_id, reason="check")
    reopened = Ledger(ledger.store, key_store=ledger.key_store)
    credential = reopened.credential(credential_id)
    assert credential.status() == "suspended"
    assert credential.result == {"grade": "9"}
    assert credential.policy == "nl-microcredentials-pilot@v1"
    assert credential.learner_id == ledger.learner_ids.of("learner-1")
    assert reopened.credential(credential_id, version=1).result == {}
    assert [e.topic.rsplit("/", 1)[1] for e in reopened.history(credential_id)] == [
        "Issued",
        "Amended",
        "Suspended",
    ]


def test_issuance_records_the_policy_in_force(ledger: Ledger) -> None:
    issuer_id = new_issuer(ledger)
    with acting_as(admin(issuer_id)):
        with pytest.raises(StudyLoadTooLow):
            ledger.define_achievement(
                issuer_id, AchievementSpec.parse(micro(study_load_hours=28, ects=1))
            )
        ledger.adopt_policy(issuer_id, NATIONAL_EXPERIMENT_1EC)
        small = ledger.define_achievement(
            issuer_id, AchievementSpec.parse(micro(study_load_hours=28, ects=1))
        )
        credential_id = ledger.issue_credential(
            issuer_id, small, CredentialOrder(learner_subject="s")
        )
    assert ledger.credential(credential_id).policy == "nl-microcredentials-experiment-1ec@v1"


def test_a_broken_rule_changes_nothing(ledger: Ledger) -> None:
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    credential_id = issue(ledger, issuer_id, achievement_id)
    with acting_as(admin(issuer_id)):
        ledger.revoke_credential(credential_id, reason="fraud")
        before = event_count(ledger)
        with pytest.raises(CredentialRevoked):
            ledger.reinstate_credential(credential_id, reason="oops")
        with pytest.raises(InvalidInput):
            ledger.define_achievement(issuer_id, AchievementSpec.parse(micro(eqf_level=12)))
    assert event_count(ledger) == before


def test_bulk_issuance_is_atomic(ledger: Ledger) -> None:
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    before = event_count(ledger)
    orders = [CredentialOrder(learner_subject=f"s{n}") for n in range(300)]
    orders[250] = CredentialOrder(
        learner_subject="s250", valid_from=utcnow(), valid_until=utcnow() - timedelta(days=1)
    )
    with acting_as(admin(issuer_id)), pytest.raises(InvalidInput):
        ledger.issue_cohort(issuer_id, achievement_id, orders, request_id="r-bad")
    assert event_count(ledger) == before


def test_bulk_issuance_is_idempotent_under_its_request_id(ledger: Ledger) -> None:
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    orders = [CredentialOrder(learner_subject=f"s{n}") for n in range(2000)]
    with acting_as(admin(issuer_id)):
        first = ledger.issue_cohort(issuer_id, achievement_id, orders, request_id="cohort-1")
        after_first = event_count(ledger)
        again = ledger.issue_cohort(issuer_id, achievement_id, orders, request_id="cohort-1")
        assert again == first
        assert event_count(ledger) == after_first
        with pytest.raises(IdempotencyKeyReused):
            ledger.issue_cohort(issuer_id, achievement_id, orders[:-1], request_id="cohort-1")
    assert len(set(first)) == 2000
    entries = {(c.status_list, c.status_index) for c in map(ledger.credential, first[:200])}
    assert len(entries) == 200


def test_administrators_stay_inside_their_issuer(ledger: Ledger) -> None:
    ours = new_issuer(ledger, "Ours", subject="a@ours")
    theirs = new_issuer(ledger, "Theirs", subject="b@theirs")
    with acting_as(admin(theirs, "b@theirs")):
        achievement_id = ledger.define_achievement(theirs, AchievementSpec.parse(micro()))
        credential_id = ledger.issue_credential(
            theirs, achievement_id, CredentialOrder(learner_subject="x")
        )
    intruder = admin(ours, "a@ours")
    with acting_as(intruder):
        with pytest.raises(NotFound):
            ledger.revoke_credential(credential_id, reason="hostile")
        with pytest.raises(Forbidden):
            ledger.issue_credential(theirs, achievement_id, CredentialOrder(learner_subject="y"))
        with pytest.raises(NotFound):  # another issuer's achievement: not confirmed to exist
            ledger.issue_credential(ours, achievement_id, CredentialOrder(learner_subject="y"))
        with pytest.raises(NotFound):
            ledger.revise_achievement(
                achievement_id, AchievementSpec.parse(micro()), reason="hostile"
            )
        with pytest.raises(Forbidden):
            ledger.rotate_issuer_key(theirs)
    # A token scoped to the right issuer, for a subject the issuer never admitted.
    with acting_as(admin(theirs, "mallory")), pytest.raises(NotFound):
        ledger.suspend_credential(credential_id, reason="x")
    with acting_as(learner("x")), pytest.raises(Forbidden):
        ledger.register_issuer(name="Fake", country="NL")
    assert ledger.credential(credential_id).status() == "active"


def test_learners_act_on_their_own_backpack_only(ledger: Ledger) -> None:
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    alices = issue(ledger, issuer_id, achievement_id, "alice")
    bobs = issue(ledger, issuer_id, achievement_id, "bob")
    expiry = utcnow() + timedelta(days=7)
    with acting_as(learner("alice")):
        with pytest.raises(Forbidden):
            ledger.grant_consent(
                "bob", grantee="hr", credential_ids=[bobs], purpose="p", expires_at=expiry
            )
        with pytest.raises(NotFound):  # bob's credential: not confirmed to exist
            ledger.grant_consent(
                "alice", grantee="hr", credential_ids=[bobs], purpose="p", expires_at=expiry
            )
        with pytest.raises(NotFound):
            ledger.create_share_link("alice", credential_ids=[bobs])
        with pytest.raises(NotFound):
            ledger.submit_exemption_claim(
                "alice", institution_id=issuer_id, programme="B", credential_ids=[bobs]
            )
        consent_id = ledger.grant_consent(
            "alice", grantee="hr@acme", credential_ids=[alices], purpose="hiring", expires_at=expiry
        )
    with acting_as(verifier("hr@acme")):
        assert (
            ledger.look_up(
                learner_id=ledger.learner_ids.of("alice"), credential_id=alices, purpose="hiring"
            ).id
            == alices
        )
        with pytest.raises(Forbidden):
            ledger.look_up(
                learner_id=ledger.learner_ids.of("bob"), credential_id=bobs, purpose="hiring"
            )
    with acting_as(verifier("hr@other")), pytest.raises(Forbidden):
        ledger.look_up(
            learner_id=ledger.learner_ids.of("alice"), credential_id=alices, purpose="hiring"
        )
    assert ledger.learner(ledger.learner_ids.of("alice")).lookups == 1
    with acting_as(learner("alice")):
        ledger.withdraw_consent("alice", consent_id)
    with acting_as(verifier("hr@acme")), pytest.raises(Forbidden):
        ledger.look_up(
            learner_id=ledger.learner_ids.of("alice"), credential_id=alices, purpose="hiring"
        )


def test_exemption_claims(ledger: Ledger) -> None:
    issuer_id = new_issuer(ledger, "Home", subject="home@x")
    receiver = new_issuer(ledger, "Receiver", subject="recv@y")
    with acting_as(admin(issuer_id, "home@x")):
        achievement_id = ledger.define_achievement(issuer_id, AchievementSpec.parse(micro()))
        good = ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="l")
        )
        bad = ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="l")
        )
        ledger.revoke_credential(bad, reason="fraud")
    with acting_as(learner("l")):
        with pytest.raises(CredentialRevoked):
            ledger.submit_exemption_claim(
                "l", institution_id=receiver, programme="B", credential_ids=[good, bad]
            )
        claim = ledger.submit_exemption_claim(
            "l", institution_id=receiver, programme="B", credential_ids=[good]
        )
    with acting_as(admin(issuer_id, "home@x")), pytest.raises(NotFound):
        ledger.decide_exemption_claim(claim, approve=True, reason="not yours")
    with acting_as(learner("someone-else")), pytest.raises(NotFound):
        ledger.withdraw_exemption_claim(claim, reason="not mine")
    with acting_as(admin(receiver, "recv@y")):
        ledger.decide_exemption_claim(claim, approve=False, reason="no match")
    assert ledger.exemption_claim(claim).state == "rejected"


def test_key_rotation_keeps_old_events_valid(ledger: Ledger) -> None:
    issuer_id = new_issuer(ledger)
    achievement_id = new_achievement(ledger, issuer_id)
    before = issue(ledger, issuer_id, achievement_id)
    old_kid = ledger.keyring.active_key(str(issuer_id)).kid  # type: ignore[union-attr]
    with acting_as(admin(issuer_id)):
        new_kid = ledger.rotate_issuer_key(issuer_id)
    after = issue(ledger, issuer_id, achievement_id)
    assert new_kid != old_kid
    reopened = Ledger(ledger.store, key_store=ledger.key_store)
    assert reopened.credential(before).status() == "active"
    assert reopened.credential(after).status() == "active"
    kids = [k.kid for k in reopened.key_registry().keys_of(str(issuer_id))]
    assert kids == [old_kid, new_kid]


def test_unknown_things_are_not_found(ledger: Ledger) -> None:
    with pytest.raises(NotFound):
        ledger.credential(uuid4())
    with acting_as(CLI_OPERATOR), pytest.raises(NotFound):
        ledger.revoke_credential(uuid4(), reason="x")
