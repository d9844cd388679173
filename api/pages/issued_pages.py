"""The console's issued list: filter, page, export, and search by learner.

The filters (achievement, state, issue dates) are in the URL so that a page can be
bookmarked and paged; the learner's eduID subject never is (it is personal data,
and URLs end up in logs and browser history): it is posted once, with the CSRF
token, and kept in the sealed session cookie while the administrator looks at the
results. The read model filters in SQL (``issued_by``), so a page of a rare state
is full whenever that many such credentials follow; the next page starts after the
last credential id shown. The export is the API's (``issued.export_response``).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from uuid import UUID

from fastapi import APIRouter, Form, Request
from ledger.api.pages.console_access import Administrator, administered
from ledger.api.pages.days import day_start
from ledger.api.pages.paging import cursor, pager
from ledger.api.pages.rendering import render
from ledger.api.pages.session import check_csrf
from ledger.api.routes.issued import export_response, filters_of
from starlette.responses import RedirectResponse, Response

from ledger.application.actor import Actor

router = APIRouter(prefix="/console/issued", include_in_schema=False)
STATES = ("active", "suspended", "revoked", "expired")
PAGE = 50
#: The session's learner search: ``{"issuer": id, "subject": eduID subject}``.
SEARCH = "issued_search"


def _searched(request: Request, issuer_id: UUID) -> str | None:
    found = request.session.get(SEARCH)
    if isinstance(found, dict) and found.get("issuer") == str(issuer_id):
        subject = found.get("subject")
        return subject if isinstance(subject, str) and subject else None
    return None


def _query(
    request: Request,
    actor: Actor,
    achievement: str,
    state: str,
    issued_from: str,
    issued_until: str,
) -> tuple[UUID, dict[str, Any], dict[str, str], dict[str, str]]:
    """The institution, the read model's filters, the values as given, and the errors."""
    issuer = administered(request.app.state.services, actor)
    given = {"achievement": achievement, "state": state, "from": issued_from, "until": issued_until}
    errors: dict[str, str] = {}
    achievement_id = None
    if achievement:
        try:
            achievement_id = UUID(achievement)
        except ValueError:
            errors["achievement"] = "invalid"
    if state and state not in STATES:
        errors["state"] = "invalid"
    start = end = None
    try:
        start = day_start(issued_from)
    except ValueError:
        errors["from"] = "invalid"
    try:
        end = day_start(issued_until, end=True)
    except ValueError:
        errors["until"] = "invalid"
    if start and end and end <= start:
        errors["until"] = "before"
        start = end = None
    subject = _searched(request, issuer.id)
    filters = filters_of(
        state=None if "state" in errors else state or None,
        achievement_id=achievement_id,
        learner_id=request.app.state.services.ledger.learner_ids.of(subject) if subject else None,
        issued_from=start,
        issued_until=end,
    )
    return issuer.id, filters, given, errors


@router.get("")
def issued(
    request: Request,
    actor: Administrator,
    achievement: str = "",
    state: str = "",
    after: str = "",
) -> Response:
    """A page of the issued list with the filters of the URL (and the session's learner);
    ``from`` and ``until`` (days, both included) are read from the query by name."""
    issued_from = request.query_params.get("from", "")
    issued_until = request.query_params.get("until", "")
    services = request.app.state.services
    issuer_id, filters, given, errors = _query(
        request, actor, achievement, state, issued_from, issued_until
    )
    achievements = services.views.achievements_of(issuer_id, limit=1000)
    titles = {a["achievement_id"]: a["title"] for a in achievements}
    items = []
    last = None
    if not errors:
        items = services.views.issued_by(issuer_id, **filters, after=cursor(after), limit=PAGE)
        if len(items) == PAGE:
            last = items[-1].credential_id
    kept = {k: v for k, v in given.items() if v}
    return render(
        request,
        "console_issued.html",
        status_code=422 if errors else 200,
        items=items,
        titles=titles,
        achievements=achievements,
        states=STATES,
        given=given,
        errors=errors,
        subject=_searched(request, issuer_id),
        **pager("/console/issued", given, after, last),
        export_url=f"/console/issued/export.csv?{urlencode(kept)}",
    )


@router.post("/search")
def search(
    request: Request,
    actor: Administrator,
    learner_subject: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form()] = "",
) -> Response:
    """Search by learner: the subject goes to the sealed session, never to a URL.
    An empty subject (or the "show everyone" button) ends the search."""
    check_csrf(request.session, csrf_token)
    issuer = administered(request.app.state.services, actor)
    subject = learner_subject.strip()
    if subject and not any(ch.isspace() or ord(ch) < 32 for ch in subject):
        request.session[SEARCH] = {"issuer": str(issuer.id), "subject": subject}
    else:
        request.session.pop(SEARCH, None)
    return RedirectResponse("/console/issued", status_code=303)


@router.get("/export.csv")
def export(
    request: Request,
    actor: Administrator,
    achievement: str = "",
    state: str = "",
) -> Response:
    """Every credential matching the filters (and the learner searched for), as CSV."""
    issuer_id, filters, _, errors = _query(
        request,
        actor,
        achievement,
        state,
        request.query_params.get("from", ""),
        request.query_params.get("until", ""),
    )
    if errors:
        return RedirectResponse("/console/issued", status_code=303)
    return export_response(request.app.state.services, issuer_id, filters)
