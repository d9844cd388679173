"""The claims inbox: exemption claims addressed to an institution, with the evidence
credentials checked live, decisions with a reason, and decided claims searchable.

"Checked live" means read from the log now, not from a projection: each evidence
credential is loaded through the ledger, whose mapper checks every event's Ed25519
signature, its chain link and its key's validity on the way (a tampered or
compromise-invalidated event fails), and its state is computed at this instant.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query
from ledger.api.deps import ServicesDep, StaffDep
from ledger.api.problems import PROBLEM_RESPONSES
from ledger.api.schemas import Page
from pydantic import AwareDatetime

from ledger.application import authorization, claim_evidence
from ledger.eventlog.canonical_json import format_datetime

router = APIRouter(prefix="/v1", tags=["administrators"], responses=PROBLEM_RESPONSES)

ClaimState = Literal["pending", "approved", "rejected", "withdrawn", "any"]


def evidence(services: Any, credential_ids: list[str], learner_id: str) -> list[dict[str, Any]]:
    """Each evidence credential as the log says it is now (``claim_evidence.checked``)."""
    return claim_evidence.checked(services.ledger, services.views, credential_ids, learner_id)


@router.get("/issuers/{issuer_id}/claims")
def inbox(
    issuer_id: UUID,
    actor: StaffDep,
    services: ServicesDep,
    state: Annotated[ClaimState, Query(description="'any' for every state")] = "pending",
    programme: Annotated[str | None, Query(max_length=500, pattern=r"^[^\x00]*$")] = None,
    decided_from: Annotated[AwareDatetime | None, Query()] = None,
    decided_until: Annotated[AwareDatetime | None, Query()] = None,
    after: Annotated[UUID | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page:
    """Claims addressed to the institution (pending by default), each with its evidence
    credentials checked live; decided ones searchable by outcome, programme and date."""
    with services.acting(actor):
        services.ledger.administered_issuer(issuer_id)
    claims = services.views.claims_at(
        issuer_id,
        state=None if state == "any" else state,
        programme=programme,
        decided_from=format_datetime(decided_from) if decided_from else None,
        decided_until=format_datetime(decided_until) if decided_until else None,
        after=str(after) if after else None,
        limit=limit,
    )
    for claim in claims:
        claim["evidence"] = evidence(services, claim["credential_ids"], claim["learner_id"])
    return Page(items=claims, next=claims[-1]["claim_id"] if len(claims) == limit else None)


@router.get("/exemption-claims/{claim_id}")
def claim(claim_id: UUID, actor: StaffDep, services: ServicesDep) -> dict[str, Any]:
    """One claim addressed to the caller's institution, its evidence checked live."""
    found = services.ledger.exemption_claim(claim_id)
    institution = services.ledger.issuer(found.institution_id)
    authorization.require_administrator(actor, institution, hidden=f"exemption claim {claim_id}")
    return claim_evidence.claim_view(services.ledger, services.views, found)
