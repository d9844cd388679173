"""The signed-in learner's backpack: credentials, share links, consents, exemption claims.

Every page reads the signed-in learner's own data only (their learner id comes
from their subject, never from the URL), and every form that changes something
carries the session's CSRF token. One thing per page: the list, the detail, and
each kind of sharing on its own page.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Form, Request
from ledger.api.pages.credential_view import VerdictCache, elements, state_reason
from ledger.api.pages.public_pages import download_response, share_url
from ledger.api.pages.rendering import render
from ledger.api.pages.session import check_csrf
from ledger.api.pages.signin import person_in
from ledger.api.schemas import PRINTABLE
from ledger.projections.backpack import CredentialRow
from starlette.responses import RedirectResponse, Response

from ledger.application.actor import Actor
from ledger.application.ledger import check_shown_name
from ledger.errors import InvalidInput, InvalidTransition, NotFound
from ledger.standards.open_badges import linkedin_add_to_profile_url

router = APIRouter(prefix="/backpack", include_in_schema=False)
Learner = Annotated[Actor, person_in("learner")]
Checked = Annotated[list[str], Form()]
verdicts = VerdictCache()


def _own_credential(services: Any, actor: Actor, credential_id: UUID) -> dict[str, Any]:
    found: CredentialRow | None = services.views.credential(credential_id)
    if found is None or found.learner_id != str(services.ledger.learner_ids.of(actor.subject)):
        raise NotFound("credential not found")
    return found.shown()


def _printable(text: str) -> bool:
    """The API's rule for free text (no control characters but tab and new lines),
    checked here so that the form shows the refusal next to its field."""
    return re.fullmatch(PRINTABLE, text) is not None


def _end_of(day: str | None) -> datetime | None:
    """The end of a chosen day (UTC), or None when no day was chosen."""
    if not day:
        return None
    try:
        return datetime.combine(date.fromisoformat(day), time(23, 59, 59), tzinfo=UTC)
    except ValueError:
        raise InvalidInput("expires: not a date") from None


def _uuids(values: list[str]) -> list[UUID]:
    try:
        return [UUID(v) for v in values]
    except ValueError:
        raise InvalidInput("credentials: not a credential of yours") from None


@router.get("")
def backpack(request: Request, actor: Learner) -> Response:
    """Every credential with its state."""
    services = request.app.state.services
    learner_id = services.ledger.learner_ids.of(actor.subject)
    return render(
        request,
        "backpack.html",
        credentials=[c.shown() for c in services.views.backpack(learner_id)],
    )


def _credential_page(
    request: Request, found: dict[str, Any], status_code: int = 200, **extra: Any
) -> Response:
    return render(
        request,
        "backpack_credential.html",
        status_code=status_code,
        credential=found,
        reason=state_reason(found),
        elements=elements(found["achievement"]),
        errors=extra.get("errors", {}),
        form=extra.get("form", {}),
    )


@router.get("/credentials/{credential_id}")
def credential(request: Request, credential_id: UUID, actor: Learner) -> Response:
    """One credential: the EU elements, its history with reasons, download and LinkedIn."""
    return _credential_page(
        request, _own_credential(request.app.state.services, actor, credential_id)
    )


@router.get("/credentials/{credential_id}/download")
def download(request: Request, credential_id: UUID, actor: Learner) -> Response:
    """The signed Open Badges 3.0 file."""
    services = request.app.state.services
    found = _own_credential(services, actor, credential_id)
    return download_response(verdicts.verdict(services, found).document, credential_id)


@router.post("/credentials/{credential_id}/linkedin")
def linkedin(
    request: Request,
    credential_id: UUID,
    actor: Learner,
    show_name: Annotated[str, Form()] = "",
    shown_name: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """A new share link for LinkedIn, and the "add to profile" link that carries it; its
    page shows the learner's name only when they tick the box and type it, as for any
    share link."""
    check_csrf(request.session, csrf_token)
    services = request.app.state.services
    found = _own_credential(services, actor, credential_id)
    try:
        name = check_shown_name(shown_name) if show_name else None
    except InvalidInput:
        form = {"show_name": bool(show_name), "shown_name": shown_name}
        errors = {"shown_name": "invalid"}
        return _credential_page(request, found, status_code=422, errors=errors, form=form)
    document = verdicts.verdict(services, found).document
    _, token = services.write(
        actor,
        lambda: services.ledger.create_share_link(
            actor.subject, credential_ids=[credential_id], shown_name=name
        ),
    )
    page = share_url(services, token)
    return render(
        request,
        "linkedin.html",
        credential=found,
        page_url=page,
        linkedin_url=linkedin_add_to_profile_url(document, cert_url=page),
    )


# -- share links ------------------------------------------------------------------


def _links_page(request: Request, actor: Actor, **extra: Any) -> Response:
    services = request.app.state.services
    learner_id = services.ledger.learner_ids.of(actor.subject)
    titles = {
        c.credential_id: c.achievement.get("title") for c in services.views.backpack(learner_id)
    }
    return render(
        request,
        "share_links.html",
        status_code=extra.pop("status_code", 200),
        links=services.views.share_links(learner_id),
        titles=titles,
        new_url=extra.get("new_url"),
        errors=extra.get("errors", {}),
        form=extra.get("form", {}),
    )


@router.get("/share-links")
def share_links(request: Request, actor: Learner) -> Response:
    """The learner's share links, and the form for a new one."""
    return _links_page(request, actor)


