"""Achievements in the console: list, open and revise (administrators), and the public
document behind the achievement ``id`` URL that every exported credential carries."""

from __future__ import annotations

from typing import Annotated, Any, cast
from uuid import UUID

import orjson
from fastapi import APIRouter, Header, Path, Query, Request
from ledger.api.caching import cacheable
from ledger.api.deps import ServicesDep, StaffDep
from ledger.api.pages.credential_view import elements
from ledger.api.pages.public_pages import wants_html
from ledger.api.pages.rendering import render
from ledger.api.problems import PROBLEM_RESPONSES
from ledger.api.schemas import Page
from starlette.responses import Response

from ledger.application import authorization
from ledger.errors import NotFound
from ledger.eventlog.canonical_json import to_json_value

router = APIRouter(prefix="/v1", tags=["achievements"], responses=PROBLEM_RESPONSES)

Revision = Annotated[int, Path(ge=1, le=1_000_000)]
#: A revision never changes once recorded; an issuer's rename reaches caches within a day.
ACHIEVEMENT_MAX_AGE = 86_400


@router.get("/issuers/{issuer_id}/achievements")
def achievements(
    issuer_id: UUID,
    actor: StaffDep,
    services: ServicesDep,
    after: Annotated[UUID | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page:
    """The institution's achievements with their latest revision (its administrators)."""
    with services.acting(actor):
        services.ledger.administered_issuer(issuer_id)
    items = services.views.achievements_of(
        issuer_id, after=str(after) if after else None, limit=limit
    )
    return Page(items=items, next=items[-1]["achievement_id"] if len(items) == limit else None)


@router.get("/achievements/{achievement_id}")
def achievement(achievement_id: UUID, actor: StaffDep, services: ServicesDep) -> dict[str, Any]:
    """An achievement with every revision, its reason and the policy it was checked under.

    Another institution's achievement is "not found": its console view confirms nothing.
    """
    revisions = services.views.achievement_revisions(achievement_id)
    if not revisions:
        raise NotFound(f"achievement {achievement_id} not found")
    issuer = services.ledger.issuer(UUID(revisions[0]["issuer_id"]))
    authorization.require_administrator(actor, issuer, hidden=f"achievement {achievement_id}")
    public_url = services.settings.public_url
    for revision in revisions:
        revision["url"] = (
            f"{public_url}/v1/achievements/{achievement_id}/revisions/{revision['revision']}"
        )
    return {
        "achievement_id": str(achievement_id),
        "issuer_id": str(issuer.id),
        "current_revision": revisions[-1]["revision"],
        "revisions": revisions,
    }


@router.get(
    "/achievements/{achievement_id}/revisions/{revision}",
    responses={200: {"content": {"application/ld+json": {}}}, 304: {"description": "Not modified"}},
)
def achievement_revision(
    achievement_id: UUID,
    revision: Revision,
    request: Request,
    services: ServicesDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The Open Badges ``Achievement`` of one revision (public): what the ``id`` URL inside
    every exported credential resolves to. JSON for a machine, a page for a browser."""
    document = services.publisher.achievement_revision(achievement_id, revision)
    if wants_html(request):
        return _page(request, services, achievement_id, revision, document)
    response = cacheable(
        orjson.dumps(document),
        media_type="application/json",
        max_age=ACHIEVEMENT_MAX_AGE,
        if_none_match=if_none_match,
    )
    response.headers["Vary"] = "Accept"
    return response


def _page(
    request: Request, services: Any, achievement_id: UUID, revision: int, document: dict[str, Any]
) -> Response:
    found = services.ledger.achievement(achievement_id)
    spec = cast(dict[str, Any], to_json_value(found.revisions[revision].to_record()))
    url = request.url.path
    response = render(
        request,
        "achievement.html",
        spec=spec,
        revision=revision,
        latest=found.revision,
        latest_url=url.rsplit("/", 1)[0] + f"/{found.revision}",
        issuer_name=document["creator"]["name"],
        elements=elements(spec),
        json_url=url,
    )
    response.headers["Cache-Control"] = f"public, max-age={ACHIEVEMENT_MAX_AGE}"
    response.headers["Vary"] = "Accept"
    return response
