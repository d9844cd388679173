"""Offline pyld document loader serving only the bundled JSON-LD contexts.

A context decides which IRIs a JSON key maps to, i.e. what a signature means.
Loading one from the network at verification time would hand that decision to
whoever serves the URL, and would make verification depend on connectivity.
So contexts are package files, looked up by exact URL, and anything else is
refused with :class:`UnknownContextError`.

Our own context from version 2 on is served by each deployment under its
``LEDGER_PUBLIC_URL`` (``/contexts/ob-extensions-v2.json``), so that a standard
verifier can fetch it; the URL therefore depends on the deployment, and the
deployment registers it here (``serve_own_context``) to map it onto the same
bundled bytes: the content is pinned, only its address varies.
"""

from __future__ import annotations

import hashlib
import json
import threading
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
CREDENTIALS_V1_URL = "https://www.w3.org/2018/credentials/v1"
DATA_INTEGRITY_V1_URL = "https://w3id.org/security/data-integrity/v1"
ED25519_2020_URL = "https://w3id.org/security/suites/ed25519-2020/v1"
DID_V1_URL = "https://www.w3.org/ns/did/v1"
STATUS_LIST_2021_URL = "https://w3id.org/vc/status-list/2021/v1"
#: Our own terms for what OB 3.0 has no field for (docs/decisions.md, "Standard credentials").
LEDGER_EXTENSIONS_V1_URL = "https://w3id.org/edu-ledger/contexts/ob-extensions-v1.json"

#: Where a deployment serves our context, version 2 (under its public URL).
LEDGER_EXTENSIONS_V2_PATH = "/contexts/ob-extensions-v2.json"
LEDGER_EXTENSIONS_V2_FILE = "ledger-ob-extensions-v2.json"

#: Exact context URL -> file name inside ``ledger/dataintegrity/contexts``.
BUNDLED_CONTEXTS: Mapping[str, str] = {
    CREDENTIALS_V2_URL: "credentials-v2.json",
    CREDENTIALS_EXAMPLES_V2_URL: "credentials-examples-v2.json",
    OPEN_BADGES_V3_URL: "ob-v3p0-context-3.0.3.json",
    DATA_INTEGRITY_V2_URL: "data-integrity-v2.json",
    MULTIKEY_V1_URL: "multikey-v1.json",
    LEDGER_EXTENSIONS_V1_URL: "ledger-ob-extensions-v1.json",
    # What wallets and other issuers' credentials name (issue 14; origins in SOURCES.md).
    CREDENTIALS_V1_URL: "credentials-v1.json",
    DATA_INTEGRITY_V1_URL: "data-integrity-v1.json",
    ED25519_2020_URL: "ed25519-signature-2020-v1.json",
    "https://w3id.org/security/suites/x25519-2020/v1": "x25519-key-agreement-2020-v1.json",
    DID_V1_URL: "did-v1.json",
    STATUS_LIST_2021_URL: "vc-status-list-2021-v1.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json": "ob-v3p0-context-3.0.2.json",
    "https://purl.imsglobal.org/spec/ob/v3p0/extensions.json": "ob-v3p0-extensions.json",
    "https://w3id.org/citizenship/v4rc1": "citizenship-v4rc1.json",
}


_own_urls: dict[str, str] = {}
_own_lock = threading.Lock()


def ledger_context_url(public_url: str) -> str:
    """The URL of our context (version 2) as the deployment at ``public_url`` serves it."""
    return public_url.rstrip("/") + LEDGER_EXTENSIONS_V2_PATH


def serve_own_context(public_url: str) -> str:
    """Map this deployment's context URL onto the bundled file; returns the URL."""
    url = ledger_context_url(public_url)
    register_context_alias(url, LEDGER_EXTENSIONS_V2_FILE)
    return url


def register_context_alias(url: str, name: str) -> None:
    """Serve the bundled file ``name`` for ``url`` (its bytes were checked to be that file's)."""
    with _own_lock:
        _own_urls[url] = name


def bundled_name(url: str) -> str | None:
    """The bundled file that ``url`` names, if it is a known or registered context."""
    name = BUNDLED_CONTEXTS.get(url)
    if name is None:
        with _own_lock:
            name = _own_urls.get(url)
    return name


@cache
def file_bytes(name: str) -> bytes:
    """The exact bytes of a bundled context file (cached; files never change)."""
    return (
        resources.files("ledger.standards.dataintegrity")
        .joinpath("contexts")
        .joinpath(name)
        .read_bytes()
    )


def context_bytes(url: str) -> bytes:
    """Return the exact bundled bytes for ``url``."""
    name = bundled_name(url)
    if name is None:
        raise UnknownContextError(url)
    return file_bytes(name)


def context_digest(name: str) -> str:
    """SHA-256 (hex) of a bundled file: what pins a context served elsewhere."""
    return hashlib.sha256(file_bytes(name)).hexdigest()


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
