"""Verifiers and employers: status checks, and register lookups under consent."""

from __future__ import annotations

from uuid import UUID

import orjson
from fastapi import APIRouter
from ledger.api.deps import ServicesDep, VerifierDep
from ledger.api.problems import PROBLEM_RESPONSES
from ledger.api.schemas import LookupIn, LookupOut, StatusOut
from ledger.projections.status_view import micros
from starlette.responses import Response

from ledger.domain.base import utcnow
from ledger.errors import NotFound

router = APIRouter(prefix="/v1", tags=["verifiers"], responses=PROBLEM_RESPONSES)


@router.get("/status/{credential_id}", response_model=StatusOut)
async def credential_status(
    credential_id: UUID, actor: VerifierDep, services: ServicesDep
) -> Response:
    """Active, suspended, revoked or expired; nothing about the learner.

    Served from the in-memory status view once it has caught up with everything
    written before this request arrived, on the event loop (no thread hop); the
    body is written directly (``StatusOut`` documents it)."""
    await services.fresh.wait()
    status = services.status_view.state(credential_id, micros(utcnow()))
    if status is None:
        raise NotFound(f"credential {credential_id} not found")
    return Response(
        orjson.dumps({"credential_id": str(credential_id), "status": status}),
        media_type="application/json",
    )


@router.post("/lookups")
def look_up(body: LookupIn, actor: VerifierDep, services: ServicesDep) -> LookupOut:
    """What the learner learned, at what level and what they did for it; needs a live
    consent of that learner for this verifier, and is recorded where the learner sees it."""
    services.write(
        actor,
        lambda: services.ledger.look_up(
            learner_id=body.learner_id, credential_id=body.credential_id, purpose=body.purpose
        ),
    )
    found = services.views.credential(body.credential_id)
    if found is None:
        raise NotFound(f"credential {body.credential_id} not found")
    return LookupOut(
        credential_id=body.credential_id,
        status=found.state,
        achievement=found.achievement,
        result=found.result,
        issuer_name=found.issuer_name,
    )
