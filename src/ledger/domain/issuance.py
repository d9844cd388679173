"""Issuance request: makes bulk issuance idempotent under a caller's request id.

Saved in the same transaction as the credentials it created, with an id derived
from the issuer and the request id, so a repeated request finds it (and gets the
same credentials back) and a concurrent duplicate is refused by the database.
"""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate


def issuance_request_id(issuer_id: UUID, request_id: str) -> UUID:
    """The aggregate id of an issuer's request id."""
    return uuid5(NAMESPACE_URL, f"urn:ledger:issuance:{issuer_id}:{request_id}")


class IssuanceRequest(LedgerAggregate):
    """The record of one (bulk) issuance request and what it produced."""

    TOPIC = "ledger/IssuanceRequest"

    def signing_authorities(self) -> set[str]:
        return {str(self.issuer_id)}

    @staticmethod
    def create_id(issuer_id: UUID, request_id: str, **_: object) -> UUID:
        return issuance_request_id(issuer_id, request_id)

    @event("Completed")
    def __init__(
        self, issuer_id: UUID, request_id: str, body_digest: str, credential_ids: list[UUID]
    ) -> None:
        self.issuer_id = issuer_id
        self.request_id = request_id
        self.body_digest = body_digest
        self.credential_ids = list(credential_ids)
