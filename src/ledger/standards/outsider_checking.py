"""Checking a credential with no store of our own: everything fetched, carefully.

An outsider (an employer, another institution) runs ``ledger check FILE|URL``
with nothing of this ledger's: did:web documents, status list credentials and
the issuing deployment's own JSON-LD context are fetched over HTTPS, and only
from origins the caller trusts (``LEDGER_TRUSTED_ORIGINS`` or ``--trust``):

* a timeout, a size bound, and no redirects (a redirect could leave the origin);
* the host's addresses are resolved first and a private, loopback, link-local
  or reserved address is refused (a credential must not make us probe an
  internal network), unless the clearly test-only setting
  ``LEDGER_TEST_ONLY_ALLOW_LOOPBACK_HTTP=1`` allows plain HTTP to loopback;
* answers are cached by URL with their ETag and revalidated with
  ``If-None-Match`` (a 304 reuses the cached document);
* offline, every fetch is refused and remembered, so the report can say which
  checks could not be made.

A context is accepted from a trusted origin only if its bytes are exactly one we
bundle (our context v2 as another deployment serves it): contexts decide what a
signature means, so their content is pinned, only their address may vary.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import os
import socket
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from ledger.standards.dataintegrity.loader import (
    BUNDLED_CONTEXTS,
    bundled_name,
    file_bytes,
    register_context_alias,
)
from ledger.standards.remote_documents import (
    MAX_DOCUMENT_BYTES,
    TIMEOUT_SECONDS,
    RemoteRefused,
    RemoteUnavailable,
    origin_of,
)

#: The test-only switch: plain HTTP to loopback addresses (a ledger on 127.0.0.1).
TEST_ONLY_LOOPBACK = "LEDGER_TEST_ONLY_ALLOW_LOOPBACK_HTTP"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _loopback_literal(host: str | None) -> bool:
    """A loopback IP literal (no name lookup: plain HTTP never goes to a named host)."""
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _refused_address(address: str, *, allow_loopback: bool) -> bool:
    ip = ipaddress.ip_address(address)
    if ip.is_loopback:
        return not allow_loopback
    return ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_multicast


@dataclass
class OutsiderFetcher:
    """Fetches JSON (and context bytes) from trusted origins under the rules above."""

    trusted: frozenset[str]
    offline: bool = False
    allow_loopback_http: bool = False
    refused_offline: list[str] = field(default_factory=list)
    #: How many answers were 304 Not Modified and served from the cache.
    revalidated: int = 0
    _cache: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    @classmethod
    def from_settings(
        cls,
        origins: Iterable[str],
        *,
        offline: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> OutsiderFetcher:
        """Trusted origins from settings and ``--trust``; the test-only switch from ``env``."""
        values = os.environ if env is None else env
        return cls(
            trusted=frozenset(origin_of(o.strip()) for o in origins if o.strip()),
            offline=offline,
            allow_loopback_http=values.get(TEST_ONLY_LOOPBACK) == "1",
        )

    def _test_only_plain_http(self, url: str) -> str:
        """Under the test-only switch, did:web's https:// to a loopback literal goes over http."""
        if not self.allow_loopback_http or not url.startswith("https://"):
            return url
        loopback = _loopback_literal(urlsplit(url).hostname)
        return "http://" + url[len("https://") :] if loopback else url

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if origin_of(url) not in self.trusted:
            raise RemoteRefused(f"{url} is not under a trusted origin (--trust ORIGIN)")
        loopback_http = (
            parts.scheme == "http"
            and self.allow_loopback_http
            and _loopback_literal(parts.hostname)
        )
        if parts.scheme != "https" and not loopback_http:
            raise RemoteRefused(f"{url} is not HTTPS")
        try:
            infos = socket.getaddrinfo(parts.hostname or "", parts.port or 443)
        except OSError as error:
            raise RemoteUnavailable(f"cannot resolve {parts.hostname}: {error}") from None
        for info in infos:
            address = str(info[4][0])
            if _refused_address(address, allow_loopback=self.allow_loopback_http):
                raise RemoteRefused(f"{url} resolves to a non-public address ({address})")

    def fetch_bytes(self, url: str) -> bytes:
        """GET ``url`` (bounded, no redirects, revalidated by ETag); raise if refused."""
        if self.offline:
            self.refused_offline.append(url)
            raise RemoteRefused(f"offline: {url} was not fetched")
        url = self._test_only_plain_http(url)
        self._check_url(url)
        headers = {"Accept": "application/json, application/ld+json"}
        cached = self._cache.get(url)
        if cached is not None:
            headers["If-None-Match"] = cached[0]
        request = urllib.request.Request(url, headers=headers)  # noqa: S310 (checked above)
        opener = urllib.request.build_opener(_NoRedirect)
        try:
            with opener.open(request, timeout=TIMEOUT_SECONDS) as response:
                body: bytes = response.read(MAX_DOCUMENT_BYTES + 1)
                etag = response.headers.get("ETag")
        except urllib.error.HTTPError as error:
            if error.code == 304 and cached is not None:
                self.revalidated += 1
                return cached[1]
            raise RemoteUnavailable(f"cannot fetch {url}: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            raise RemoteUnavailable(f"cannot fetch {url}: {error}") from None
        if len(body) > MAX_DOCUMENT_BYTES:
            raise RemoteUnavailable(f"{url} is larger than {MAX_DOCUMENT_BYTES} bytes")
        if etag:
            self._cache[url] = (etag, body)
        return body

    def fetch(self, url: str) -> dict[str, Any]:
        """A JSON object from ``url`` (a ``JsonFetcher``)."""
        try:
            document = json.loads(self.fetch_bytes(url))
        except ValueError:
            raise RemoteUnavailable(f"{url} is not JSON") from None
        if not isinstance(document, dict):
            raise RemoteUnavailable(f"{url} is not a JSON object")
        return document

    def pin_contexts(self, document: dict[str, Any]) -> list[str]:
        """Fetch the unknown contexts a document names; keep those whose bytes we bundle.

        Returns the problems (a context refused, not fetched, or of unknown content);
        a context left unknown makes the proof check fail, naming it.
        """
        contexts = document.get("@context")
        urls = [
            c
            for c in (contexts if isinstance(contexts, list) else [contexts])
            if isinstance(c, str)
        ]
        digests = {hashlib.sha256(file_bytes(n)).hexdigest(): n for n in _bundled_files()}
        problems = []
        for url in urls:
            if bundled_name(url) is not None:
                continue
            try:
                body = self.fetch_bytes(url)
            except (RemoteRefused, RemoteUnavailable) as error:
                problems.append(str(error))
                continue
            name = digests.get(hashlib.sha256(body).hexdigest())
            if name is None:
                problems.append(f"{url} serves a context whose content is not one we know")
                continue
            register_context_alias(url, name)
        return problems


def _bundled_files() -> set[str]:
    return {*BUNDLED_CONTEXTS.values(), "ledger-ob-extensions-v2.json"}
