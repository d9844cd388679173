"""The library's event store, signing large batches on every core.

Ed25519 signing is the dominant cost of a bulk save and ``cryptography`` releases
the GIL while it signs, so for batches of more than ``PARALLEL_THRESHOLD`` events
the events are prepared in order (each names its predecessor's hash) and handed
in chunks to a thread pool to sign while the next chunk is prepared. The insert
is the library's own, in one transaction, exactly as for small batches.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from threading import Lock
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import EventStore, Notification, Recording, StoredEvent

from ledger.eventlog.signing_mapper import PreparedEvent, SignedEventMapper

PARALLEL_THRESHOLD = 64
CHUNK = 256

_pool: ThreadPoolExecutor | None = None
_pool_lock = Lock()


def _signing_pool() -> ThreadPoolExecutor:
    global _pool  # noqa: PLW0603 (one pool per process, created on first bulk save)
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="sign")
        return _pool


def _sign_all(prepared: Sequence[PreparedEvent]) -> list[StoredEvent]:
    return [event.sign() for event in prepared]


class SigningEventStore(EventStore[UUID]):
    """``EventStore.put`` with parallel signing of large batches."""

    def put(
        self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any
    ) -> list[Recording[UUID]]:
        mapper = self.mapper
        if len(domain_events) <= PARALLEL_THRESHOLD or not isinstance(mapper, SignedEventMapper):
            return super().put(domain_events, **kwargs)
        pool = _signing_pool()
        futures: list[Future[list[StoredEvent]]] = []
        chunk: list[PreparedEvent] = []
        for domain_event in domain_events:
            chunk.append(mapper.prepare(domain_event))
            if len(chunk) == CHUNK:
                futures.append(pool.submit(_sign_all, chunk))
                chunk = []
        if chunk:
            futures.append(pool.submit(_sign_all, chunk))
        stored_events = [stored for future in futures for stored in future.result()]
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
