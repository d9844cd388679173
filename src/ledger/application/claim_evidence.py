"""The evidence of an exemption claim, checked live: for the inbox over HTTP, the
console's page and ``ledger claims``.

"Live" means read from the log now, not from a projection: each evidence credential
is loaded through the ledger, whose mapper checks every event's Ed25519 signature,
its chain link and its key's validity on the way (a tampered or compromise-
invalidated event fails), and its state is computed at this instant.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from ledger.application.ledger import Ledger
from ledger.domain.exemption import ExemptionClaim
from ledger.errors import NotFound, TamperDetected


def claim_view(ledger: Ledger, views: Any, claim: ExemptionClaim) -> dict[str, Any]:
    """A claim as the inbox shows it (HTTP, page and CLI alike), its evidence checked live."""
    return {
        "claim_id": str(claim.id),
        "institution_id": str(claim.institution_id),
        "programme": claim.programme,
        "learner_id": str(claim.learner_id),
        "motivation": claim.motivation,
        "state": claim.state,
        "reason": claim.reason,
        "evidence": checked(
            ledger, views, [str(c) for c in claim.credential_ids], str(claim.learner_id)
        ),
    }


def checked(
    ledger: Ledger, views: Any, credential_ids: list[str], learner_id: str
) -> list[dict[str, Any]]:
    """Each evidence credential as the log says it is now: state, signatures, holder."""
    found = []
    for credential_id in credential_ids:
        item: dict[str, Any] = {"credential_id": credential_id}
        try:
            credential = ledger.credential(UUID(credential_id))
        except NotFound:
            item.update(state=None, signatures="missing", usable=False)
        except TamperDetected as error:
            item.update(state=None, signatures=f"failed: {error.kind}: {error}", usable=False)
        else:
            state = credential.status()
            issuer = views.institution(credential.issuer_id)
            revision = views.achievement_revisions(credential.achievement_id)
            spec: dict[str, Any] = next(
                (r["spec"] for r in revision if r["revision"] == credential.achievement_revision),
                {},
            )
            item.update(
                state=state,
                signatures="verified: every event signed by a valid key and chained",
                issuer_id=str(credential.issuer_id),
                issuer_name=issuer["name"] if issuer else None,
                achievement=spec.get("title"),
                ects=spec.get("ects"),
                held_by_claimant=str(credential.learner_id) == learner_id,
                usable=state == "active" and str(credential.learner_id) == learner_id,
            )
        found.append(item)
    return found
