"""Conditional GET for published documents: strong ETags, Cache-Control, 304."""

from __future__ import annotations

import hashlib

from starlette.responses import Response


def cacheable(body: bytes, *, media_type: str, max_age: int, if_none_match: str | None) -> Response:
    """The body with a strong ETag (its SHA-256), or 304 when the client has it already."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": f"public, max-age={max_age}"}
    if if_none_match is not None and etag in [t.strip() for t in if_none_match.split(",")]:
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)
