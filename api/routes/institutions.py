"""The console's institution routes: onboarding, profile, administrators, policies, keys.

The operator registers institutions, edits them and manages keys; an institution's
administrators may read and edit their own. Every read checks the caller against
the institution's administrator list (``Ledger.administered_issuer``), exactly as
writes do: anyone else learns nothing of the institution.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Path, Query, status
from ledger.api.deps import OperatorDep, ServicesDep, StaffDep
from ledger.api.problems import PROBLEM_RESPONSES
from ledger.api.schemas import (
    AdministratorIn,
    CompromiseIn,
    CompromiseOut,
    Created,
    InstitutionIn,
    KeyOut,
    Page,
    PolicyIn,
    ProfileIn,
    Subject,
)
from pydantic import AwareDatetime

from ledger.application.actor import Actor
from ledger.domain.base import utcnow
from ledger.domain.issuer import Issuer
from ledger.domain.keyregistry import KeyEntry
from ledger.domain.policy import StudyLoadPolicy, policy_for_period
from ledger.eventlog.canonical_json import format_datetime

router = APIRouter(prefix="/v1", tags=["institutions"], responses=PROBLEM_RESPONSES)

KeyId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9:_-]+$")]


def administered(services: Any, actor: Actor, issuer_id: UUID) -> Issuer:
    """The institution, if ``actor`` is the operator or one of its administrators."""
    with services.acting(actor):
        issuer: Issuer = services.ledger.administered_issuer(issuer_id)
    return issuer


def _policy(policy: StudyLoadPolicy) -> dict[str, Any]:
    return {
        "policy": policy.policy_id,
        "reference": policy.reference,
        "min_hours": policy.min_hours,
        "min_ects": str(policy.min_ects),
        "in_force_from": format_datetime(policy.in_force_from),
        "in_force_until": format_datetime(policy.in_force_until) if policy.in_force_until else None,
        "description": policy.description,
    }


def _key(entry: KeyEntry) -> dict[str, Any]:
    return {
        "kid": entry.kid,
        "owner": entry.owner,
        "valid_from": format_datetime(entry.valid_from),
        "retired_at": format_datetime(entry.retired_at) if entry.retired_at else None,
        "compromised_since": format_datetime(entry.compromised_since)
        if entry.compromised_since
        else None,
        "active": entry.active,
    }


@router.post("/institutions", status_code=status.HTTP_201_CREATED)
def register(body: InstitutionIn, actor: OperatorDep, services: ServicesDep) -> Created:
    """Register an institution with its first signing key (operator)."""
    issuer_id = services.write(
        actor,
        lambda: services.ledger.register_issuer(
            name=body.name,
            country=body.country,
            identifiers=body.identifiers,
            homepage=body.homepage,
            logo_url=body.logo_url,
            administrators=body.administrators,
        ),
    )
    return Created(id=issuer_id)


@router.get("/institutions")
def institutions(
    actor: OperatorDep,
    services: ServicesDep,
    after: Annotated[UUID | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page:
    """Every institution (operator)."""
    items = services.views.institutions(after=str(after) if after else None, limit=limit)
    return Page(items=items, next=items[-1]["issuer_id"] if len(items) == limit else None)


@router.get("/institutions/{issuer_id}")
def institution(issuer_id: UUID, actor: StaffDep, services: ServicesDep) -> dict[str, Any]:
    """An institution's profile, administrators, policies and keys (its own staff)."""
    issuer = administered(services, actor, issuer_id)
    registry = services.ledger.key_registry()
    return {
        "issuer_id": str(issuer.id),
        **issuer.profile(),
        "administrators": sorted(issuer.administrators),
        "policy_in_force": _policy(issuer.policy_at(utcnow())),
        "policies": [_policy(p) for p in issuer.policies],
        "keys": [_key(k) for k in registry.keys_of(str(issuer.id))],
    }


@router.patch("/institutions/{issuer_id}", status_code=status.HTTP_204_NO_CONTENT)
def edit_profile(issuer_id: UUID, body: ProfileIn, actor: StaffDep, services: ServicesDep) -> None:
    """Change the public profile; only the fields given change."""
    administered(services, actor, issuer_id)
    changes = body.model_dump(exclude_unset=True)
    services.write(actor, lambda: services.ledger.edit_issuer_profile(issuer_id, **changes))


