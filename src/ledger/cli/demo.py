"""A small, realistic world for trying the ledger: ``ledger demo`` builds it.

Two institutions, microcredentials and edubadges, a cohort, an amendment, a
suspension and reinstatement, a revocation, consents, and two exemption claims
(one approved, one rejected). Every step goes through the same commands an
administrator, learner or verifier would use, under their own actor.
"""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any
from uuid import UUID

from ledger.application.actor import CLI_OPERATOR, Actor, acting_as
from ledger.application.ledger import CredentialOrder, Ledger
from ledger.domain.achievement import AchievementSpec
from ledger.domain.base import utcnow
from ledger.domain.credential import Amendment
from ledger.errors import Forbidden


def _admin(subject: str, issuer_id: UUID) -> Actor:
    return Actor(
        subject=subject, role="administrator", authenticated_by="demo", issuer_id=issuer_id
    )


def _learner(subject: str) -> Actor:
    return Actor(subject=subject, role="learner", authenticated_by="demo")


def _badge_image(colour: str) -> str:
    """A small inline SVG badge image, so the demo names no outside URL."""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 64 64">'
        f'<circle cx="32" cy="32" r="30" fill="{colour}"/></svg>'
    )
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


MICRO_DATA_SCIENCE: dict[str, Any] = {
    "kind": "microcredential",
    "title": "Data Science Foundations",
    "description": "Statistics, Python and reproducible analysis for professionals.",
    "awarding_body": "Universiteit Demo",
    "country": "NL",
    "learning_outcomes": [
        "Explores a data set and reports its structure",
        "Builds and evaluates a regression model",
    ],
    "study_load_hours": 140,
    "ects": 5,
    "eqf_level": 6,
    "nlqf_level": "6",
    "assessment_type": "testing",
    "assessment_description": "Written exam and project report",
    "participation_form": "onsite or blended",
    "supervision_type": "onsite with identity verification",
    "identity_checked": True,
    "quality_assurance": "NVAO accredited programme",
    "quality_assurance_code": "NVAO-2024-0042",
    "quality_assurance_url": "https://www.nvao.net/nl/besluiten/demo-2024-0042",
    "quality_assurance_description": "Accreditation decision for the data science minor",
    "language": "en",
    "field_of_study": "Data science",
    "image": _badge_image("#1f6feb"),
}

MICRO_ENERGY: dict[str, Any] = {
    **MICRO_DATA_SCIENCE,
    "title": "Energy Transition in the Built Environment",
    "description": "Heat pumps, insulation and the regulation behind them.",
    "awarding_body": "Hogeschool Demo",
    "learning_outcomes": ["Designs a heating plan for an existing building"],
    "study_load_hours": 84,
    "ects": 3,
    "eqf_level": 5,
    "assessment_type": "application of a skill",
    "assessment_description": "Practical assignment on a real building",
    "participation_form": "onsite or blended",
    "image": _badge_image("#2da44e"),
    "language": "nl",
    "field_of_study": "Built environment",
}

EDUBADGE_BOARD: dict[str, Any] = {
    "kind": "edubadge",
    "title": "Student Association Board Year",
    "description": "A full year on the board of a student association.",
    "criteria": "Served twelve months as a board member and presented the annual report.",
    "language": "nl",
    "image": _badge_image("#bf8700"),
}


