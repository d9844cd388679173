"""Exemption claim: a learner asks another institution's programme for an exemption.

The claim rests on one or more of the learner's own credentials, none revoked at
the time of the claim. The receiving institution approves or rejects it with a
reason; the learner can withdraw it while it is pending.
"""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.errors import CredentialRevoked, InvalidInput, InvalidTransition, NotFound

ClaimState = Literal["pending", "approved", "rejected", "withdrawn"]


class ExemptionClaim(LedgerAggregate):
    """An exemption claimed at a programme of a receiving institution."""

    TOPIC = "ledger/ExemptionClaim"

    def signing_authorities(self) -> set[str]:
        return {"operator", str(self.institution_id)}

    @classmethod
    def submit(
        cls,
        *,
        learner_id: UUID,
        institution_id: UUID,
        programme: str,
        credentials: dict[UUID, tuple[UUID, str]],
        motivation: str,
    ) -> ExemptionClaim:
        """Claim an exemption; ``credentials`` maps each id to (owner, status)."""
        if not credentials:
            raise InvalidInput("credential_ids: name at least one credential")
        if not programme.strip():
            raise InvalidInput("programme: required")
        for credential_id, (owner, status) in credentials.items():
            if owner != learner_id:
                # Another learner's credential: do not confirm that it exists.
                raise NotFound(f"credential {credential_id} not found")
            if status == "revoked":
                raise CredentialRevoked(f"credential {credential_id} is revoked")
        return cls(
            learner_id=learner_id,
            institution_id=institution_id,
            programme=programme.strip(),
            credential_ids=list(credentials),
            motivation=motivation.strip(),
        )

    @event("Submitted")
    def __init__(
        self,
        learner_id: UUID,
        institution_id: UUID,
        programme: str,
        credential_ids: list[UUID],
        motivation: str,
    ) -> None:
        self.learner_id = learner_id
        self.institution_id = institution_id
        self.programme = programme
        self.credential_ids = list(credential_ids)
        self.motivation = motivation
        self.state: ClaimState = "pending"
        self.reason = ""

    def _require_pending(self, what: str) -> None:
        if self.state != "pending":
            raise InvalidTransition(
                f"the claim is {self.state}; only a pending claim can be {what}"
            )

    def approve(self, *, reason: str) -> None:
        """The receiving institution grants the exemption."""
        self._require_pending("approved")
        if not reason.strip():
            raise InvalidInput("reason: required")
        self._approved(reason=reason.strip())

    @event("Approved")
    def _approved(self, reason: str) -> None:
        self.state = "approved"
        self.reason = reason

    def reject(self, *, reason: str) -> None:
        """The receiving institution refuses the exemption."""
        self._require_pending("rejected")
        if not reason.strip():
            raise InvalidInput("reason: required")
        self._rejected(reason=reason.strip())

    @event("Rejected")
    def _rejected(self, reason: str) -> None:
        self.state = "rejected"
        self.reason = reason

    def withdraw(self, *, reason: str = "") -> None:
        """The learner takes the claim back before it is decided."""
        self._require_pending("withdrawn")
        self._withdrawn(reason=reason.strip())

    @event("Withdrawn")
    def _withdrawn(self, reason: str) -> None:
        self.state = "withdrawn"
        self.reason = reason