@router.get("/institutions/{issuer_id}/administrators")
def administrators(issuer_id: UUID, actor: StaffDep, services: ServicesDep) -> Page:
    """The institution's administrators, by eduID subject."""
    issuer = administered(services, actor, issuer_id)
    return Page(items=[{"subject": s} for s in sorted(issuer.administrators)], next=None)


@router.post("/institutions/{issuer_id}/administrators", status_code=status.HTTP_204_NO_CONTENT)
def add_administrator(
    issuer_id: UUID, body: AdministratorIn, actor: StaffDep, services: ServicesDep
) -> None:
    """Let an eduID subject administer the institution."""
    administered(services, actor, issuer_id)
    services.write(actor, lambda: services.ledger.add_administrator(issuer_id, body.subject))


@router.delete(
    "/institutions/{issuer_id}/administrators/{subject}", status_code=status.HTTP_204_NO_CONTENT
)
def remove_administrator(
    issuer_id: UUID,
    subject: Annotated[Subject, Path()],
    actor: StaffDep,
    services: ServicesDep,
) -> None:
    """Withdraw an administrator's rights."""
    administered(services, actor, issuer_id)
    services.write(actor, lambda: services.ledger.remove_administrator(issuer_id, subject))


@router.get("/institutions/{issuer_id}/policies")
def policies(issuer_id: UUID, actor: StaffDep, services: ServicesDep) -> dict[str, Any]:
    """The study-load policies adopted, and the one in force now."""
    issuer = administered(services, actor, issuer_id)
    return {
        "in_force": _policy(issuer.policy_at(utcnow())),
        "adopted": [_policy(p) for p in issuer.policies],
    }


@router.post("/institutions/{issuer_id}/policies", status_code=status.HTTP_201_CREATED)
def adopt_policy(
    issuer_id: UUID, body: PolicyIn, actor: StaffDep, services: ServicesDep
) -> dict[str, Any]:
    """Adopt a national study-load policy for a period inside the policy's own window."""
    administered(services, actor, issuer_id)
    policy = policy_for_period(body.policy, start=body.in_force_from, until=body.in_force_until)
    services.write(actor, lambda: services.ledger.adopt_policy(issuer_id, policy))
    return _policy(policy)


@router.get("/institutions/{issuer_id}/keys")
def keys(issuer_id: UUID, actor: StaffDep, services: ServicesDep) -> Page:
    """Every signing key the institution ever had, oldest first."""
    administered(services, actor, issuer_id)
    registry = services.ledger.key_registry()
    return Page(items=[_key(k) for k in registry.keys_of(str(issuer_id))], next=None)


@router.post("/institutions/{issuer_id}/keys/rotate", status_code=status.HTTP_201_CREATED)
def rotate(issuer_id: UUID, actor: StaffDep, services: ServicesDep) -> KeyOut:
    """A new signing key; the old one is retired and what it signed stays valid."""
    administered(services, actor, issuer_id)
    return KeyOut(kid=services.write(actor, lambda: services.ledger.rotate_issuer_key(issuer_id)))


def consequences(services: Any, kid: str, since: datetime) -> dict[str, Any]:
    """What a compromise of ``kid`` from ``since`` invalidates (from the audit trail)."""
    found: dict[str, Any] = services.views.compromise_consequences(
        kid, since=format_datetime(since)
    )
    return found


@router.get("/keys/{kid}/signed-since")
def signed_since(
    kid: KeyId, since: AwareDatetime, actor: OperatorDep, services: ServicesDep
) -> dict[str, Any]:
    """What marking the key compromised from ``since`` would invalidate (operator)."""
    services.ledger.key_registry()  # the registry must exist
    return {"kid": kid, "since": format_datetime(since), **consequences(services, kid, since)}


@router.post("/keys/{kid}/compromised", status_code=status.HTTP_201_CREATED)
def compromised(
    kid: KeyId, body: CompromiseIn, actor: OperatorDep, services: ServicesDep
) -> CompromiseOut:
    """Mark a key compromised from an instant; an active key is replaced at once."""
    effects = consequences(services, kid, body.since)
    replaced_by = services.write(
        actor,
        lambda: services.ledger.mark_key_compromised(kid, since=body.since, reason=body.reason),
    )
    entry = services.ledger.key_registry().keys[kid]
    return CompromiseOut(
        kid=kid,
        owner=entry.owner,
        since=format_datetime(body.since),
        replaced_by=replaced_by,
        consequences=effects,
    )
