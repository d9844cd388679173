"""The console's claims inbox: exemption claims addressed to this institution.

Pending claims come first, each with its evidence credentials checked live (read
from the log now, every event's signature and chain checked on the way, the state
computed at this instant: ``claim_evidence.checked``). A claim's page has the
decision form: approve or reject, with the reason the learner will read. Decided
claims are searchable by outcome, programme and decision date (in the URL: none of
them is personal data). Only administrators of the institution see its claims.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from ledger.api.pages.console_access import Administrator, administered
from ledger.api.pages.days import day_start
from ledger.api.pages.paging import cursor, pager
from ledger.api.pages.rendering import render
from ledger.api.pages.session import check_csrf
from starlette.responses import RedirectResponse, Response

from ledger.application import claim_evidence
from ledger.application.actor import Actor
from ledger.errors import InvalidInput, InvalidTransition, NotFound
from ledger.eventlog.canonical_json import format_datetime

router = APIRouter(prefix="/console/claims", include_in_schema=False)
STATES = ("pending", "approved", "rejected", "withdrawn", "any")
PAGE = 25
MAX_REASON = 2000


@router.get("")
def inbox(
    request: Request,
    actor: Administrator,
    state: str = "pending",
    programme: str = "",
    after: str = "",
) -> Response:
    """Claims of a state (pending by default), each with its evidence checked live."""
    services = request.app.state.services
    issuer = administered(services, actor)
    decided_from = request.query_params.get("from", "")
    decided_until = request.query_params.get("until", "")
    given = {"state": state, "programme": programme, "from": decided_from, "until": decided_until}
    errors: dict[str, str] = {}
    if state not in STATES:
        errors["state"] = "invalid"
    bounds: dict[str, str | None] = {}
    for name, value, end in (("from", decided_from, False), ("until", decided_until, True)):
        try:
            bound = day_start(value, end=end)
            bounds[name] = format_datetime(bound) if bound else None
        except ValueError:
            errors[name] = "invalid"
    claims: list[dict[str, Any]] = []
    if not errors:
        claims = services.views.claims_at(
            issuer.id,
            state=None if state == "any" else state,
            programme=programme.strip() or None,
            decided_from=bounds["from"],
            decided_until=bounds["until"],
            after=cursor(after),
            limit=PAGE,
        )
        for claim in claims:
            claim["evidence"] = claim_evidence.checked(
                services.ledger, services.views, claim["credential_ids"], claim["learner_id"]
            )
    last = claims[-1]["claim_id"] if len(claims) == PAGE else None
    return render(
        request,
        "console_claims.html",
        status_code=422 if errors else 200,
        claims=claims,
        given=given,
        errors=errors,
        states=STATES,
        **pager("/console/claims", given, after, last),
    )


def _claim(request: Request, actor: Actor, claim_id: UUID) -> dict[str, Any]:
    """A claim addressed to the administrator's institution (else: not found)."""
    services = request.app.state.services
    issuer = administered(services, actor)
    try:
        found = services.ledger.exemption_claim(claim_id)
    except NotFound:
        found = None
    if found is None or found.institution_id != issuer.id:
        raise NotFound("claim not found")
    return claim_evidence.claim_view(services.ledger, services.views, found)


def _claim_page(
    request: Request, claim: dict[str, Any], status_code: int = 200, **extra: Any
) -> Response:
    return render(
        request,
        "console_claim.html",
        status_code=status_code,
        claim=claim,
        errors=extra.get("errors", {}),
        given=extra.get("given", {}),
        done=extra.get("done", ""),
    )


@router.get("/{claim_id}")
def claim(request: Request, claim_id: UUID, actor: Administrator, done: str = "") -> Response:
    """One claim: the programme, the motivation, the evidence checked now, the decision."""
    return _claim_page(request, _claim(request, actor, claim_id), done=done == "yes")


@router.post("/{claim_id}/decide")
def decide(
    request: Request,
    claim_id: UUID,
    actor: Administrator,
    decision: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=MAX_REASON)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Approve or reject, with the reason the learner will read."""
    check_csrf(request.session, csrf_token)
    services = request.app.state.services
    found = _claim(request, actor, claim_id)
    given = {"decision": decision, "reason": reason}
    errors: dict[str, str] = {}
    if decision not in ("approve", "reject"):
        errors["decision"] = "choose"
    if not reason.strip():
        errors["reason"] = "required"
    if not errors:
        try:
            services.write(
                actor,
                lambda: services.ledger.decide_exemption_claim(
                    claim_id, approve=decision == "approve", reason=reason.strip()
                ),
            )
        except (InvalidInput, InvalidTransition):
            errors["decision"] = "decided"
    if errors:
        return _claim_page(
            request, found, 409 if "decided" in errors.values() else 422, errors=errors, given=given
        )
    return RedirectResponse(f"/console/claims/{claim_id}?done=yes", status_code=303)
