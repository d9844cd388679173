"""Where a credential to check comes from: a file, pasted JSON, or a link.

A link is either this ledger's own (a share link or a shared credential's download
link: read here, never over the network) or a URL under an origin listed in
``LEDGER_TRUSTED_ORIGINS`` (fetched with the bounded, no-redirect fetcher the
checker uses for status lists). Anything else is refused: the check route must
not become a way to make this server fetch arbitrary addresses.
"""

from __future__ import annotations

import re
from typing import Any
from uuid import UUID

import orjson
from ledger.projections.backpack import ShareLinkRow

from ledger.application.actor import SYSTEM, acting_as
from ledger.application.ledger import share_token_digest
from ledger.errors import InvalidInput, NotFound
from ledger.standards.credential_checker import CheckPolicy, CredentialChecker
from ledger.standards.remote_documents import TrustedOrigins

MAX_CREDENTIAL_BYTES = 1_000_000
_OWN_LINK = re.compile(
    r"^/(?:v1/shared/(?P<token>[A-Za-z0-9_-]{20,100})"
    r"|shared/(?P<dtoken>[A-Za-z0-9_-]{20,100})/(?P<credential>[0-9a-fA-F-]{36})/download)$"
)


def parse_credential(raw: bytes | str) -> dict[str, Any]:
    """A JSON object from a file or a text box, or a clear refusal."""
    if len(raw) > MAX_CREDENTIAL_BYTES:
        raise InvalidInput("credential: larger than 1 MB")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise InvalidInput("credential: not JSON") from None
    if not isinstance(document, dict):
        raise InvalidInput("credential: not a JSON object")
    return document


def documents_from_url(services: Any, url: str) -> list[dict[str, Any]]:
    """The credentials a link names (several for a share link of several)."""
    url = url.strip()
    public = services.settings.public_url
    if url.startswith(public + "/"):
        match = _OWN_LINK.match(url[len(public) :].split("?", 1)[0].split("#", 1)[0])
        if match is None:
            raise InvalidInput("url: not a share link or download link of this ledger")
        token = match["token"] or match["dtoken"]
        link: ShareLinkRow | None = services.views.share_link_by_digest(share_token_digest(token))
        if link is None:
            raise NotFound("this share link does not exist or is closed")
        wanted = link.credential_ids
        if match["credential"]:
            wanted = [c for c in wanted if UUID(c) == UUID(match["credential"])]
        with acting_as(SYSTEM):
            return [services.publisher.export_credential(UUID(c)) for c in wanted]
    origins = TrustedOrigins(services.settings.trusted_origins)
    if not origins.allows(url):
        raise InvalidInput("url: neither this ledger's nor under a trusted origin")
    return [origins.fetcher()(url)]


def check(services: Any, document: dict[str, Any], tolerate: list[str] | None = None) -> Any:
    """Our checker's report on one credential, under the strict or a tolerant policy."""
    try:
        policy = CheckPolicy.tolerating(tolerate or ())
    except ValueError as error:
        raise InvalidInput(f"tolerate: {error}") from None
    checker = CredentialChecker(
        resolver=services.publisher.resolver,
        status_lists=services.publisher.fetch_status_list,
        policy=policy,
    )
    return checker.check(document)


async def credential_input(request: Any) -> tuple[dict[str, Any], str | None]:
    """The credential (or the URL to take it from) of a check request, JSON or form."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form(max_files=1, max_fields=10)
        upload = form.get("file")
        if upload is not None and not isinstance(upload, str):
            raw = await upload.read(MAX_CREDENTIAL_BYTES + 1)
            if raw:
                return parse_credential(raw), None
        text = form.get("credential")
        if isinstance(text, str) and text.strip():
            return parse_credential(text), None
        url = form.get("url")
        if isinstance(url, str) and url.strip():
            return {}, url
        raise InvalidInput("credential: give a file, the JSON text or a link")
    document = parse_credential(await request.body())
    if set(document) == {"url"} and isinstance(document["url"], str):
        return {}, document["url"]
    return document, None
