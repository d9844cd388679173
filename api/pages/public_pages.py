"""Public pages: the home page, a share link as a page, its downloads and QR code.

The share link ``/v1/shared/{token}`` is also the LinkedIn ``certUrl``: a browser
(``Accept: text/html``) gets the page rendered here, an API client keeps the JSON
of ``ledger.api.routes.public``. A closed, expired or unknown link answers 404
with a page that says so, and nothing about whether it ever existed.
"""

from __future__ import annotations

import io
from functools import partial
from typing import Annotated, Any
from uuid import UUID

import orjson
import segno
from fastapi import APIRouter, Path, Request
from ledger.api.pages.credential_view import (
    TimedCache,
    Verdict,
    VerdictCache,
    elements,
    state_reason,
    version_key,
)
from ledger.api.pages.rendering import environment, language_of, render
from ledger.projections.backpack import ShareLinkRow
from markupsafe import Markup
from starlette.responses import Response

from ledger.application.ledger import SHOWN_NAME, share_token_digest

router = APIRouter(include_in_schema=False)
verdicts = VerdictCache()
articles_cache: TimedCache[tuple[Any, ...], Markup] = TimedCache()
Token = Annotated[str, Path(min_length=20, max_length=100)]


def wants_html(request: Request) -> bool:
    """A browser: HTML is named in Accept before (or without) JSON."""
    accept = request.headers.get("accept", "")
    html = accept.find("text/html")
    json = accept.find("json")
    return html >= 0 and (json < 0 or html < json)


def share_url(services: Any, token: str) -> str:
    return f"{services.settings.public_url}/v1/shared/{token}"


def shown_learner(services: Any, link: ShareLinkRow) -> tuple[str, str | None]:
    """What a link's page says of the learner, and their name when they chose to show it.

    ``shown`` (with the name), ``hidden`` (the learner chose not to show it),
    ``not_asked`` (a link made before learners had the choice, or in one step for
    LinkedIn), ``unreadable`` (the name's key is gone: the learner was erased).
    """
    if link.sealed_name is None:
        return "not_asked", None
    if not link.sealed_name:
        return "hidden", None
    name = services.ledger.data_keys.opened(
        UUID(link.learner_id), link.sealed_name, field=SHOWN_NAME
    )
    return ("shown", name) if name is not None else ("unreadable", None)


def _open_link(services: Any, token: str) -> ShareLinkRow | None:
    found: ShareLinkRow | None = services.views.share_link_by_digest(share_token_digest(token))
    return found


def _credentials_of(services: Any, link: ShareLinkRow) -> list[dict[str, Any]]:
    found = (services.views.credential(UUID(c)) for c in link.credential_ids)
    return [c.shown() for c in found if c is not None]


def _shared_credentials(services: Any, token: str) -> list[dict[str, Any]] | None:
    link = _open_link(services, token)
    return None if link is None else _credentials_of(services, link)


def shared_page(request: Request, token: str) -> Response:
    """The public page of a share link: each credential, its state and our verdict."""
    services = request.app.state.services
    link = _open_link(services, token)
    if link is None:
        return render(request, "link_closed.html", status_code=404)
    credentials = _credentials_of(services, link)
    learner = shown_learner(services, link)
    language = language_of(request)
    shown, articles = [], []
    for index, credential in enumerate(credentials, start=1):
        credential.pop("learner_id", None)
        verdict = verdicts.verdict(services, credential)
        shown.append({**credential, "json_ld": verdict.json_ld})
        # The token fixes the learner's choice; an erasure closes the link at once.
        key = (token, *version_key(credential), language, index)
        articles.append(
            articles_cache.get(
                key, partial(_article, language, credential, verdict, token, index, learner)
            )
        )
    response = render(
        request,
        "credential.html",
        credentials=shown,
        articles=articles,
        token=token,
        page_url=share_url(services, token),
    )
    response.headers["Cache-Control"] = "no-store"  # the state is live
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def _article(
    language: str,
    credential: dict[str, Any],
    verdict: Verdict,
    token: str,
    index: int,
    learner: tuple[str, str | None],
) -> Markup:
    """One credential's part of the page: the same for every visitor until its state,
    its version or a minute changes, so it is rendered once and kept."""
    html = (
        environment(language)
        .get_template("credential_article.html")
        .render(
            cred={
                **credential,
                "reason": state_reason(credential),
                "elements": elements(credential["achievement"]),
                "report": verdict.report,
                "verified": verdict.report["verified"] and credential["state"] == "active",
            },
            token=token,
            index=index,
            name_choice=learner[0],
            learner_name=learner[1],
        )
    )
    return Markup(html)  # noqa: S704 (rendered by our autoescaping template)


@router.get("/shared/{token}/{credential_id}/download")
def download(request: Request, token: Token, credential_id: UUID) -> Response:
    """The signed Open Badges 3.0 file of a shared credential."""
    services = request.app.state.services
    credentials = _shared_credentials(services, token)
    chosen = [c for c in credentials or [] if c["credential_id"] == str(credential_id)]
    if not chosen:
        return render(request, "link_closed.html", status_code=404)
    return download_response(verdicts.verdict(services, chosen[0]).document, credential_id)


def download_response(document: dict[str, Any], credential_id: UUID) -> Response:
    """A signed credential as a file to save."""
    return Response(
        orjson.dumps(document, option=orjson.OPT_INDENT_2),
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="credential-{credential_id}.json"',
            "Cache-Control": "no-store",
        },
    )


@router.get("/shared/{token}/qr.svg")
def qr_code(request: Request, token: Token) -> Response:
    """A QR code of the page's address (for a CV or a printed certificate)."""
    services = request.app.state.services
    if _shared_credentials(services, token) is None:
        return Response(status_code=404)
    svg = io.BytesIO()
    segno.make(share_url(services, token), error="m").save(svg, kind="svg", scale=4, border=2)
    return Response(
        svg.getvalue(), media_type="image/svg+xml", headers={"Cache-Control": "no-store"}
    )


@router.get("/")
def home(request: Request) -> Response:
    """What this ledger is, with the way to the verifier page and to sign in."""
    return render(request, "home.html")
