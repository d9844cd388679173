"""Learners: their own backpack, share links, consents and exemption claims only."""

from __future__ import annotations

from uuid import UUID

from fastapi import APIRouter, status
from ledger.api.deps import LearnerDep, ServicesDep
from ledger.api.problems import PROBLEM_RESPONSES
from ledger.api.schemas import (
    BackpackOut,
    ClaimIn,
    ConsentIn,
    Created,
    CredentialView,
    ShareLinkIn,
    ShareLinkOut,
    WithdrawIn,
)

from ledger.errors import NotFound

router = APIRouter(prefix="/v1/me", tags=["learners"], responses=PROBLEM_RESPONSES)


@router.get("/backpack")
def backpack(actor: LearnerDep, services: ServicesDep) -> BackpackOut:
    """Every credential with its state and history, consents, links, lookups and claims."""
    learner_id = services.ledger.learner_ids.of(actor.subject)
    views = services.views
    return BackpackOut(
        learner_id=learner_id,
        credentials=[CredentialView(**c.shown()) for c in views.backpack(learner_id)],
        consents=views.consents(learner_id),
        share_links=views.share_links(learner_id),
        lookups=views.lookups(learner_id),
        exemption_claims=views.claims_of(learner_id),
        erased_at=views.erased_at(learner_id),
    )


@router.get("/credentials/{credential_id}")
def credential(credential_id: UUID, actor: LearnerDep, services: ServicesDep) -> CredentialView:
    """One of the learner's credentials with its history."""
    found = services.views.credential(credential_id)
    if found is None or found.learner_id != str(services.ledger.learner_ids.of(actor.subject)):
        raise NotFound(f"credential {credential_id} not found")
    return CredentialView(**found.shown())


@router.post("/share-links", status_code=status.HTTP_201_CREATED)
def create_share_link(body: ShareLinkIn, actor: LearnerDep, services: ServicesDep) -> ShareLinkOut:
    """Share credentials under a secret link (shown once); its page shows the learner's
    name only if ``shown_name`` gives it."""
    link_id, token = services.write(
        actor,
        lambda: services.ledger.create_share_link(
            actor.subject,
            credential_ids=body.credential_ids,
            expires_at=body.expires_at,
            shown_name=body.shown_name,
        ),
    )
    return ShareLinkOut(
        id=link_id, token=token, url=f"{services.settings.public_url}/v1/shared/{token}"
    )


@router.delete("/share-links/{link_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_share_link(link_id: UUID, actor: LearnerDep, services: ServicesDep) -> None:
    """Close a share link."""
    services.write(actor, lambda: services.ledger.revoke_share_link(actor.subject, link_id))


@router.post("/consents", status_code=status.HTTP_201_CREATED)
def grant_consent(body: ConsentIn, actor: LearnerDep, services: ServicesDep) -> Created:
    """Let an employer look up named credentials (or all) for a purpose until a date."""
    consent_id = services.write(
        actor,
        lambda: services.ledger.grant_consent(
            actor.subject,
            grantee=body.grantee,
            credential_ids=body.credential_ids,
            all_credentials=body.all_credentials,
            purpose=body.purpose,
            expires_at=body.expires_at,
        ),
    )
    return Created(id=consent_id)


@router.delete("/consents/{consent_id}", status_code=status.HTTP_204_NO_CONTENT)
def withdraw_consent(consent_id: UUID, actor: LearnerDep, services: ServicesDep) -> None:
    """End a consent now."""
    services.write(actor, lambda: services.ledger.withdraw_consent(actor.subject, consent_id))


@router.post("/exemption-claims", status_code=status.HTTP_201_CREATED)
def submit_claim(body: ClaimIn, actor: LearnerDep, services: ServicesDep) -> Created:
    """Claim an exemption at another institution's programme."""
    claim_id = services.write(
        actor,
        lambda: services.ledger.submit_exemption_claim(
            actor.subject,
            institution_id=body.institution_id,
            programme=body.programme,
            credential_ids=body.credential_ids,
            motivation=body.motivation,
        ),
    )
    return Created(id=claim_id)


@router.post("/exemption-claims/{claim_id}/withdraw", status_code=status.HTTP_204_NO_CONTENT)
def withdraw_claim(
    claim_id: UUID, body: WithdrawIn, actor: LearnerDep, services: ServicesDep
) -> None:
    """Withdraw a pending claim."""
    services.write(
        actor, lambda: services.ledger.withdraw_exemption_claim(claim_id, reason=body.reason)
    )
