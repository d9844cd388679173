"""Fetching JSON documents of other parties, only from origins the operator trusts.

A verifier that fetched whatever URL a presented credential names could be made to
probe internal networks (SSRF) or to hang on a slow server. So remote documents
(other issuers' did:web documents and status list credentials) are fetched only
from origins listed in ``LEDGER_TRUSTED_ORIGINS``, over HTTPS, with a timeout and a
size bound. This ledger's own documents are never fetched: they are built locally.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from ledger.errors import LedgerError

#: Bounds for one remote document: DID documents and status list credentials are small.
MAX_DOCUMENT_BYTES = 2 * 1024 * 1024
TIMEOUT_SECONDS = 5.0

#: ``url -> parsed JSON object``; raises ``RemoteRefused`` or ``RemoteUnavailable``.
JsonFetcher = Callable[[str], dict[str, Any]]


class RemoteRefused(LedgerError):
    """The URL is outside the trusted origins, so it is not fetched at all."""

    kind = "remote-refused"


class RemoteUnavailable(LedgerError):
    """A trusted remote document could not be fetched or is not a JSON object."""

    kind = "remote-unavailable"


def origin_of(url: str) -> str:
    """``scheme://host[:port]`` of a URL, lower-cased."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


class TrustedOrigins:
    """The allow-list of origins whose documents may be fetched (empty: none)."""

    def __init__(self, origins: Sequence[str] = ()) -> None:
        self.origins = frozenset(origin_of(o.strip()) for o in origins if o.strip())

    def allows(self, url: str) -> bool:
        """Whether ``url`` may be fetched: HTTPS and a listed origin."""
        return url.startswith("https://") and origin_of(url) in self.origins

    def fetcher(self) -> JsonFetcher:
        """A fetcher bound to this allow-list."""

        def fetch(url: str) -> dict[str, Any]:
            if not self.allows(url):
                raise RemoteRefused(f"{url} is not under a trusted origin (LEDGER_TRUSTED_ORIGINS)")
            return fetch_json(url)

        return fetch


def fetch_json(url: str) -> dict[str, Any]:
    """GET a JSON object, bounded in time and size; redirects are not followed."""
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except (urllib.error.URLError, OSError, ValueError) as error:
        raise RemoteUnavailable(f"cannot fetch {url}: {error}") from None
    if len(body) > MAX_DOCUMENT_BYTES:
        raise RemoteUnavailable(f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = json.loads(body)
    except ValueError:
        raise RemoteUnavailable(f"{url} is not JSON") from None
    if not isinstance(document, dict):
        raise RemoteUnavailable(f"{url} is not a JSON object")
    return document


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could leave the trusted origin; refuse it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None
