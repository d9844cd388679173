"""Public documents held in memory between refreshes: DID documents, the checkpoint.

Each is refreshed through a ``ReadBarrier`` (one refresh, started after a request
arrived, serves every request waiting), so what is served is never older than
what was written before the request arrived, and the bytes are built once per
change instead of once per request.
"""

from __future__ import annotations

import threading
from typing import Any

import orjson

from ledger.eventlog.keyring import KeyRing
from ledger.standards.did_documents import DidResolver

#: ``MerkleLogView.latest_checkpoint``'s row, its note alone.
LATEST_NOTE = "SELECT note FROM merkle_checkpoints ORDER BY tree_size DESC LIMIT 1"


class DidDocuments:
    """DID documents' bytes, rebuilt when the key ring has moved on."""

    def __init__(self, resolver: DidResolver, keyring: KeyRing) -> None:
        self._resolver = resolver
        self._keyring = keyring
        self._bytes: dict[str, tuple[object, bytes | None]] = {}
        self._lock = threading.Lock()

    def get(self, did: str) -> bytes | None:
        """The document of ``did`` as of the key ring's last refresh (None: nobody here)."""
        registry = self._keyring.registry
        version = None if registry is None else registry.version
        known = self._bytes.get(did)
        if known is not None and known[0] == version:
            return known[1]
        document = self._resolver.document(did, refresh=False)
        body = None if document is None else orjson.dumps(document)
        with self._lock:
            if len(self._bytes) > 10_000:
                self._bytes.clear()
            self._bytes[did] = (version, body)
        return body


class LatestCheckpoint:
    """The latest signed checkpoint's note, as the Merkle projection last showed it."""

    def __init__(self) -> None:
        self.note: str | None = None

    def refresh(self, runner: Any) -> None:
        """Read the latest checkpoint's note: one statement, one round trip on PostgreSQL
        (``runner.query``; a transaction around it cost four, and every request for the
        checkpoint waits for this read)."""
        rows = runner.query(LATEST_NOTE)
        self.note = str(rows[0][0]) if rows else None
