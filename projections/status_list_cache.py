"""Published status lists in memory, dropped when a credential on them changes.

``GET /v1/status-lists/...`` and the signed list credentials are what verifiers'
software fetches, again and again; the encoded list (GZIP, base64url) of a list
changes only when one of its credentials is suspended, reinstated or revoked.
This cache holds each list as last read from the status projection, and the
status view's refresh (``StatusView.refresh(on_change=...)``) drops the lists of
the credentials it saw change, so what is served is as current as the view.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from uuid import UUID

from ledger.projections.status import StatusQueries
from ledger.projections.status_view import Change

from ledger.domain.statusallocation import LIST_PURPOSES

Key = tuple[str, int, str]


class StatusListCache:
    """``(issuer, list, purpose) -> (encodedList, position of its last change)``."""

    def __init__(self, queries: StatusQueries) -> None:
        self._queries = queries
        self._entries: dict[Key, tuple[str, int]] = {}
        self._lock = threading.Lock()
        #: Bumped by every drop: a list read before a drop is not stored after it.
        self._epoch = 0

    def cached(self, issuer_id: UUID, list_number: int, purpose: str) -> tuple[str, int] | None:
        """The list if it is in memory (None: not there, ask ``get``)."""
        return self._entries.get((str(issuer_id), list_number, purpose))

    def get(self, issuer_id: UUID, list_number: int, purpose: str) -> tuple[str, int] | None:
        """The list, from memory or read once from the projection (None if no such list)."""
        key = (str(issuer_id), list_number, purpose)
        found = self._entries.get(key)
        if found is not None:
            return found
        epoch = self._epoch
        found = self._queries.status_list(issuer_id, list_number, purpose)
        if found is not None:
            with self._lock:
                if epoch == self._epoch:
                    self._entries[key] = found
        return found

    def changed(self, changes: Iterable[Change]) -> None:
        """Drop the lists of credentials that changed."""
        with self._lock:
            self._epoch += 1
            for change in changes:
                for purpose in LIST_PURPOSES:
                    self._entries.pop((change.issuer_id, change.list_number, purpose), None)