def build_demo(ledger: Ledger, *, cohort_size: int = 12) -> dict[str, Any]:
    """Fill ``ledger`` with the demo world; returns the ids of what it made."""
    with acting_as(CLI_OPERATOR):
        if ledger.keyring.registry is None:
            ledger.keyring.refresh()
        if ledger.keyring.registry is None:
            ledger.establish()
        university = ledger.register_issuer(
            name="Universiteit Demo",
            country="NL",
            identifiers={"brin": "21XX"},
            administrators=["alice@uni.example"],
        )
        college = ledger.register_issuer(
            name="Hogeschool Demo",
            country="NL",
            identifiers={"brin": "22YY"},
            administrators=["bob@hs.example"],
        )
    learners = [f"eduid-demo-{n:03d}" for n in range(1, cohort_size + 1)]
    with acting_as(_admin("alice@uni.example", university)):
        data_science = ledger.define_achievement(
            university, AchievementSpec.parse(MICRO_DATA_SCIENCE)
        )
        board = ledger.define_achievement(university, AchievementSpec.parse(EDUBADGE_BOARD))
        cohort = ledger.issue_cohort(
            university,
            data_science,
            [CredentialOrder(learner_subject=s, result={"grade": "8"}) for s in learners],
            request_id="demo-cohort-2026",
        )
        badge = ledger.issue_credential(
            university, board, CredentialOrder(learner_subject=learners[0])
        )
        ledger.amend_credential(
            cohort[1], Amendment(result={"grade": "9"}), reason="Grade corrected after review"
        )
        ledger.suspend_credential(cohort[2], reason="Suspected plagiarism under investigation")
        ledger.reinstate_credential(cohort[2], reason="Investigation closed without findings")
        ledger.revoke_credential(
            cohort[3], reason="Exam fraud established by the board of examiners"
        )
        ledger.suspend_credential(cohort[6], reason="Result under review by the exam board")
    with acting_as(_admin("bob@hs.example", college)):
        energy = ledger.define_achievement(college, AchievementSpec.parse(MICRO_ENERGY))
        energy_credential = ledger.issue_credential(
            college,
            energy,
            CredentialOrder(
                learner_subject=learners[0], valid_until=utcnow() + timedelta(days=5 * 365)
            ),
        )
    with acting_as(_learner(learners[0])):
        consent = ledger.grant_consent(
            learners[0],
            grantee="hr@employer.example",
            credential_ids=[cohort[0]],
            purpose="Job application: data analyst",
            expires_at=utcnow() + timedelta(days=30),
        )
        link_id, token = ledger.create_share_link(
            learners[0], credential_ids=[cohort[0], badge], shown_name="Eva de Vries"
        )
        approved_claim = ledger.submit_exemption_claim(
            learners[0],
            institution_id=college,
            programme="B Built Environment",
            credential_ids=[cohort[0]],
            motivation="Covers the statistics course of year 1",
        )
    with acting_as(_learner(learners[4])):
        rejected_claim = ledger.submit_exemption_claim(
            learners[4],
            institution_id=college,
            programme="B Built Environment",
            credential_ids=[cohort[4]],
            motivation="Please exempt me from the energy module",
        )
    with acting_as(_admin("bob@hs.example", college)):
        ledger.decide_exemption_claim(
            approved_claim, approve=True, reason="Learning outcomes match"
        )
        ledger.decide_exemption_claim(
            rejected_claim, approve=False, reason="Outcomes do not cover the module"
        )
    with acting_as(Actor(subject="hr@employer.example", role="verifier", authenticated_by="demo")):
        ledger.look_up(
            learner_id=ledger.credential(cohort[0]).learner_id,
            credential_id=cohort[0],
            purpose="Job application: data analyst",
        )
        refused = False
        try:
            ledger.look_up(
                learner_id=ledger.credential(cohort[5]).learner_id,
                credential_id=cohort[5],
                purpose="Curiosity",
            )
        except Forbidden:
            refused = True
    return {
        "issuers": {"university": university, "college": college},
        "achievements": {"data_science": data_science, "board": board, "energy": energy},
        "credentials": {
            "cohort": cohort,
            "badge": badge,
            "energy": energy_credential,
            "amended": cohort[1],
            "suspended_and_reinstated": cohort[2],
            "revoked": cohort[3],
            "suspended": cohort[6],
        },
        "learners": learners,
        "consent": consent,
        "share_link": {"id": link_id, "token": token},
        "exemption_claims": {"approved": approved_claim, "rejected": rejected_claim},
        "lookup_without_consent_refused": refused,
    }
