"""Standard credentials: OB 3.0 exports, checking presented credentials, DIDs, status lists.

Exports are for the credential's learner and its issuer's administrators only
(anyone else gets 404, never data). What a verifier needs without an account is
public: the check route, the issuers' DID documents, the signed status list
credentials (strong ETag, Cache-Control, 304) and our JSON-LD context.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import orjson
from fastapi import APIRouter, Header, Query, Request, status
from ledger.api.caching import cacheable
from ledger.api.check_limits import CheckGate, check_size
from ledger.api.deps import AdministratorDep, LearnerDep, ServicesDep
from ledger.api.pages.checking import check, credential_input, documents_from_url
from ledger.api.problems import PROBLEM_RESPONSES
from ledger.api.schemas import CheckReportOut, LinkedInOut, ListNumber
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ledger.application.actor import Actor
from ledger.domain.statusallocation import PublishedPurpose
from ledger.errors import NotFound
from ledger.standards.credential_checker import TOLERANCES
from ledger.standards.dataintegrity.loader import (
    LEDGER_EXTENSIONS_V1_URL,
    LEDGER_EXTENSIONS_V2_FILE,
    LEDGER_EXTENSIONS_V2_PATH,
    context_bytes,
    file_bytes,
)
from ledger.standards.open_badges import linkedin_add_to_profile_url
from ledger.standards.status_list_credential import CACHE_SECONDS

router = APIRouter(tags=["standard credentials"], responses=PROBLEM_RESPONSES)

VC_MEDIA_TYPE = "application/vc"
JSON_DOCUMENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}}
}
Tolerance = Literal[TOLERANCES]  # type: ignore[valid-type]
#: Checks of presented credentials: one at a time in this worker, each within a budget.
CHECKS = CheckGate()


def _export(services: Any, actor: Actor, credential_id: UUID) -> dict[str, Any]:
    with services.acting(actor):
        document: dict[str, Any] = services.publisher.export_credential(credential_id)
    return document


def _json(
    document: dict[str, Any], media_type: str = "application/json", **headers: str
) -> Response:
    return Response(orjson.dumps(document), media_type=media_type, headers=headers or None)


@router.get("/v1/credentials/{credential_id}/export", responses=JSON_DOCUMENT)
def export_as_administrator(
    credential_id: UUID, actor: AdministratorDep, services: ServicesDep
) -> Response:
    """The credential as a signed OB 3.0 ``OpenBadgeCredential`` (own issuer only)."""
    return _json(_export(services, actor, credential_id))


@router.get("/v1/me/credentials/{credential_id}/export", responses=JSON_DOCUMENT)
def export_as_learner(credential_id: UUID, actor: LearnerDep, services: ServicesDep) -> Response:
    """Download one of the learner's credentials as a signed OB 3.0 credential."""
    document = _export(services, actor, credential_id)
    disposition = f'attachment; filename="credential-{credential_id}.json"'
    return _json(document, **{"Content-Disposition": disposition})


@router.post("/v1/me/credentials/{credential_id}/linkedin", status_code=status.HTTP_201_CREATED)
def share_on_linkedin(credential_id: UUID, actor: LearnerDep, services: ServicesDep) -> LinkedInOut:
    """A LinkedIn "add to profile" URL whose certificate link is a new share link."""
    document = _export(services, actor, credential_id)
    link_id, token = services.write(
        actor,
        lambda: services.ledger.create_share_link(
            actor.subject, credential_ids=[credential_id], name_asked=False
        ),
    )
    cert_url = f"{services.settings.public_url}/v1/shared/{token}"
    return LinkedInOut(
        url=linkedin_add_to_profile_url(document, cert_url=cert_url),
        cert_url=cert_url,
        share_link_id=link_id,
    )


CHECK_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "description": 'a VC 2.0 / OB 3.0 credential, or {"url": "..."}',
                }
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "credential": {"type": "string"},
                        "url": {"type": "string"},
                    },
                }
            },
        },
    }
}


