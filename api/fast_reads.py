"""The reads verifiers' software makes most, answered before FastAPI's router.

A status check, a status list (plain or signed), a DID document, a JSON-LD context
or the latest checkpoint costs little once its data is in memory; what a request
cost was FastAPI around it: the router tries route after route (the API and the
pages hold well over a hundred), then solves the dependencies and builds a
response through several layers. ``FastReads`` is plain ASGI, inside the request
edge (request id, rate limit, metrics, access log) and outside the pages' layers,
and answers exactly these GET routes from the same sources and the same helpers
as their FastAPI routes, which stay declared (OpenAPI unchanged) and answer
everything the fast path leaves alone: another form of an id than the canonical
one, a request with a cookie (the session layer may answer it with one), a list
not in memory yet, a signed list to sign again, an error it does not know.

Identical by construction where it can be: problem bodies come from
``problems.ledger_problem``, bodies from the routes' own functions, and headers
from a Starlette ``Response`` built once per body and kept. The security headers
the pages' layer adds to every response are added here too.
``tests/unit/test_fast_reads.py`` asks both paths the same questions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson
from fastapi.routing import APIRoute
from fastapi.security.utils import get_authorization_scheme_param
from ledger.api.caching import cacheable, etag_of, matches
from ledger.api.deps import Services
from ledger.api.problems import ledger_problem
from ledger.api.routes import credentials, public, transparency, verifier
from ledger.projections.status_view import micros
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import BaseRoute

from ledger.application import authorization
from ledger.application.actor import Actor
from ledger.domain.base import utcnow
from ledger.domain.statusallocation import LIST_PURPOSES
from ledger.errors import LedgerError, NotFound, Unauthenticated
from ledger.standards.dataintegrity.loader import (
    LEDGER_EXTENSIONS_V1_URL,
    LEDGER_EXTENSIONS_V2_FILE,
    LEDGER_EXTENSIONS_V2_PATH,
    context_bytes,
    file_bytes,
)
from ledger.standards.did_documents import method_id
from ledger.standards.status_list_credential import CACHE_SECONDS, validity_window

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[bytes, bytes]]
#: (status, headers, body) of an answer; None: the FastAPI route answers instead.
Reply = tuple[int, Headers, bytes]
Answer = Callable[["Request"], Awaitable[Reply | None]]

#: What ``pages.SecurityHeaders`` adds to every response that is not HTML.
SECURITY_HEADERS: Headers = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
#: Ids in the one form FastAPI turns back into the same text (lower case, hyphens).
CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: List numbers as ``ListNumber`` takes them (1 to 1,000,000), written plainly.
LIST_NUMBER = re.compile(r"[1-9][0-9]{0,6}")
MAX_LIST_NUMBER = 1_000_000
#: How often the key ring is refreshed off the event loop before a signed list is
#: served from memory; below the ring's own bound (``KeyRing``'s ``max_age``, 1 s),
#: so that ``active_key`` on the loop finds it fresh and does not read the store.
KEYS_REFRESH_SECONDS = 0.5
MEMO_MAX = 1024


def _uuid(text: str) -> UUID | None:
    return UUID(text) if CANONICAL_UUID.fullmatch(text) else None


def _list_number(text: str) -> int | None:
    if LIST_NUMBER.fullmatch(text) is None:
        return None
    number = int(text)
    return number if number <= MAX_LIST_NUMBER else None


def _reply(response: Response) -> Reply:
    return response.status_code, response.raw_headers, bytes(response.body)


class Prepared:
    """Headers of bodies served again and again, built once per body object.

    Keyed by the body's identity (checked with ``is``, so a recycled id never
    matches) and by how it is served; the routes' own helpers build the responses.
    """

    def __init__(self) -> None:
        self._plain: dict[tuple[int, str, str], tuple[bytes, Reply]] = {}
        self._cacheable: dict[tuple[int, str, int], tuple[bytes, str, Reply, Reply]] = {}

    def plain(self, body: bytes, media_type: str, cache_control: str) -> Reply:
        """``Response(body, media_type=..., headers={"Cache-Control": ...})``."""
        key = (id(body), media_type, cache_control)
        known = self._plain.get(key)
        if known is not None and known[0] is body:
            return known[1]
        reply = _reply(
            Response(body, media_type=media_type, headers={"Cache-Control": cache_control})
        )
        if len(self._plain) >= MEMO_MAX:
            self._plain.clear()
        self._plain[key] = (body, reply)
        return reply

    def cacheable(
        self, body: bytes, media_type: str, max_age: int, if_none_match: str | None
    ) -> Reply:
        """``caching.cacheable``: the body with its strong ETag, or 304."""
        key = (id(body), media_type, max_age)
        known = self._cacheable.get(key)
        if known is None or known[0] is not body:
            etag = etag_of(body)
            full = cacheable(body, media_type=media_type, max_age=max_age, if_none_match=None)
            empty = cacheable(body, media_type=media_type, max_age=max_age, if_none_match=etag)
            known = (body, etag, _reply(full), _reply(empty))
            if len(self._cacheable) >= MEMO_MAX:
                self._cacheable.clear()
            self._cacheable[key] = known
        if if_none_match is not None and matches(known[1], if_none_match):
            return known[3]
        return known[2]


class Request:
    """What the fast routes read of a request: the first of each header they use."""

    __slots__ = ("authorization", "cookie", "if_none_match")

    def __init__(self, scope: Scope) -> None:
        self.authorization: str | None = None
        self.if_none_match: str | None = None
        self.cookie = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                if self.authorization is None:
                    self.authorization = value.decode("latin-1")
            elif name == b"if-none-match":
                if self.if_none_match is None:
                    self.if_none_match = value.decode("latin-1")
            elif name == b"cookie":
                self.cookie = True


def _api_routes(routes: Iterable[BaseRoute]) -> Iterator[APIRoute]:
    """Every FastAPI route, also inside included routers (FastAPI keeps them nested)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route
        nested = getattr(getattr(route, "original_router", None), "routes", None)
        if nested is not None:
            yield from _api_routes(nested)


