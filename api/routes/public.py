"""Public routes: share links and the issuers' status lists (cacheable by a CDN)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

import orjson
from fastapi import APIRouter, Header, Path, Request
from ledger.api.caching import cacheable
from ledger.api.deps import ServicesDep
from ledger.api.pages.public_pages import shared_page, shown_learner, wants_html
from ledger.api.problems import PROBLEM_RESPONSES
from ledger.api.schemas import ListNumber
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ledger.application.ledger import share_token_digest
from ledger.domain.statusallocation import PublishedPurpose
from ledger.errors import NotFound

router = APIRouter(prefix="/v1", tags=["public"], responses=PROBLEM_RESPONSES)

STATUS_LIST_MAX_AGE = 300


@router.get("/shared/{token}", response_model=None)
def shared(
    token: Annotated[str, Path(min_length=20, max_length=100)],
    services: ServicesDep,
    request: Request,
) -> dict[str, Any] | Response:
    """The credentials a learner shared under this link (while it is open), and
    ``learner_name``: the learner's name if they chose to show it, else null.

    A browser gets the public credential page instead (``Accept: text/html``)."""
    if wants_html(request):
        return shared_page(request, token)
    link = services.views.share_link_by_digest(share_token_digest(token))
    if link is None:
        raise NotFound("this share link does not exist or is closed")
    credentials = []
    for credential_id in link.credential_ids:
        found = services.views.credential(UUID(credential_id))
        if found is not None:
            credentials.append(found.shown())
    choice, name = shown_learner(services, link)
    return {"credentials": credentials, "learner_name": name if choice == "shown" else None}


@router.get(
    "/status-lists/{issuer_id}/{list_number}/{purpose}",
    responses={200: {"content": {"application/json": {}}}, 304: {"description": "Not modified"}},
)
async def status_list(
    issuer_id: UUID,
    list_number: ListNumber,
    purpose: PublishedPurpose,
    services: ServicesDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """A W3C Bitstring Status List (GZIP, base64url, multibase ``u``) with a strong ETag.

    From memory (``StatusListCache``), current as of a refresh that began after
    this request arrived; a list not in memory yet is read in a worker thread."""
    await services.fresh.wait()
    found = services.status_lists.cached(issuer_id, list_number, purpose)
    if found is None:
        found = await run_in_threadpool(services.status_lists.get, issuer_id, list_number, purpose)
    if found is None:
        raise NotFound(f"status list {issuer_id}/{list_number}/{purpose} not found")
    return cacheable(
        list_body(issuer_id, list_number, purpose, found),
        media_type="application/json",
        max_age=STATUS_LIST_MAX_AGE,
        if_none_match=if_none_match,
    )


#: The bytes of each list as last served, with the cache entry they were built from:
#: the same entry gives the same object, whose ETag ``cacheable`` remembers.
_BODIES: dict[tuple[UUID, int, str], tuple[tuple[str, int], bytes]] = {}


def list_body(issuer_id: UUID, list_number: int, purpose: str, found: tuple[str, int]) -> bytes:
    """The body of a list's route (also the fast reads'): one bytes object per cache entry."""
    key = (issuer_id, list_number, purpose)
    known = _BODIES.get(key)
    if known is not None and known[0] is found:
        return known[1]
    encoded, changed_at = found
    body = orjson.dumps(
        {
            "issuer_id": str(issuer_id),
            "list_number": list_number,
            "statusPurpose": purpose,
            "encodedList": encoded,
            "changed_at_position": changed_at,
        }
    )
    if len(_BODIES) > 10_000:
        _BODIES.clear()
    _BODIES[key] = (found, body)
    return body
