"""Rules held by the aggregates themselves: a broken rule never creates an event."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import uuid4

import pytest

from ledger.domain.achievement import Achievement, AchievementSpec
from ledger.domain.base import utcnow
from ledger.domain.credential import Amendment, Credential
from ledger.domain.exemption import ExemptionClaim
from ledger.domain.issuer import Issuer
from ledger.domain.keyregistry import KeyRegistry
from ledger.domain.learner import Learner
from ledger.domain.policy import NATIONAL_EXPERIMENT_1EC, NATIONAL_PILOT, StudyLoadPolicy
from ledger.domain.statusallocation import LIST_LENGTH, permutation
from ledger.errors import (
    CredentialRevoked,
    Forbidden,
    InvalidInput,
    InvalidTransition,
    NotFound,
    RuleViolation,
    StudyLoadTooLow,
)
from tests.factories import badge, micro


def new_credential(**overrides: object) -> Credential:
    values: dict[str, object] = {
        "issuer_id": uuid4(),
        "achievement_id": uuid4(),
        "achievement_revision": 1,
        "learner_id": uuid4(),
        "valid_from": utcnow(),
        "valid_until": None,
        "status_list": 1,
        "status_index": 7,
        "policy": None,
        "result": {},
        "evidence": [],
    }
    values.update(overrides)
    return Credential(**values)  # type: ignore[arg-type]


def pending_count(aggregate: object) -> int:
    return len(aggregate._pending_events)  # type: ignore[attr-defined]


class TestStudyLoadPolicy:
    def test_microcredential_below_84_hours_is_refused_under_the_national_pilot(self) -> None:
        spec = AchievementSpec.parse(micro(study_load_hours=56, ects=2))
        with pytest.raises(StudyLoadTooLow, match="84 h"):
            Achievement.define(issuer_id=uuid4(), spec=spec, policy=NATIONAL_PILOT)

    def test_84_hours_is_enough(self) -> None:
        spec = AchievementSpec.parse(micro(study_load_hours=84, ects=3))
        Achievement.define(issuer_id=uuid4(), spec=spec, policy=NATIONAL_PILOT)

    def test_experiment_allows_one_ec_inside_its_period_only(self) -> None:
        spec = AchievementSpec.parse(micro(study_load_hours=28, ects=1))
        Achievement.define(issuer_id=uuid4(), spec=spec, policy=NATIONAL_EXPERIMENT_1EC)
        issuer = Issuer(name="U", country="NL", identifiers={})
        issuer.adopt_policy(NATIONAL_EXPERIMENT_1EC)
        inside = datetime(2026, 1, 1, tzinfo=UTC)
        after = datetime(2027, 4, 30, tzinfo=UTC)
        assert issuer.policy_at(inside) == NATIONAL_EXPERIMENT_1EC
        assert issuer.policy_at(after) == NATIONAL_PILOT
        with pytest.raises(StudyLoadTooLow):
            spec.check_study_load(issuer.policy_at(after))

    def test_edubadges_have_no_minimum(self) -> None:
        spec = AchievementSpec.parse(badge())
        Achievement.define(issuer_id=uuid4(), spec=spec, policy=NATIONAL_PILOT)

    def test_a_policy_period_must_be_positive(self) -> None:
        with pytest.raises(InvalidInput):
            StudyLoadPolicy(
                policy_id="p",
                version=1,
                min_hours=1,
                min_ects=Decimal(1),
                in_force_from=datetime(2026, 1, 1, tzinfo=UTC),
                in_force_until=datetime(2025, 1, 1, tzinfo=UTC),
            )


class TestAchievementSpec:
    @pytest.mark.parametrize(
        "field",
        [
            "title",
            "awarding_body",
            "learning_outcomes",
            "study_load_hours",
            "eqf_level",
            "quality_assurance",
        ],
    )
    def test_every_eu_element_is_required_for_a_microcredential(self, field: str) -> None:
        data = micro()
        del data[field]
        with pytest.raises(InvalidInput, match=field):
            AchievementSpec.parse(data)

    def test_edubadge_needs_only_title_description_criteria(self) -> None:
        assert AchievementSpec.parse(badge()).kind == "edubadge"
        with pytest.raises(InvalidInput, match="criteria"):
            AchievementSpec.parse(badge(criteria=""))

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("eqf_level", 9),
            ("participation_form", "telepathy"),
            ("country", "nl"),
            ("ects", 20),
            ("kind", "diploma"),
        ],
    )
    def test_malformed_values_name_their_field(self, field: str, value: object) -> None:
        with pytest.raises(InvalidInput, match=field):
            AchievementSpec.parse(micro(**{field: value}))

    def test_unknown_fields_are_refused(self) -> None:
        with pytest.raises(InvalidInput, match="colour"):
            AchievementSpec.parse(micro(colour="blue"))

    def test_revisions_keep_earlier_content(self) -> None:
        achievement = Achievement.define(
            issuer_id=uuid4(), spec=AchievementSpec.parse(micro()), policy=NATIONAL_PILOT
        )
        revision = achievement.revise(
            AchievementSpec.parse(micro(title="New title")), reason="typo", policy=NATIONAL_PILOT
        )
        assert revision == 2
        assert achievement.revisions[1].title == micro()["title"]
        assert achievement.current.title == "New title"
        with pytest.raises(InvalidInput, match="kind"):
            achievement.revise(AchievementSpec.parse(badge()), reason="x", policy=NATIONAL_PILOT)


class TestCredentialLifecycle:
    def test_suspend_reinstate_revoke(self) -> None:
        credential = new_credential()
        credential.suspend(reason="investigation")
        assert credential.status() == "suspended"
        credential.reinstate(reason="cleared")
        assert credential.status() == "active"
        credential.revoke(reason="fraud")
        assert credential.status() == "revoked"

    @pytest.mark.parametrize(
        "command",
        [
            lambda c: c.reinstate(reason="x"),
            lambda c: c.suspend(reason="x"),
            lambda c: c.revoke(reason="x"),
            lambda c: c.amend(Amendment(result={"grade": "9"}), reason="x"),
        ],
    )
    def test_revocation_is_final(self, command: object) -> None:
        credential = new_credential()
        credential.revoke(reason="fraud")
        before = pending_count(credential)
        with pytest.raises(CredentialRevoked):
            command(credential)  # type: ignore[operator]
        assert pending_count(credential) == before

    def test_reasons_are_required(self) -> None:
        credential = new_credential()
        with pytest.raises(InvalidInput, match="reason"):
            credential.revoke(reason="  ")
        with pytest.raises(InvalidInput, match="reason"):
            credential.suspend(reason="")

    def test_only_a_suspended_credential_is_reinstated(self) -> None:
        with pytest.raises(InvalidTransition):
            new_credential().reinstate(reason="x")

    def test_amendment_is_limited_to_correctable_fields(self) -> None:
        credential = new_credential()
        with pytest.raises(TypeError, match="learner_id"):
            Amendment(learner_id=uuid4())  # type: ignore[call-arg]
        credential.amend(Amendment(result={"grade": "9"}), reason="grade corrected")
        assert credential.result == {"grade": "9"}
        assert credential.amendments == 1

    def test_an_amendment_follows_the_rules_of_issuance(self) -> None:
        for bad in (
            {"result": {"grade": 9}},
            {"result": ["9"]},
            {"achievement_revision": 0},
            {"achievement_revision": True},
            {"evidence": [1]},
            {"valid_until": "2030-01-01T00:00:00Z"},
            {"valid_until": datetime(2030, 1, 1)},
            {},
        ):
            with pytest.raises(InvalidInput):
                Amendment(**bad)
        assert Amendment(valid_until=None).changes() == {"valid_until": None}
        assert Amendment(evidence=("https://x.example/e",)).changes() == {
            "evidence": ["https://x.example/e"]
        }

    def test_expiry(self) -> None:
        start = utcnow() - timedelta(days=10)
        credential = new_credential(valid_from=start, valid_until=start + timedelta(days=1))
        assert credential.status() == "expired"
        with pytest.raises(InvalidTransition):
            credential.suspend(reason="x")
        credential.record_expiry()
        with pytest.raises(InvalidTransition):
            credential.record_expiry()
        fresh = new_credential(valid_until=utcnow() + timedelta(days=1))
        with pytest.raises(InvalidTransition):
            fresh.record_expiry()

    def test_validity_must_end_after_it_starts(self) -> None:
        now = utcnow()
        with pytest.raises(InvalidInput, match="valid_until"):
            new_credential(valid_from=now, valid_until=now - timedelta(seconds=1))


class TestLearner:
    def test_consent_needs_grantee_scope_purpose_and_future_expiry(self) -> None:
        learner = Learner(learner_id=uuid4(), sealed_subject="aesgcm:sealed")
        owned = {uuid4()}
        good = {
            "consent_id": uuid4(),
            "grantee": "hr@x",
            "credential_ids": list(owned),
            "all_credentials": False,
            "purpose": "hiring",
            "expires_at": utcnow() + timedelta(days=1),
            "owned": owned,
        }
        for field, value, error in [
            ("grantee", " ", InvalidInput),
            ("purpose", "", InvalidInput),
            ("expires_at", utcnow() - timedelta(seconds=1), InvalidInput),
            ("all_credentials", True, InvalidInput),
            ("credential_ids", [uuid4()], NotFound),
        ]:
            with pytest.raises(error):
                learner.grant_consent(**{**good, field: value})  # type: ignore[arg-type]
        learner.grant_consent(**good)  # type: ignore[arg-type]
        credential_id = next(iter(owned))
        consent = learner.live_consent(grantee="hr@x", credential_id=credential_id, at=utcnow())
        learner.withdraw_consent(consent.consent_id)
        with pytest.raises(Forbidden):
            learner.record_lookup(grantee="hr@x", credential_id=credential_id, purpose_seen="x")
        with pytest.raises(InvalidTransition):
            learner.withdraw_consent(consent.consent_id)

    def test_consent_is_per_grantee_and_scope(self) -> None:
        learner = Learner(learner_id=uuid4(), sealed_subject="aesgcm:sealed")
        mine, other = uuid4(), uuid4()
        learner.grant_consent(
            consent_id=uuid4(),
            grantee="hr@x",
            credential_ids=[mine],
            all_credentials=False,
            purpose="hiring",
            expires_at=utcnow() + timedelta(days=1),
            owned={mine, other},
        )
        with pytest.raises(Forbidden):
            learner.live_consent(grantee="hr@y", credential_id=mine, at=utcnow())
        with pytest.raises(Forbidden):
            learner.live_consent(grantee="hr@x", credential_id=other, at=utcnow())
        with pytest.raises(Forbidden):
            learner.live_consent(
                grantee="hr@x", credential_id=mine, at=utcnow() + timedelta(days=2)
            )

    def test_share_links(self) -> None:
        learner = Learner(learner_id=uuid4(), sealed_subject="aesgcm:sealed")
        mine = uuid4()
        link_id = uuid4()
        learner.create_share_link(
            link_id=link_id,
            token_digest="a" * 64,
            credential_ids=[mine],
            expires_at=None,
            owned={mine},
        )
        assert learner.share_links[link_id].open_at(utcnow())
        learner.revoke_share_link(link_id)
        assert not learner.share_links[link_id].open_at(utcnow())
        with pytest.raises(InvalidTransition):
            learner.revoke_share_link(link_id)


class TestExemptionClaim:
    def submit(self, statuses: dict[object, str] | None = None) -> ExemptionClaim:
        learner_id = uuid4()
        credentials = {
            uuid4(): (learner_id, status) for status in (statuses or {"a": "active"}).values()
        }
        return ExemptionClaim.submit(
            learner_id=learner_id,
            institution_id=uuid4(),
            programme="B Informatics",
            credentials=credentials,
            motivation="",
        )

    def test_a_revoked_credential_cannot_back_a_claim(self) -> None:
        with pytest.raises(CredentialRevoked):
            self.submit({"a": "active", "b": "revoked"})

    def test_someone_elses_credential_cannot_back_a_claim(self) -> None:
        with pytest.raises(NotFound):  # and the refusal does not confirm it exists
            ExemptionClaim.submit(
                learner_id=uuid4(),
                institution_id=uuid4(),
                programme="B",
                credentials={uuid4(): (uuid4(), "active")},
                motivation="",
            )

    def test_decisions_and_withdrawal_only_while_pending(self) -> None:
        claim = self.submit()
        claim.approve(reason="matches")
        with pytest.raises(InvalidTransition):
            claim.reject(reason="x")
        with pytest.raises(InvalidTransition):
            claim.withdraw()
        withdrawn = self.submit()
        withdrawn.withdraw()
        with pytest.raises(InvalidTransition):
            withdrawn.approve(reason="x")

    def test_a_decision_needs_a_reason(self) -> None:
        with pytest.raises(InvalidInput):
            self.submit().reject(reason=" ")


class TestKeyRegistry:
    def test_lifecycle(self) -> None:
        registry = KeyRegistry(
            operator_kid="ed25519:op", operator_public_key="x", valid_from=utcnow()
        )
        registry.register(kid="ed25519:a", owner="issuer", public_key="y")
        with pytest.raises(RuleViolation):
            registry.register(kid="ed25519:a", owner="issuer", public_key="y")
        registry.retire("ed25519:a")
        with pytest.raises(InvalidTransition):
            registry.retire("ed25519:a")
        registry.mark_compromised("ed25519:a", since=utcnow(), reason="leaked")
        with pytest.raises(InvalidTransition):
            registry.mark_compromised("ed25519:a", since=utcnow(), reason="again")
        assert registry.active_key("issuer") is None


class TestStatusAllocation:
    def test_reservations_never_repeat_and_open_new_lists(self) -> None:
        issuer = Issuer(name="U", country="NL", identifiers={})
        first = issuer.reserve_status_entries(1000)
        assert len(set(first)) == 1000
        assert all(0 <= index < LIST_LENGTH for _, index in first)
        issuer.status_lists[-1].reserved = LIST_LENGTH - 2
        spanning = issuer.reserve_status_entries(5)
        assert [number for number, _ in spanning] == [1, 1, 2, 2, 2]

    def test_indexes_are_not_in_issuance_order(self) -> None:
        order = list(permutation(b"seed" * 8)[:100])
        assert order != sorted(order)

    def test_permutation_is_a_permutation(self) -> None:
        assert sorted(permutation(b"k" * 32, 4096)) == list(range(4096))


class TestStatusEntryPool:
    def test_blocks_grow_and_entries_are_handed_out_once(self) -> None:
        from ledger.application.status_entries import FIRST_BLOCK, LARGEST_BLOCK, StatusEntryPool

        issuer = Issuer(name="U", country="NL", identifiers={})
        blocks: list[int] = []

        def reserve(_: object, count: int) -> list[tuple[int, int]]:
            blocks.append(count)
            return issuer.reserve_status_entries(count)

        pool = StatusEntryPool(reserve)
        taken = [entry for _ in range(3000) for entry in pool.take(issuer.id, 1)]
        taken += pool.take(issuer.id, 5000)
        assert len(set(taken)) == len(taken) == 8000
        assert blocks[0] == FIRST_BLOCK + 1
        assert blocks[1] == 2 * FIRST_BLOCK + 1
        assert max(blocks[:-1]) == LARGEST_BLOCK + 1
        # A large cohort is reserved at once, with one more block for what follows.
        assert blocks[-1] >= 5000
        assert issuer.status_lists[-1].reserved == sum(blocks)
        assert pool.available(issuer.id) == sum(blocks) - 8000
