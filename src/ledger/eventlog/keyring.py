"""The key ring: the verifying side of the key registry, kept in process memory.

It is a cache, never the truth: it is built from the key registry's events in
the log, each checked as it is applied (the first one is self-signed by the
operator key it establishes; every later one must be signed by a valid operator
key). A key id it does not know makes it read the registry's newer events before
it answers, and it re-reads at most every ``max_age`` seconds, so a key rotated
by another process is seen within that bound (see docs/decisions.md on the
rotation grace period that covers it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from time import monotonic

from eventsourcing.persistence import StoredEvent

from ledger.domain.keyregistry import OPERATOR, KeyEntry, KeyRegistry
from ledger.errors import KeyNotValid, MalformedEvent, UnknownKey
from ledger.eventlog.canonical_json import parse_datetime
from ledger.eventlog.chain import project_chained
from ledger.eventlog.envelope import SealedEvent, decode_event, open_row
from ledger.eventlog.signing_keys import decode_public_key, key_id, verify_signature

#: A retired key's signatures stay valid this long after its retirement, so that a
#: process whose ring has not yet seen a rotation does not write invalid events.
ROTATION_GRACE = timedelta(minutes=5)

LoadRegistryEvents = Callable[[int | None], Sequence[StoredEvent]]


def signature_problem(entry: KeyEntry, at: datetime) -> str | None:
    """Why ``entry`` does not cover a signature made at ``at`` (None if it does)."""
    return entry.invalid_reason(at, retirement_grace=ROTATION_GRACE)


class KeyRing:
    """Public keys by key id, verified from the log, with their validity periods."""

    def __init__(
        self,
        load: LoadRegistryEvents,
        *,
        operator_anchor: str | None = None,
        max_age: float = 1.0,
    ) -> None:
        self._load = load
        self._anchor = operator_anchor
        self._max_age = max_age
        self._registry: KeyRegistry | None = None
        self._refreshed_at = float("-inf")
        self._lock = threading.Lock()

    @property
    def registry(self) -> KeyRegistry | None:
        """The registry as last read from the log (None before ``ledger init``)."""
        return self._registry

    def refresh(self) -> None:
        """Apply the registry events written since the last refresh, checking each."""
        with self._lock:
            gt = self._registry.version if self._registry is not None else None
            for stored in self._load(gt):
                self._apply(stored)
            self._refreshed_at = monotonic()

    def refresh_if_stale(self) -> None:
        """Refresh when the ring is older than ``max_age``; called before signing."""
        if monotonic() - self._refreshed_at > self._max_age:
            self.refresh()

    def _apply(self, stored: StoredEvent) -> None:
        sealed = open_row(stored)
        if self._registry is None:
            self._check_genesis(sealed)
        else:
            entry = self._registry.keys.get(sealed.seal.kid)
            if entry is None or entry.owner != OPERATOR:
                raise UnknownKey(f"{sealed.describe()} is not signed by an operator key")
            self._check(sealed, entry)
        self._registry = project_chained(self._registry, (decode_event(sealed),))

    def _check_genesis(self, sealed: SealedEvent) -> None:
        if sealed.topic != KeyRegistry.TOPIC + "/Established" or sealed.originator_version != 1:
            raise MalformedEvent(f"{sealed.describe()} does not establish the key registry")
        kid = sealed.state.get("operator_kid")
        public_text = sealed.state.get("operator_public_key")
        if not isinstance(kid, str) or not isinstance(public_text, str):
            raise MalformedEvent(f"{sealed.describe()} lacks the operator key")
        public_key = decode_public_key(public_text)
        if key_id(public_key) != kid or sealed.seal.kid != kid:
            raise MalformedEvent(f"{sealed.describe()} is not self-signed by the key it names")
        if self._anchor is not None and kid != self._anchor:
            raise UnknownKey(f"operator key {kid} is not the pinned key {self._anchor}")
        verify_signature(public_key, signature=sealed.seal.signature, data=sealed.signed_bytes)

    def entry(self, kid: str) -> KeyEntry:
        """The registered key ``kid``; reads the log once before saying it is unknown."""
        registry = self._registry
        if registry is None or kid not in registry.keys:
            self.refresh()
            registry = self._registry
        if registry is None or kid not in registry.keys:
            raise UnknownKey(f"key {kid} is not in the key registry")
        return registry.keys[kid]

    def verify(self, sealed: SealedEvent) -> KeyEntry:
        """Check an opened event's signature and its key's validity; returns the key."""
        entry = self.entry(sealed.seal.kid)
        self._check(sealed, entry)
        return entry

    @staticmethod
    def _check(sealed: SealedEvent, entry: KeyEntry) -> None:
        try:
            verify_signature(
                decode_public_key(entry.public_key),
                signature=sealed.seal.signature,
                data=sealed.signed_bytes,
            )
        except Exception as error:
            error.args = (f"{sealed.describe()}: {error}",)
            raise
        problem = signature_problem(entry, parse_datetime(sealed.timestamp))
        if problem is not None:
            raise KeyNotValid(f"{sealed.describe()}: {problem}")

    def active_key(self, owner: str) -> KeyEntry | None:
        """The key an owner signs new events with, from a ring at most ``max_age`` old."""
        self.refresh_if_stale()
        return self._registry.active_key(owner) if self._registry is not None else None
