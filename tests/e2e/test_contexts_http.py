"""Our JSON-LD contexts over HTTP: v2 served with pinned bytes and an ETag, v1 kept."""

from __future__ import annotations

import hashlib

from ledger.standards.dataintegrity.loader import (
    LEDGER_EXTENSIONS_V1_URL,
    LEDGER_EXTENSIONS_V2_FILE,
    context_bytes,
    file_bytes,
)
from tests.e2e.conftest import Server


def test_contexts_are_served_pinned_and_cacheable(server: Server) -> None:
    client = server.client
    for path, expected in (
        ("/contexts/ob-extensions-v2.json", file_bytes(LEDGER_EXTENSIONS_V2_FILE)),
        ("/contexts/ob-extensions-v1.json", context_bytes(LEDGER_EXTENSIONS_V1_URL)),
    ):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/ld+json")
        assert response.content == expected
        assert "max-age" in response.headers["cache-control"]
        etag = response.headers["etag"]
        assert etag.strip('"') == hashlib.sha256(expected).hexdigest()[:32]
        again = client.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.content == b""
        assert client.get(path, headers={"If-None-Match": '"other"'}).status_code == 200
    # Exports name v2 at this deployment's public URL, and the message list is served.
    v2 = client.get("/contexts/ob-extensions-v2.json").json()["@context"]
    assert v2["ECTS"] == "https://edubadges.nl/static/obv3-glossary.html#ects"
