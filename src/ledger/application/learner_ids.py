"""Learner ids: a keyed function of the eduID subject, and the legacy ids a log holds.

A learner's aggregate id is derived from their eduID subject, so that the same
subject always finds the same backpack without the ledger storing the subject.
The derivation is keyed: HMAC-SHA-256 under a secret kept with the signing keys
(never in the log or the database), truncated into a version 8 UUID. Without the
secret nobody can turn a subject into its learner id, so an erased learner's
trail cannot be found again from their subject (docs/decisions.md).

Logs written before keyed ids hold ``legacy_learner_id`` ids (version 5 UUIDs, an
unkeyed hash). They cannot be rewritten, so a subject whose legacy id the log
already names (a learner record, a credential, an exemption claim) keeps it. Which
legacy ids a log names is found once, by a scan of the log, and kept in the
``learner_legacy_ids`` table beside it: new ids are never legacy ids, so the set
never grows after the scan.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from typing import Any
from uuid import UUID

from ledger.application.actor import Actor
from ledger.domain.learner import legacy_learner_id
from ledger.eventlog.envelope import open_row
from ledger.eventlog.persistence import lock_schema_changes

TABLE = "learner_legacy_ids"
#: The row that says the log was scanned (a learner id is never this text).
SCANNED = "scanned"
#: Events that name a learner id, and where: the originator or a state field.
_NAMING_TOPICS = {
    "ledger/Learner/Registered": None,
    "ledger/Credential/Issued": "learner_id",
    "ledger/ExemptionClaim/Submitted": "learner_id",
}
_SCAN_PAGE = 1000
_QUERY_CHUNK = 500
#: Subjects whose resolution is remembered per process (keyed by the keyed id, so the
#: memory holds no subject and nothing an unkeyed hash could match).
CACHE_SIZE = 65_536


def keyed_learner_id(secret: bytes, subject: str) -> UUID:
    """HMAC-SHA-256 of the subject under ``secret``, as a version 8 (RFC 9562) UUID."""
    digest = hmac.new(secret, b"ledger-learner-id:" + subject.encode("utf-8"), hashlib.sha256)
    value = int.from_bytes(digest.digest()[:16], "big")
    value &= ~(0xF000 << 64)  # version nibble
    value |= 0x8000 << 64
    value &= ~(0xC000 << 48)  # variant bits: RFC 4122/9562
    value |= 0x8000 << 48
    return UUID(int=value)


class LegacyLearnerIds:
    """The legacy (unkeyed) learner ids a log names, in a table beside the log."""

    def __init__(self, recorder: Any, *, kind: str) -> None:
        self._recorder = recorder
        self._datastore = recorder.datastore
        self._postgres = kind == "postgresql"
        schema = getattr(self._datastore, "schema", "") if self._postgres else ""
        self._table = f"{schema}.{TABLE}" if schema else TABLE
        self._mark = "%s" if self._postgres else "?"
        #: Whether the table holds no legacy id at all (a log begun with keyed ids).
        self._none: bool | None = None

    def create_and_scan(self) -> None:
        """Create the table and, until a scan has finished once, fill it from the log.

        The scan runs outside any transaction; two processes starting at once both
        scan and insert the same rows, which is harmless. The ``SCANNED`` row comes
        with the last insert, so an interrupted scan is simply done again.
        """
        with self._datastore.transaction(commit=True) as cursor:
            if self._postgres:
                lock_schema_changes(cursor)
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (learner_id TEXT PRIMARY KEY)"
            )
            cursor.execute(
                f"SELECT 1 FROM {self._table} WHERE learner_id = {self._mark}",  # noqa: S608
                (SCANNED,),
            )
            if cursor.fetchone() is not None:
                return
        found = sorted(str(i) for i in self._scan())
        with self._datastore.transaction(commit=True) as cursor:
            cursor.executemany(
                f"INSERT INTO {self._table} (learner_id) VALUES ({self._mark}) "  # noqa: S608
                "ON CONFLICT (learner_id) DO NOTHING",
                [(i,) for i in [*found, SCANNED]],
            )

    def _scan(self) -> set[UUID]:
        """Every version 5 learner id the log's events name (checked later by ``verify``)."""
        found: set[UUID] = set()
        start = 1
        while True:
            page = self._recorder.select_notifications(
                start=start, limit=_SCAN_PAGE, topics=tuple(_NAMING_TOPICS)
            )
            for notification in page:
                field = _NAMING_TOPICS[notification.topic]
                if field is None:
                    learner_id = UUID(str(notification.originator_id))
                else:
                    learner_id = UUID(str(open_row(notification).state[field]))
                if learner_id.version == 5:
                    found.add(learner_id)
            if len(page) < _SCAN_PAGE:
                return found
            start = page[-1].id + 1

    def named(self, learner_ids: Sequence[UUID]) -> set[UUID]:
        """Which of these legacy ids the log names."""
        if self._none is None:
            with self._datastore.transaction(commit=False) as cursor:
                cursor.execute(
                    f"SELECT 1 FROM {self._table} WHERE learner_id <> {self._mark} LIMIT 1",  # noqa: S608
                    (SCANNED,),
                )
                self._none = cursor.fetchone() is None
        if self._none or not learner_ids:
            return set()
        found: set[UUID] = set()
        with self._datastore.transaction(commit=False) as cursor:
            for start in range(0, len(learner_ids), _QUERY_CHUNK):
                chunk = [str(i) for i in learner_ids[start : start + _QUERY_CHUNK]]
                marks = ", ".join([self._mark] * len(chunk))
                cursor.execute(
                    f"SELECT learner_id FROM {self._table} WHERE learner_id IN ({marks})",  # noqa: S608
                    chunk,
                )
                for row in cursor.fetchall():
                    found.add(UUID(str(row["learner_id"] if isinstance(row, dict) else row[0])))
        return found


class LearnerIds:
    """The learner id of an eduID subject: keyed, unless the log already has a legacy one."""

    def __init__(self, secret: Callable[[], bytes], legacy: LegacyLearnerIds) -> None:
        self._secret = secret
        self._legacy = legacy
        self._cache: OrderedDict[UUID, UUID] = OrderedDict()

    def keyed(self, subject: str) -> UUID:
        """The keyed id of a subject (what a new learner gets)."""
        return keyed_learner_id(self._secret(), subject)

    def of(self, subject: str) -> UUID:
        """The learner id of an eduID subject."""
        return self.of_many([subject])[0]

    def of_many(self, subjects: Iterable[str]) -> list[UUID]:
        """The learner ids of many subjects, with one query per 500 unseen subjects."""
        subjects = list(subjects)
        keyed = [self.keyed(subject) for subject in subjects]
        # ``get``, not ``in`` then ``[]``: another thread may evict in between.
        resolved = {k: found for k in keyed if (found := self._cache.get(k)) is not None}
        unseen = {
            k: legacy_learner_id(s)
            for k, s in zip(keyed, subjects, strict=True)
            if k not in resolved
        }
        if unseen:
            named = self._legacy.named(list(unseen.values()))
            for k, old in unseen.items():
                resolved[k] = old if old in named else k
                self._remember(k, resolved[k])
        return [resolved[k] for k in keyed]

    def _remember(self, keyed: UUID, resolved: UUID) -> None:
        self._cache[keyed] = resolved
        if len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)

    def resolve(self, actor: Actor) -> Actor:
        """The actor with their learner id filled in (a learner's events record it)."""
        if actor.role != "learner" or actor.learner_id is not None:
            return actor
        return replace(actor, learner_id=self.of(actor.subject))
