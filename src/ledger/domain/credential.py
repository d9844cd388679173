"""Credential: one achievement awarded to one learner, and everything that befell it.

A credential is issued under an achievement revision and a study-load policy;
it can be amended (a correction with a reason, the earlier values kept in the
log), suspended and reinstated, revoked (with a reason; final) and it expires
when its validity end passes (recorded by an ``Expired`` event when the ledger
notices, and in any case reported as expired from that instant on).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, as_datetime, utcnow
from ledger.errors import CredentialRevoked, InvalidInput, InvalidTransition

Status = Literal["active", "suspended", "revoked", "expired"]

#: What an amendment may correct; identity, issuer and status entry never change.
AMENDABLE = ("valid_until", "result", "achievement_revision", "evidence")


def check_result(result: object) -> dict[str, str]:
    """A credential's result, as issuance and amendment both require: names to texts."""
    if not isinstance(result, dict) or not all(
        isinstance(name, str) and isinstance(value, str) for name, value in result.items()
    ):
        raise InvalidInput("result: must be an object whose values are texts")
    return dict(result)


def check_evidence(evidence: object) -> tuple[str, ...]:
    """A credential's evidence, as issuance and amendment both require: a list of texts."""
    if not isinstance(evidence, list | tuple) or not all(isinstance(e, str) for e in evidence):
        raise InvalidInput("evidence: must be a list of texts")
    return tuple(evidence)


class Keep(enum.Enum):
    """Marks a field an amendment leaves as it is (where None is a value: no end date)."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass(frozen=True)
class Amendment:
    """What an amendment corrects: each field given is checked by the rules of issuance;
    ``None`` (``KEEP`` for ``valid_until``, where None means "no end") leaves it as it is."""

    valid_until: datetime | Keep | None = KEEP
    result: dict[str, str] | None = None
    achievement_revision: int | None = None
    evidence: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.valid_until, datetime | None | Keep):
            raise InvalidInput("valid_until: must be a time")
        if isinstance(self.valid_until, datetime) and self.valid_until.tzinfo is None:
            raise InvalidInput("valid_until: needs a time zone")
        if self.result is not None:
            check_result(self.result)
        if self.evidence is not None:
            object.__setattr__(self, "evidence", check_evidence(self.evidence))
        revision = self.achievement_revision
        if revision is not None and (type(revision) is not int or revision < 1):
            raise InvalidInput("achievement_revision: must be a revision number (1 or more)")
        if not self.changes():
            raise InvalidInput(f"changes: name at least one of {', '.join(AMENDABLE)}")

    def changes(self) -> dict[str, Any]:
        """The corrected fields, as the ``Amended`` event records them."""
        changes: dict[str, Any] = {}
        if self.valid_until is not KEEP:
            changes["valid_until"] = self.valid_until
        if self.result is not None:
            changes["result"] = dict(self.result)
        if self.achievement_revision is not None:
            changes["achievement_revision"] = self.achievement_revision
        if self.evidence is not None:
            changes["evidence"] = list(self.evidence)
        return changes


def _reason(reason: str) -> str:
    if not reason.strip():
        raise InvalidInput("reason: required")
    return reason.strip()


class Credential(LedgerAggregate):
    """A credential awarded to a learner."""

    TOPIC = "ledger/Credential"

    def signing_authorities(self) -> set[str]:
        return {str(self.issuer_id)}

    @event("Issued")
    def __init__(
        self,
        issuer_id: UUID,
        achievement_id: UUID,
        achievement_revision: int,
        learner_id: UUID,
        valid_from: datetime,
        valid_until: datetime | None,
        status_list: int,
        status_index: int,
        policy: str | None,
        result: dict[str, str],
        evidence: list[str],
    ) -> None:
        self.check_validity(valid_from, valid_until)
        self.issuer_id = issuer_id
        self.achievement_id = achievement_id
        self.achievement_revision = achievement_revision
        self.learner_id = learner_id
        self.valid_from = valid_from
        self.valid_until = valid_until
        self.status_list = status_list
        self.status_index = status_index
        self.policy = policy
        self.result = dict(result)
        self.evidence = list(evidence)
        self.suspended = False
        self.revoked = False
        self.expired_recorded = False
        self.reasons: list[str] = []
        self.amendments = 0

    @staticmethod
    def check_validity(valid_from: datetime, valid_until: datetime | None) -> None:
        """Refuse a validity period that ends before it starts (checkable before issuing)."""
        if valid_until is not None and valid_until <= valid_from:
            raise InvalidInput("valid_until: must be after valid_from")

    def status(self, at: datetime | None = None) -> Status:
        """The credential's status at ``at`` (now by default)."""
        if self.revoked:
            return "revoked"
        when = at or utcnow()
        if self.expired_recorded or (self.valid_until is not None and when >= self.valid_until):
            return "expired"
        return "suspended" if self.suspended else "active"

    def _refuse_if_revoked(self, what: str) -> None:
        if self.revoked:
            raise CredentialRevoked(f"credential {self.id} is revoked and cannot be {what}")

    def amend(self, amendment: Amendment, *, reason: str) -> None:
        """Correct what was wrong; the earlier values stay in the log."""
        self._refuse_if_revoked("amended")
        changes = amendment.changes()
        until = changes.get("valid_until", self.valid_until)
        if until is not None and until <= self.valid_from:
            raise InvalidInput("valid_until: must be after valid_from")
        self._amended(changes=changes, reason=_reason(reason))

    @event("Amended")
    def _amended(self, changes: dict[str, Any], reason: str) -> None:
        for name, value in changes.items():
            setattr(
                self,
                name,
                as_datetime(value) if name == "valid_until" else value,
            )
        self.amendments += 1
        self.reasons.append(reason)

    def suspend(self, *, reason: str) -> None:
        """Suspend an active credential (verifiers see it as not valid for now)."""
        self._refuse_if_revoked("suspended")
        current = self.status()
        if current != "active":
            raise InvalidTransition(f"only an active credential can be suspended; it is {current}")
        self._suspended(reason=_reason(reason))

    @event("Suspended")
    def _suspended(self, reason: str) -> None:
        self.suspended = True
        self.reasons.append(reason)

    def reinstate(self, *, reason: str) -> None:
        """Lift a suspension."""
        self._refuse_if_revoked("reinstated")
        if not self.suspended:
            raise InvalidTransition("only a suspended credential can be reinstated")
        self._reinstated(reason=_reason(reason))

    @event("Reinstated")
    def _reinstated(self, reason: str) -> None:
        self.suspended = False
        self.reasons.append(reason)

    def revoke(self, *, reason: str) -> None:
        """Revoke for good; nothing can change the credential afterwards."""
        self._refuse_if_revoked("revoked again")
        self._revoked(reason=_reason(reason))

    @event("Revoked")
    def _revoked(self, reason: str) -> None:
        self.revoked = True
        self.reasons.append(reason)

    def record_expiry(self, *, now: datetime | None = None) -> None:
        """Record in the log that the validity end has passed."""
        self._refuse_if_revoked("expired")
        when = now or utcnow()
        if self.expired_recorded:
            raise InvalidTransition("the expiry is already recorded")
        if self.valid_until is None or when < self.valid_until:
            raise InvalidTransition("the credential's validity has not ended")
        self._expired()

    @event("Expired")
    def _expired(self) -> None:
        self.expired_recorded = True
