"""Small builders for test worlds; every one goes through the public commands."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.application.actor import CLI_OPERATOR, Actor, acting_as
from ledger.application.ledger import Ledger
from ledger.cli.demo import EDUBADGE_BOARD, MICRO_DATA_SCIENCE
from ledger.domain.achievement import AchievementSpec

ADMIN = "admin@uni.example"


def admin(issuer_id: UUID, subject: str = ADMIN) -> Actor:
    return Actor(
        subject=subject, role="administrator", authenticated_by="test", issuer_id=issuer_id
    )


def learner(subject: str) -> Actor:
    return Actor(subject=subject, role="learner", authenticated_by="test")


def verifier(subject: str) -> Actor:
    return Actor(subject=subject, role="verifier", authenticated_by="test")


def micro(**overrides: Any) -> dict[str, Any]:
    return {**MICRO_DATA_SCIENCE, **overrides}


def badge(**overrides: Any) -> dict[str, Any]:
    return {**EDUBADGE_BOARD, **overrides}


def new_issuer(ledger: Ledger, name: str = "Universiteit Test", subject: str = ADMIN) -> UUID:
    with acting_as(CLI_OPERATOR):
        return ledger.register_issuer(name=name, country="NL", administrators=[subject])


def new_achievement(ledger: Ledger, issuer_id: UUID, spec: dict[str, Any] | None = None) -> UUID:
    with acting_as(admin(issuer_id)):
        return ledger.define_achievement(issuer_id, AchievementSpec.parse(spec or micro()))
