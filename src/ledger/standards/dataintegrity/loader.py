"""Offline pyld document loader serving only the bundled JSON-LD contexts.

A context decides which IRIs a JSON key maps to, i.e. what a signature means.
Loading one from the network at verification time would hand that decision to
whoever serves the URL, and would make verification depend on connectivity.
So contexts are package files, looked up by exact URL, and anything else is
refused with :class:`UnknownContextError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from .errors import UnknownContextError

CREDENTIALS_V2_URL = "https://www.w3.org/ns/credentials/v2"
CREDENTIALS_EXAMPLES_V2_URL = "https://www.w3.org/ns/credentials/examples/v2"
OPEN_BADGES_V3_URL = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
DATA_INTEGRITY_V2_URL = "https://w3id.org/security/data-integrity/v2"
MULTIKEY_V1_URL = "https://w3id.org/security/multikey/v1"
#: Our own terms for what OB 3.0 has no field for (docs/decisions.md, "Standard credentials").
LEDGER_EXTENSIONS_V1_URL = "https://w3id.org/edu-ledger/contexts/ob-extensions-v1.json"

#: Exact context URL -> file name inside ``ledger/dataintegrity/contexts``.
BUNDLED_CONTEXTS: Mapping[str, str] = {
    CREDENTIALS_V2_URL: "credentials-v2.json",
    CREDENTIALS_EXAMPLES_V2_URL: "credentials-examples-v2.json",
    OPEN_BADGES_V3_URL: "ob-v3p0-context-3.0.3.json",
    DATA_INTEGRITY_V2_URL: "data-integrity-v2.json",
    MULTIKEY_V1_URL: "multikey-v1.json",
    LEDGER_EXTENSIONS_V1_URL: "ledger-ob-extensions-v1.json",
}


@cache
def context_bytes(url: str) -> bytes:
    """Return the exact bundled bytes for ``url`` (cached; files never change)."""
    try:
        name = BUNDLED_CONTEXTS[url]
    except KeyError:
        raise UnknownContextError(url) from None
    return (
        resources.files("ledger.standards.dataintegrity")
        .joinpath("contexts")
        .joinpath(name)
        .read_bytes()
    )


def load_context(url: str) -> dict[str, Any]:
    """Return a fresh parsed copy of a bundled context (callers may mutate it)."""
    document: dict[str, Any] = json.loads(context_bytes(url))
    return document


def document_loader(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """pyld document loader: bundled contexts only, never the network.

    Returns pyld's RemoteDocument shape. ``options`` is accepted for pyld's
    calling convention and ignored.
    """
    del options
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": load_context(url),
    }
