"""Administrators of an issuer: achievements, issuance, corrections, keys, claims to decide."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Header, Query, status
from ledger.api.deps import AdministratorDep, Services, ServicesDep
from ledger.api.problems import PROBLEM_RESPONSES
from ledger.api.schemas import (
    PRINTABLE,
    AchievementIn,
    AmendIn,
    CohortIn,
    CohortOut,
    Created,
    DecisionIn,
    IssueIn,
    KeyOut,
    Page,
    ReasonIn,
    RevisionIn,
    RevisionOut,
)
from pydantic import AwareDatetime

from ledger.application.actor import Actor
from ledger.eventlog.canonical_json import format_datetime

router = APIRouter(prefix="/v1", tags=["administrators"], responses=PROBLEM_RESPONSES)


def _own(services: Services, actor: Actor, issuer_id: UUID) -> None:
    """The one gate of every read and write of this router on an issuer."""
    with services.acting(actor):
        services.ledger.administered_issuer(issuer_id)


@router.post("/issuers/{issuer_id}/achievements", status_code=status.HTTP_201_CREATED)
def define_achievement(
    issuer_id: UUID, body: AchievementIn, actor: AdministratorDep, services: ServicesDep
) -> Created:
    """Register an achievement (microcredential or edubadge)."""
    _own(services, actor, issuer_id)
    return Created(
        id=services.write(actor, lambda: services.ledger.define_achievement(issuer_id, body.spec()))
    )


@router.post("/achievements/{achievement_id}/revisions", status_code=status.HTTP_201_CREATED)
def revise_achievement(
    achievement_id: UUID, body: RevisionIn, actor: AdministratorDep, services: ServicesDep
) -> RevisionOut:
    """Add a revision; credentials keep the revision they were issued under."""
    revision = services.write(
        actor,
        lambda: services.ledger.revise_achievement(
            achievement_id, body.achievement.spec(), reason=body.reason
        ),
    )
    return RevisionOut(revision=revision)


@router.post("/issuers/{issuer_id}/credentials", status_code=status.HTTP_201_CREATED)
def issue_credential(
    issuer_id: UUID, body: IssueIn, actor: AdministratorDep, services: ServicesDep
) -> Created:
    """Issue one credential."""
    _own(services, actor, issuer_id)
    credential_id = services.write(
        actor,
        lambda: services.ledger.issue_credential(
            issuer_id, body.achievement_id, body.credential.order()
        ),
    )
    return Created(id=credential_id)


@router.post("/issuers/{issuer_id}/cohorts", status_code=status.HTTP_201_CREATED)
def issue_cohort(
    issuer_id: UUID,
    body: CohortIn,
    actor: AdministratorDep,
    services: ServicesDep,
    idempotency_key: Annotated[str, Header(min_length=1, max_length=200, pattern=PRINTABLE)],
) -> CohortOut:
    """Issue a cohort atomically; the same Idempotency-Key and body return the same credentials."""
    _own(services, actor, issuer_id)
    ids = services.write(
        actor,
        lambda: services.ledger.issue_cohort(
            issuer_id,
            body.achievement_id,
            [c.order() for c in body.credentials],
            request_id=idempotency_key,
        ),
    )
    return CohortOut(credential_ids=ids)


@router.post("/credentials/{credential_id}/amend", status_code=status.HTTP_204_NO_CONTENT)
def amend(
    credential_id: UUID, body: AmendIn, actor: AdministratorDep, services: ServicesDep
) -> None:
    """Correct a credential; its history is kept."""
    amendment = body.amendment()
    services.write(
        actor,
        lambda: services.ledger.amend_credential(credential_id, amendment, reason=body.reason),
    )


@router.post("/credentials/{credential_id}/suspend", status_code=status.HTTP_204_NO_CONTENT)
def suspend(
    credential_id: UUID, body: ReasonIn, actor: AdministratorDep, services: ServicesDep
) -> None:
    """Suspend a credential."""
    services.write(
        actor, lambda: services.ledger.suspend_credential(credential_id, reason=body.reason)
    )


@router.post("/credentials/{credential_id}/reinstate", status_code=status.HTTP_204_NO_CONTENT)
def reinstate(
    credential_id: UUID, body: ReasonIn, actor: AdministratorDep, services: ServicesDep
) -> None:
    """Lift a suspension."""
    services.write(
        actor, lambda: services.ledger.reinstate_credential(credential_id, reason=body.reason)
    )


@router.post("/credentials/{credential_id}/revoke", status_code=status.HTTP_204_NO_CONTENT)
def revoke(
    credential_id: UUID, body: ReasonIn, actor: AdministratorDep, services: ServicesDep
) -> None:
    """Revoke a credential for good."""
    services.write(
        actor, lambda: services.ledger.revoke_credential(credential_id, reason=body.reason)
    )


@router.post("/issuers/{issuer_id}/keys/rotate", status_code=status.HTTP_201_CREATED)
def rotate_key(issuer_id: UUID, actor: AdministratorDep, services: ServicesDep) -> KeyOut:
    """Give the issuer a new signing key; the old one is retired, its signatures stay valid."""
    _own(services, actor, issuer_id)
    return KeyOut(kid=services.write(actor, lambda: services.ledger.rotate_issuer_key(issuer_id)))


@router.get("/issuers/{issuer_id}/credentials")
def list_issued(
    issuer_id: UUID,
    actor: AdministratorDep,
    services: ServicesDep,
    state: Annotated[str | None, Query(pattern="^(active|suspended|revoked|expired)$")] = None,
    after: Annotated[str | None, Query(max_length=64, pattern=PRINTABLE)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    achievement_id: Annotated[UUID | None, Query()] = None,
    issued_from: Annotated[AwareDatetime | None, Query()] = None,
    issued_until: Annotated[AwareDatetime | None, Query()] = None,
) -> Page:
    """What the issuer issued, filtered by state, achievement and issue date (from inclusive,
    until exclusive), paginated by a stable cursor. To search by learner, POST
    ``/credentials/search`` (a subject never goes in a URL)."""
    _own(services, actor, issuer_id)
    items = services.views.issued_by(
        issuer_id,
        state=state,
        achievement_id=achievement_id,
        issued_from=format_datetime(issued_from) if issued_from else None,
        issued_until=format_datetime(issued_until) if issued_until else None,
        after=after,
        limit=limit,
    )
    return Page(
        items=[asdict(item) for item in items],
        next=items[-1].credential_id if len(items) == limit else None,
    )


@router.get("/issuers/{issuer_id}/exemption-claims")
def claims_to_decide(
    issuer_id: UUID,
    actor: AdministratorDep,
    services: ServicesDep,
    state: Annotated[
        str | None, Query(pattern="^(pending|approved|rejected|withdrawn)$")
    ] = "pending",
    programme: Annotated[str | None, Query(max_length=500, pattern=PRINTABLE)] = None,
) -> Page:
    """Exemption claims addressed to this institution."""
    _own(services, actor, issuer_id)
    return Page(
        items=services.views.exemption_register(issuer_id, programme=programme, state=state),
        next=None,
    )


@router.post("/exemption-claims/{claim_id}/decision", status_code=status.HTTP_204_NO_CONTENT)
def decide(
    claim_id: UUID, body: DecisionIn, actor: AdministratorDep, services: ServicesDep
) -> None:
    """Approve or reject a claim addressed to this institution."""
    services.write(
        actor,
        lambda: services.ledger.decide_exemption_claim(
            claim_id, approve=body.approve, reason=body.reason
        ),
    )
