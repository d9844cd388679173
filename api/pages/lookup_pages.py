"""The verifier's lookup page: open the learner's consent link (or enter its code).

The code names the consent and the learner sealed under the ledger's key, so the
employer never handles internal ids, and a withdrawn or expired consent stops it
working. Opening the link only shows what the consent allows; the lookup itself
is a button (a POST with the CSRF token), because each lookup is recorded in the
learner's log where they see it, and a link must not do that on its own.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Path, Request
from ledger.api.pages.credential_view import elements
from ledger.api.pages.rendering import render
from ledger.api.pages.session import check_csrf
from ledger.api.pages.signin import person_in
from ledger.projections.backpack import CredentialRow
from starlette.responses import RedirectResponse, Response

from ledger.application.actor import Actor
from ledger.errors import Forbidden, NotFound

router = APIRouter(prefix="/lookup", include_in_schema=False)
Verifier = Annotated[Actor, person_in("verifier")]
Code = Annotated[str, Path(min_length=40, max_length=400)]


def _consent(request: Request, actor: Actor, code: str) -> tuple[UUID, dict[str, Any]] | None:
    """The live consent a code opens for this verifier, with its learner (else None)."""
    opened = request.app.state.consent_codes.open(code)
    if opened is None:
        return None
    learner_id = UUID(opened["l"])
    for consent in request.app.state.services.views.consents(learner_id):
        if consent["consent_id"] == opened["c"]:
            if consent["live"] and consent["grantee"] == actor.subject:
                return learner_id, consent
            return None
    return None


def _scope(services: Any, learner_id: UUID, consent: dict[str, Any]) -> list[UUID]:
    if consent["all_credentials"]:
        return services.views.credential_ids_of_learner(learner_id)  # type: ignore[no-any-return]
    return [UUID(c) for c in consent["credential_ids"]]


@router.get("")
def lookup_start(request: Request, actor: Verifier) -> Response:
    """Where the employer enters the code the learner gave them."""
    return render(request, "lookup_start.html", error=None)


@router.post("")
def lookup_code(
    request: Request,
    actor: Verifier,
    code: Annotated[str, Form(max_length=1000)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """A code (or the whole link) typed in: on to its page."""
    check_csrf(request.session, csrf_token)
    code = code.strip().rstrip("/").rsplit("/", 1)[-1]
    if not 40 <= len(code) <= 400 or _consent(request, actor, code) is None:
        return render(request, "lookup_start.html", status_code=422, error="invalid")
    return RedirectResponse(f"/lookup/{code}", status_code=303)


@router.get("/{code}")
def lookup_page(request: Request, code: Code, actor: Verifier) -> Response:
    """What the consent allows (purpose, scope, until when), and the button to look up."""
    found = _consent(request, actor, code)
    if found is None:
        return render(request, "lookup_start.html", status_code=404, error="invalid")
    return render(request, "lookup.html", consent=found[1], code=code, results=None)


@router.post("/{code}")
def look_up(
    request: Request, code: Code, actor: Verifier, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Look up each credential in scope under the consent's purpose (each one recorded)."""
    check_csrf(request.session, csrf_token)
    services = request.app.state.services
    found = _consent(request, actor, code)
    if found is None:
        return render(request, "lookup_start.html", status_code=404, error="invalid")
    learner_id, consent = found
    results = []
    for credential_id in _scope(services, learner_id, consent):
        try:
            services.write(
                actor,
                lambda c=credential_id: services.ledger.look_up(
                    learner_id=learner_id, credential_id=c, purpose=consent["purpose"]
                ),
            )
        except (Forbidden, NotFound):
            continue  # no longer in the consent's scope, or gone
        view: CredentialRow | None = services.views.credential(credential_id)
        if view is not None:
            shown = view.shown()
            results.append({**shown, "elements": elements(view.achievement)})
    return render(request, "lookup.html", consent=consent, code=code, results=results)
