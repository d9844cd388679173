"""The library's event store, signing large batches on every core.

Ed25519 signing is the largest cost of a bulk save, and libsodium releases the GIL
while it signs (``signing_keys.signer_for``). For batches of more than
``PARALLEL_THRESHOLD`` events the events are first prepared in order (each names its
predecessor's hash, so this is sequential), then signed in as many slices as there
are cores: the calling thread signs the first slice while pool threads sign the
others. Preparing is pure Python and would hold the GIL against signing threads
(a thread coming back from libsodium waits up to the interpreter's switch interval
for it), so the two phases are not overlapped. The insert is the library's own, in
one transaction, exactly as for small batches.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from threading import Lock
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import EventStore, Notification, Recording, StoredEvent

from ledger.eventlog.signing_mapper import PreparedEvent, SignedEventMapper

PARALLEL_THRESHOLD = 64
WORKERS = os.cpu_count() or 2

_pool: ThreadPoolExecutor | None = None
_pool_lock = Lock()


def _signing_pool() -> ThreadPoolExecutor:
    global _pool  # noqa: PLW0603 (one pool per process, created on first bulk save)
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="sign")
        return _pool


def _sign_all(prepared: Sequence[PreparedEvent]) -> list[StoredEvent]:
    return [event.sign() for event in prepared]


def sign_in_parallel(prepared: Sequence[PreparedEvent]) -> list[StoredEvent]:
    """Sign prepared events in ``WORKERS`` slices, this thread taking the first; in order."""
    size = -(-len(prepared) // WORKERS)
    if size == 0 or size >= len(prepared):
        return _sign_all(prepared)
    pool = _signing_pool()
    futures = [
        pool.submit(_sign_all, prepared[start : start + size])
        for start in range(size, len(prepared), size)
    ]
    stored_events = _sign_all(prepared[:size])
    for future in futures:
        stored_events.extend(future.result())
    return stored_events


class SigningEventStore(EventStore[UUID]):
    """``EventStore.put`` with parallel signing of large batches."""

    def put(
        self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any
    ) -> list[Recording[UUID]]:
        mapper = self.mapper
        if len(domain_events) <= PARALLEL_THRESHOLD or not isinstance(mapper, SignedEventMapper):
            return super().put(domain_events, **kwargs)
        stored_events = sign_in_parallel([mapper.prepare(event) for event in domain_events])
        notification_ids = self.recorder.insert_events(stored_events, **kwargs)
        if not notification_ids:
            return []
        return [
            Recording(
                domain_event,
                Notification(
                    originator_id=stored.originator_id,
                    originator_version=stored.originator_version,
                    topic=stored.topic,
                    state=stored.state,
                    id=notification_id,
                ),
            )
            for domain_event, stored, notification_id in zip(
                domain_events, stored_events, notification_ids, strict=True
            )
        ]