#: The FastAPI route each fast route stands for: its object goes into ``scope["route"]``
#: as the router would put it there (the metrics' route label).
ENDPOINTS: dict[str, Callable[..., Any]] = {
    "status": verifier.credential_status,
    "status list": public.status_list,
    "signed list": credentials.status_list_credential,
    "issuer did": credentials.issuer_did_document,
    "operator did": credentials.operator_did_document,
    "context v1": credentials.extension_context,
    "context v2": credentials.extension_context_v2,
    "checkpoint": transparency.latest_checkpoint,
}


def _routes_by_endpoint(routes: Iterable[BaseRoute]) -> dict[str, APIRoute]:
    found = {route.endpoint: route for route in _api_routes(routes)}
    return {name: found[endpoint] for name, endpoint in ENDPOINTS.items()}


class FastReads:
    """Pure ASGI: the fast routes, else the application behind (FastAPI)."""

    def __init__(self, app: ASGIApp, *, services: Services, routes: list[BaseRoute]) -> None:
        self.app = app
        self.services = services
        #: Off, every request goes to FastAPI (the equivalence test asks both).
        self.enabled = True
        self.prepared = Prepared()
        self._routes = _routes_by_endpoint(routes)
        self._keys_checked = float("-inf")
        #: Signed lists' bodies by list, with what they were signed from: the list entry,
        #: the validity window and the key ring (its registry object).
        self._signed: dict[tuple[UUID, int, str], tuple[object, datetime, object, bytes]] = {}
        fixed: dict[str, tuple[str, Answer]] = {
            "/v1/log/checkpoint": ("checkpoint", self._checkpoint),
            "/.well-known/did.json": ("operator did", self._operator_did),
            "/contexts/ob-extensions-v1.json": ("context v1", self._context_v1),
            LEDGER_EXTENSIONS_V2_PATH: ("context v2", self._context_v2),
        }
        self._fixed = fixed
        self._last_note: tuple[str, Reply] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not self.enabled
            or scope.get("root_path")
        ):
            await self.app(scope, receive, send)
            return
        found = self._match(scope["path"])
        request = None if found is None else Request(scope)
        reply: Reply | None = None
        if found is not None and request is not None and not request.cookie:
            name, answer = found
            try:
                reply = await answer(request)
            except LedgerError as error:
                reply = _reply(ledger_problem(error))
            if reply is not None:
                scope["route"] = self._routes[name]
        if reply is None:
            await self.app(scope, receive, send)
            return
        status, headers, body = reply
        await send(
            {"type": "http.response.start", "status": status, "headers": headers + SECURITY_HEADERS}
        )
        await send({"type": "http.response.body", "body": body})

    def _match(self, path: str) -> tuple[str, Answer] | None:
        """The fast route of ``path`` and its answer (None: not a fast route)."""
        fixed = self._fixed.get(path)
        if fixed is not None:
            return fixed
        parts = path.split("/")
        if len(parts) == 4 and parts[1] == "v1" and parts[2] == "status":
            credential = parts[3]
            return "status", lambda r: self._status(r, credential)
        if len(parts) in (6, 7) and parts[1] == "v1" and parts[2] == "status-lists":
            issuer, number, purpose = parts[3:6]
            if len(parts) == 6:
                return (
                    "status list",
                    lambda r: self._status_list(r, issuer, number, purpose),
                )
            if parts[6] == "credential":
                return (
                    "signed list",
                    lambda r: self._signed_list(r, issuer, number, purpose),
                )
            return None
        if len(parts) == 4 and parts[1] == "issuers" and parts[3] == "did.json":
            issuer = parts[2]
            return "issuer did", lambda r: self._issuer_did(r, issuer)
        return None

    # -- verifiers: the status check --------------------------------------------------

    async def _status(self, request: Request, credential: str) -> Reply | None:
        """``verifier.credential_status``; the token is checked before the id (as there)."""
        authorization.require_role(await self._actor(request.authorization), "verifier")
        credential_id = _uuid(credential)
        if credential_id is None:
            return None  # FastAPI's 422 (or another spelling of a valid id)
        services = self.services
        await services.fresh.wait()
        status = services.status_view.state(credential_id, micros(utcnow()))
        if status is None:
            raise NotFound(f"credential {credential_id} not found")
        body = orjson.dumps({"credential_id": credential, "status": status})
        return (
            200,
            [
                (b"content-length", str(len(body)).encode("ascii")),
                (b"content-type", b"application/json"),
            ],
            body,
        )

    async def _actor(self, header: str | None) -> Actor:
        """``deps.get_actor`` after ``HTTPBearer(auto_error=False)``."""
        scheme, token = get_authorization_scheme_param(header)
        if not (header and scheme and token) or scheme.lower() != "bearer":
            raise Unauthenticated("a bearer token is required")
        tokens = self.services.tokens
        known = tokens.remembered(token)
        if known is not None:
            return known
        if tokens.may_block:
            return await run_in_threadpool(tokens.actor, token)
        return tokens.actor(token)

    # -- public: status lists -----------------------------------------------------------

    async def _status_list(
        self, request: Request, issuer: str, number: str, purpose: str
    ) -> Reply | None:
        """``public.status_list`` for a list in memory."""
        issuer_id, list_number = _uuid(issuer), _list_number(number)
        if issuer_id is None or list_number is None or purpose not in LIST_PURPOSES:
            return None
        await self.services.fresh.wait()
        found = self.services.status_lists.cached(issuer_id, list_number, purpose)
        if found is None:
            return None  # read in a worker thread by the route
        body = public.list_body(issuer_id, list_number, purpose, found)
        return self.prepared.cacheable(
            body, "application/json", public.STATUS_LIST_MAX_AGE, request.if_none_match
        )

    async def _signed_list(
        self, request: Request, issuer: str, number: str, purpose: str
    ) -> Reply | None:
        """``credentials.status_list_credential``: signed once per list content, validity
        window and key, in a worker thread like the route; then served from memory."""
        issuer_id, list_number = _uuid(issuer), _list_number(number)
        if issuer_id is None or list_number is None or purpose not in LIST_PURPOSES:
            return None
        services = self.services
        await services.fresh.wait()
        found = services.status_lists.cached(issuer_id, list_number, purpose)
        if found is None:
            return None
        await self._fresh_keys()
        keyring = services.ledger.keyring
        keyring.refresh_if_stale()  # as ``active_key`` does; fresh already (above)
        registry = keyring.registry
        now = utcnow()
        valid_from, _ = validity_window(now)
        key = (issuer_id, list_number, purpose)
        known = self._signed.get(key)
        if (
            known is not None
            and known[0] is found
            and known[1] == valid_from
            and known[2] is registry  # a ring that moved may have another active key
        ):
            return self._signed_reply(known[3], request)
        entry = None if registry is None else registry.active_key(str(issuer_id))
        if entry is None:
            return None  # the route's KeyUnavailable
        document = await run_in_threadpool(
            services.publisher.status_list_credential, issuer_id, list_number, purpose, now=now
        )
        if document is None:
            raise NotFound(f"status list {issuer_id}/{list_number}/{purpose} not found")
        body = credentials.document_bytes(document)
        signer = method_id(services.publisher.issuer_did(issuer_id), entry.kid)
        if (
            document["credentialSubject"]["encodedList"] == found[0]
            and document["proof"]["verificationMethod"] == signer
        ):  # signed from what was looked at above: kept for the next requests
            if len(self._signed) >= MEMO_MAX:
                self._signed.clear()
            self._signed[key] = (found, valid_from, registry, body)
        return self._signed_reply(body, request)

    def _signed_reply(self, body: bytes, request: Request) -> Reply:
        return self.prepared.cacheable(
            body, credentials.VC_MEDIA_TYPE, CACHE_SECONDS, request.if_none_match
        )

    async def _fresh_keys(self) -> None:
        """Refresh the key ring in a worker thread at most every ``KEYS_REFRESH_SECONDS``."""
        started = time.monotonic()
        if started - self._keys_checked >= KEYS_REFRESH_SECONDS:
            await self.services.keys_fresh.wait()
            self._keys_checked = started

    # -- public: DID documents, contexts, the checkpoint ---------------------------

    async def _issuer_did(self, request: Request, issuer: str) -> Reply | None:
        issuer_id = _uuid(issuer)
        if issuer_id is None:
            return None
        return await self._did(self.services.publisher.issuer_did(issuer_id))

    async def _operator_did(self, request: Request) -> Reply | None:
        return await self._did(self.services.publisher.resolver.operator_did)

    async def _did(self, did: str) -> Reply:
        """``credentials._did_document``."""
        await self.services.keys_fresh.wait()
        body = self.services.did_documents.get(did)
        if body is None:
            raise NotFound(f"no DID document for {did}")
        return self.prepared.plain(body, "application/did+json", "public, max-age=300")

    async def _context_v1(self, request: Request) -> Reply | None:
        body = context_bytes(LEDGER_EXTENSIONS_V1_URL)
        return self.prepared.cacheable(
            body, "application/ld+json", credentials.CONTEXT_MAX_AGE, request.if_none_match
        )

    async def _context_v2(self, request: Request) -> Reply | None:
        body = file_bytes(LEDGER_EXTENSIONS_V2_FILE)
        return self.prepared.cacheable(
            body, "application/ld+json", credentials.CONTEXT_MAX_AGE, request.if_none_match
        )

    async def _checkpoint(self, request: Request) -> Reply | None:
        """``transparency.latest_checkpoint``."""
        await self.services.checkpoint_fresh.wait()
        note = self.services.checkpoint.note
        if note is None:
            raise NotFound("no checkpoint has been published yet")
        return self._note(note)

    def _note(self, note: str) -> Reply:
        """The checkpoint's response, built once per note."""
        known = self._last_note
        if known is not None and known[0] == note:
            return known[1]
        response = Response(
            note, media_type=transparency.NOTE_MEDIA_TYPE, headers={"Cache-Control": "no-cache"}
        )
        self._last_note = (note, _reply(response))
        return self._last_note[1]
