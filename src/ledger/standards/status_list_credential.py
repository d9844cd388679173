"""Signed ``BitstringStatusListCredential`` documents of the issuers' status lists.

A status list credential is valid for a short window: ``validFrom`` is the start
of the current hour and ``validUntil`` two hours later, so a copy cached by a CDN
for ``CACHE_SECONDS`` is never served expired, and a verifier never trusts a list
older than two hours. The document is a pure function of (list content, window,
signing key), so it is signed once per change or window and then served from
``StatusCredentialCache``, keyed by the digest of the list's content.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from ledger.standards.dataintegrity.loader import CREDENTIALS_V2_URL
from ledger.standards.open_badges import xsd_datetime

#: Length of a validity window's step; a list credential is valid for two of them.
WINDOW = timedelta(hours=1)
VALIDITY = 2 * WINDOW
#: How long a client or CDN may cache a served list (also the list's ``ttl``).
CACHE_SECONDS = 300
CACHE_ENTRIES = 4096


def status_list_url(public_url: str, issuer_id: UUID, list_number: int, purpose: str) -> str:
    """Where a list's signed credential is served (the ``statusListCredential`` of entries)."""
    return f"{public_url}/v1/status-lists/{issuer_id}/{list_number}/{purpose}/credential"


def validity_window(now: datetime) -> tuple[datetime, datetime]:
    """(validFrom, validUntil) of a list credential signed at ``now``."""
    start = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return start, start + VALIDITY


def status_list_credential(
    *, url: str, issuer_did: str, purpose: str, encoded_list: str, valid_from: datetime
) -> dict[str, Any]:
    """The unsigned ``BitstringStatusListCredential`` (spec section 2.2)."""
    return {
        "@context": [CREDENTIALS_V2_URL],
        "id": url,
        "type": ["VerifiableCredential", "BitstringStatusListCredential"],
        "issuer": issuer_did,
        "validFrom": xsd_datetime(valid_from),
        "validUntil": xsd_datetime(valid_from + VALIDITY),
        "credentialSubject": {
            "id": f"{url}#list",
            "type": "BitstringStatusList",
            "statusPurpose": purpose,
            "encodedList": encoded_list,
            "ttl": CACHE_SECONDS * 1000,
        },
    }


def content_digest(encoded_list: str) -> str:
    """The cache key of a list's content."""
    return hashlib.sha256(encoded_list.encode("ascii")).hexdigest()


class StatusCredentialCache:
    """Signed list credentials by (list, content digest, window start, key): sign once each."""

    def __init__(self, max_entries: int = CACHE_ENTRIES) -> None:
        self._entries: OrderedDict[tuple[str, ...], dict[str, Any]] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...], sign: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The cached document for ``key``, signing it first if it is not there."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        document = sign()
        with self._lock:
            self._entries[key] = document
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
        return document
