"""Conditional GET for published documents: strong ETags, Cache-Control, 304."""

from __future__ import annotations

import hashlib

from starlette.responses import Response

#: ETags of bodies served again and again as the same object (the bundled contexts,
#: a cached document's bytes), by identity: hashing 10 KiB per request is most of
#: what serving them costs. Checked with ``is``, so a recycled id never matches.
_ETAGS: dict[int, tuple[bytes, str]] = {}
_ETAGS_MAX = 1024


def etag_of(body: bytes) -> str:
    """The strong ETag of ``body`` (its SHA-256), remembered for the same object."""
    known = _ETAGS.get(id(body))
    if known is not None and known[0] is body:
        return known[1]
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    if len(_ETAGS) >= _ETAGS_MAX:
        _ETAGS.clear()
    _ETAGS[id(body)] = (body, etag)
    return etag


def matches(etag: str, if_none_match: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag``."""
    return etag in [t.strip() for t in if_none_match.split(",")]


def cacheable(body: bytes, *, media_type: str, max_age: int, if_none_match: str | None) -> Response:
    """The body with a strong ETag (its SHA-256), or 304 when the client has it already."""
    etag = etag_of(body)
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if if_none_match is not None and matches(etag, if_none_match):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