@router.post("/share-links")
def create_share_link(
    request: Request,
    actor: Learner,
    credentials: Checked = [],  # noqa: B006 (FastAPI copies defaults)
    expires: Annotated[str, Form()] = "",
    show_name: Annotated[str, Form()] = "",
    shown_name: Annotated[str, Form()] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """A new link, shown once (only its digest is kept); its page shows the learner's
    name only when they tick the box and type it."""
    check_csrf(request.session, csrf_token)
    services = request.app.state.services
    form = {"show_name": bool(show_name), "shown_name": shown_name, "credentials": credentials}
    if not credentials:
        return _links_page(
            request, actor, status_code=422, errors={"credentials": "choose"}, form=form
        )
    try:
        expires_at = _end_of(expires)
        if expires_at is not None and expires_at <= datetime.now(UTC):
            raise InvalidInput("expires: in the past")
        name = check_shown_name(shown_name) if show_name else None
        _, token = services.write(
            actor,
            lambda: services.ledger.create_share_link(
                actor.subject,
                credential_ids=_uuids(credentials),
                expires_at=expires_at,
                shown_name=name,
            ),
        )
    except InvalidInput as error:
        field = str(error).split(":", 1)[0]
        return _links_page(request, actor, status_code=422, errors={field: "invalid"}, form=form)
    return _links_page(request, actor, new_url=share_url(services, token))


@router.post("/share-links/{link_id}/close")
def close_share_link(
    request: Request, link_id: UUID, actor: Learner, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Close a link: its page answers "closed" from now on."""
    check_csrf(request.session, csrf_token)
    services = request.app.state.services
    services.write(actor, lambda: services.ledger.revoke_share_link(actor.subject, link_id))
    return RedirectResponse("/backpack/share-links", status_code=303)


# -- consents ---------------------------------------------------------------------


def consent_code(request: Request, consent_id: str, learner_id: UUID) -> str:
    """The code (and link) the learner hands to the employer: sealed, not stored."""
    return str(request.app.state.consent_codes.seal({"c": consent_id, "l": str(learner_id)}))


def _consents_page(request: Request, actor: Actor, **extra: Any) -> Response:
    services = request.app.state.services
    learner_id = services.ledger.learner_ids.of(actor.subject)
    consents = services.views.consents(learner_id)
    lookups = services.views.lookups(learner_id)
    public = services.settings.public_url
    for consent in consents:
        consent["lookups"] = [x for x in lookups if x["consent_id"] == consent["consent_id"]]
        if consent["live"]:
            consent["link"] = (
                f"{public}/lookup/{consent_code(request, consent['consent_id'], learner_id)}"
            )
    return render(
        request,
        "consents.html",
        status_code=extra.get("status_code", 200),
        consents=consents,
        credentials=[c.shown() for c in services.views.backpack(learner_id)],
        errors=extra.get("errors", {}),
        given=extra.get("given", {}),
    )


@router.get("/consents")
def consents(request: Request, actor: Learner) -> Response:
    """Consents with their links and every lookup made under each; the form for a new one."""
    return _consents_page(request, actor)


@router.post("/consents")
def grant_consent(
    request: Request,
    actor: Learner,
    grantee: Annotated[str, Form(max_length=500)] = "",
    purpose: Annotated[str, Form(max_length=2000)] = "",
    expires: Annotated[str, Form()] = "",
    scope: Annotated[str, Form()] = "all",
    credentials: Checked = [],  # noqa: B006
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Let a named employer look up what the learner learned, for a purpose, until a day."""
    check_csrf(request.session, csrf_token)
    services = request.app.state.services
    given = {"grantee": grantee, "purpose": purpose, "expires": expires}
    errors = {f: "required" for f, v in given.items() if not v.strip()}
    errors.update({f: "invalid" for f, v in given.items() if not _printable(v)})
    if scope != "all" and not credentials:
        errors["credentials"] = "choose"
    if not errors:
        try:
            expires_at = _end_of(expires)
            services.write(
                actor,
                lambda: services.ledger.grant_consent(
                    actor.subject,
                    grantee=grantee.strip(),
                    credential_ids=[] if scope == "all" else _uuids(credentials),
                    all_credentials=scope == "all",
                    purpose=purpose.strip(),
                    expires_at=expires_at,
                ),
            )
        except (InvalidInput, InvalidTransition) as error:
            field = str(error).split(":", 1)[0].replace("expires_at", "expires")
            errors[field if field in given else "expires"] = "invalid"
    if errors:
        return _consents_page(request, actor, status_code=422, errors=errors, given=given)
    return RedirectResponse("/backpack/consents", status_code=303)


@router.post("/consents/{consent_id}/withdraw")
def withdraw_consent(
    request: Request, consent_id: UUID, actor: Learner, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """End a consent now: its link stops working."""
    check_csrf(request.session, csrf_token)
    services = request.app.state.services
    services.write(actor, lambda: services.ledger.withdraw_consent(actor.subject, consent_id))
    return RedirectResponse("/backpack/consents", status_code=303)


# -- exemption claims ---------------------------------------------------------------


def _claims_page(request: Request, actor: Actor, **extra: Any) -> Response:
    services = request.app.state.services
    learner_id = services.ledger.learner_ids.of(actor.subject)
    institutions = services.views.issuers()
    names = dict(institutions)
    claims = services.views.claims_of(learner_id)
    for claim in claims:
        claim["institution"] = names.get(claim["institution_id"], "")
    return render(
        request,
        "claims.html",
        status_code=extra.get("status_code", 200),
        claims=claims,
        institutions=institutions,
        credentials=[c.shown() for c in services.views.backpack(learner_id)],
        errors=extra.get("errors", {}),
        given=extra.get("given", {}),
    )


@router.get("/claims")
def claims(request: Request, actor: Learner) -> Response:
    """Exemption claims and their decisions; the form for a new one."""
    return _claims_page(request, actor)


@router.post("/claims")
def submit_claim(
    request: Request,
    actor: Learner,
    institution: Annotated[str, Form()] = "",
    programme: Annotated[str, Form(max_length=500)] = "",
    motivation: Annotated[str, Form(max_length=10_000)] = "",
    credentials: Checked = [],  # noqa: B006
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Ask another institution to exempt the learner on the strength of credentials."""
    check_csrf(request.session, csrf_token)
    services = request.app.state.services
    given = {"institution": institution, "programme": programme, "motivation": motivation}
    errors = {f: "required" for f in ("institution", "programme") if not given[f].strip()}
    errors.update({f: "invalid" for f, v in given.items() if not _printable(v)})
    if not credentials:
        errors["credentials"] = "choose"
    if not errors:
        try:
            institution_id = UUID(institution)
            services.write(
                actor,
                lambda: services.ledger.submit_exemption_claim(
                    actor.subject,
                    institution_id=institution_id,
                    programme=programme.strip(),
                    credential_ids=_uuids(credentials),
                    motivation=motivation.strip(),
                ),
            )
        except (ValueError, NotFound):
            errors["institution"] = "invalid"
        except (InvalidInput, InvalidTransition):
            errors["credentials"] = "invalid"
    if errors:
        return _claims_page(request, actor, status_code=422, errors=errors, given=given)
    return RedirectResponse("/backpack/claims", status_code=303)


@router.post("/claims/{claim_id}/withdraw")
def withdraw_claim(
    request: Request, claim_id: UUID, actor: Learner, csrf_token: Annotated[str, Form()] = ""
) -> Response:
    """Withdraw a claim that is still pending."""
    check_csrf(request.session, csrf_token)
    services = request.app.state.services
    if claim_id not in {
        UUID(c["claim_id"])
        for c in services.views.claims_of(services.ledger.learner_ids.of(actor.subject))
    }:
        raise NotFound("claim not found")
    services.write(actor, lambda: services.ledger.withdraw_exemption_claim(claim_id))
    return RedirectResponse("/backpack/claims", status_code=303)