@router.post("/v1/credentials/check", openapi_extra=CHECK_BODY)
async def check_credential(
    request: Request,
    services: ServicesDep,
    tolerate: Annotated[list[Tolerance] | None, Query()] = None,
) -> CheckReportOut:
    """Check a presented credential: proof, key validity, validity period, status lists.

    The credential comes as JSON, as a form (a ``file``, a ``credential`` text or a
    ``url``), or as ``{"url": ...}``: a share link of this ledger or a URL under a
    trusted origin (the first credential of a link that shares several). Answers 200
    with a report whether or not the credential verifies; ``tolerate`` names
    deviations of others' status lists to accept (each is reported)."""
    document, url = await credential_input(request)
    if url is not None:
        found = await run_in_threadpool(documents_from_url, services, url)
        if not found:
            raise NotFound("this link shares no credential")
        document = found[0]
    check_size(document)
    tolerated = list(tolerate or ())
    report = await run_in_threadpool(CHECKS.run, lambda: check(services, document, tolerated))
    return CheckReportOut(**report.to_json())


@router.get(
    "/v1/status-lists/{issuer_id}/{list_number}/{purpose}/credential",
    responses={200: {"content": {VC_MEDIA_TYPE: {}}}, 304: {"description": "Not modified"}},
)
def status_list_credential(
    issuer_id: UUID,
    list_number: ListNumber,
    purpose: PublishedPurpose,
    services: ServicesDep,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Response:
    """The signed ``BitstringStatusListCredential`` of a list (short validity, strong ETag)."""
    document = services.publisher.status_list_credential(issuer_id, list_number, purpose)
    if document is None:
        raise NotFound(f"status list {issuer_id}/{list_number}/{purpose} not found")
    return cacheable(
        document_bytes(document),
        media_type=VC_MEDIA_TYPE,
        max_age=CACHE_SECONDS,
        if_none_match=if_none_match,
    )


#: Signed list credentials' bytes by the cached document they were dumped from (the
#: publisher's signing cache hands out the same object until the list or key changes).
_DOCUMENT_BYTES: dict[int, tuple[dict[str, Any], bytes]] = {}


def document_bytes(document: dict[str, Any]) -> bytes:
    """A signed list credential's bytes (also the fast reads'), dumped once per document."""
    known = _DOCUMENT_BYTES.get(id(document))
    if known is not None and known[0] is document:
        return known[1]
    body = orjson.dumps(document)
    if len(_DOCUMENT_BYTES) > 1024:
        _DOCUMENT_BYTES.clear()
    _DOCUMENT_BYTES[id(document)] = (document, body)
    return body


async def _did_document(services: Any, did: str) -> Response:
    """From memory: the key ring refreshed after this request arrived (one refresh
    serves every request waiting), the document's bytes kept per key ring version."""
    await services.keys_fresh.wait()
    body = services.did_documents.get(did)
    if body is None:
        raise NotFound(f"no DID document for {did}")
    return Response(
        body, media_type="application/did+json", headers={"Cache-Control": "public, max-age=300"}
    )


@router.get("/.well-known/did.json", responses={200: {"content": {"application/did+json": {}}}})
async def operator_did_document(services: ServicesDep) -> Response:
    """The ledger operator's did:web document."""
    return await _did_document(services, services.publisher.resolver.operator_did)


@router.get(
    "/issuers/{issuer_id}/did.json", responses={200: {"content": {"application/did+json": {}}}}
)
async def issuer_did_document(issuer_id: UUID, services: ServicesDep) -> Response:
    """An issuer's did:web document: a Multikey for every key it had, compromised ones left out."""
    return await _did_document(services, services.publisher.issuer_did(issuer_id))


CONTEXT_MAX_AGE = 86400


@router.get(
    "/contexts/ob-extensions-v1.json",
    responses={200: {"content": {"application/ld+json": {}}}, 304: {"description": "Not modified"}},
)
async def extension_context(if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """Our JSON-LD context, version 1 (immutable; credentials exported before v2 name it)."""
    return cacheable(
        context_bytes(LEDGER_EXTENSIONS_V1_URL),
        media_type="application/ld+json",
        max_age=CONTEXT_MAX_AGE,
        if_none_match=if_none_match,
    )


@router.get(
    LEDGER_EXTENSIONS_V2_PATH,
    responses={200: {"content": {"application/ld+json": {}}}, 304: {"description": "Not modified"}},
)
async def extension_context_v2(if_none_match: Annotated[str | None, Header()] = None) -> Response:
    """Our JSON-LD context, version 2: SURF's terms and ours, the exports' third context.

    Served under this deployment's public URL so that any verifier can fetch it;
    the bytes are pinned (the bundled file), with a strong ETag.
    """
    return cacheable(
        file_bytes(LEDGER_EXTENSIONS_V2_FILE),
        media_type="application/ld+json",
        max_age=CONTEXT_MAX_AGE,
        if_none_match=if_none_match,
    )
