"""Commands on the fast application path (``fast_ledger``): rules and authorization."""

from __future__ import annotations

import pytest

from ledger.application.actor import acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.domain.achievement import AchievementSpec
from ledger.domain.credential import Amendment
from ledger.errors import Forbidden, InvalidInput, NotFound
from tests.factories import admin, learner, micro, new_achievement, new_issuer


def test_an_administrator_issues_amends_and_revokes(fast_ledger: Ledger) -> None:
    issuer_id = new_issuer(fast_ledger)
    achievement_id = new_achievement(fast_ledger, issuer_id)
    with acting_as(admin(issuer_id)):
        credential_id = fast_ledger.issue_credential(
            issuer_id, achievement_id, CredentialOrder(learner_subject="s", result={"grade": "7"})
        )
        fast_ledger.amend_credential(credential_id, Amendment(result={"grade": "8"}), reason="r")
        fast_ledger.revoke_credential(credential_id, reason="fraud")
    credential = fast_ledger.credential(credential_id)
    assert credential.result == {"grade": "8"} and credential.status() == "revoked"


def test_refusals_say_not_found_where_forbidden_would_confirm_a_record(
    fast_ledger: Ledger,
) -> None:
    ours = new_issuer(fast_ledger, "Ours", subject="a@ours")
    theirs = new_issuer(fast_ledger, "Theirs")
    their_achievement = new_achievement(fast_ledger, theirs, micro())
    with acting_as(admin(ours, "a@ours")):
        with pytest.raises(NotFound) as refused:
            fast_ledger.revise_achievement(
                their_achievement, AchievementSpec.parse(micro()), reason="x"
            )
        assert str(theirs) not in str(refused.value)
        with pytest.raises(Forbidden):
            fast_ledger.administered_issuer(theirs)
    with acting_as(admin(ours, "mallory")), pytest.raises(Forbidden):
        fast_ledger.administered_issuer(ours)
    with acting_as(learner("x")), pytest.raises(Forbidden):
        fast_ledger.register_issuer(name="Fake", country="NL")


def test_an_empty_amendment_is_refused(fast_ledger: Ledger) -> None:
    with pytest.raises(InvalidInput, match="at least one"):
        Amendment()
