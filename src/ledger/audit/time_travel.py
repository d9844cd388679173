"""Time travel: a credential, a backpack or a status list as it was, from the log itself.

The state is always recomputed from stored events (the library's
``repository.get(id, version=...)``), never read from a stored copy. Which version
was current at an instant comes from the events' own timestamps; which was current
at a log position comes from the notification log. Both read the aggregate's
events, which the mapper verifies as usual.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from ledger.application.ledger import Ledger
from ledger.domain.credential import Credential
from ledger.errors import NotFound
from ledger.eventlog.canonical_json import parse_datetime
from ledger.eventlog.envelope import open_row
from ledger.standards.bitstring_status_list import Bitstring
from ledger.standards.open_badges import MESSAGE_PURPOSE, MESSAGE_STATUS_SIZE, status_value


def version_at(
    ledger: Ledger, aggregate_id: UUID, *, at: datetime | None = None, position: int | None = None
) -> int:
    """The last version of an aggregate at an instant or log position (0: did not exist)."""
    if (at is None) == (position is None):
        raise ValueError("give exactly one of an instant or a log position")
    stored = ledger.recorder.select_events(aggregate_id)
    if not stored:
        raise NotFound(f"nothing recorded for {aggregate_id}")
    if at is not None:
        version = 0
        for event in stored:
            sealed = open_row(event)
            if parse_datetime(sealed.timestamp) <= at:
                version = event.originator_version
        return version
    assert position is not None
    return _version_at_position(ledger, aggregate_id, position, len(stored))


def _version_at_position(ledger: Ledger, aggregate_id: UUID, position: int, latest: int) -> int:
    """Walk the notification log up to ``position`` and count the aggregate's events."""
    version = 0
    start: int | None = None
    while True:
        page = ledger.recorder.select_notifications(
            start=start, limit=1000, stop=position, inclusive_of_start=start is None
        )
        if not page:
            return version
        for notification in page:
            if UUID(str(notification.originator_id)) == aggregate_id:
                version = notification.originator_version
                if version == latest:
                    return version
        start = page[-1].id


def credential_at(
    ledger: Ledger, credential_id: UUID, *, at: datetime | None = None, position: int | None = None
) -> Credential | None:
    """The credential as it was (None if it did not exist yet)."""
    version = version_at(ledger, credential_id, at=at, position=position)
    return ledger.credential(credential_id, version=version) if version else None


@dataclass(frozen=True)
class CredentialThen:
    """A credential as it was, with every event of its history (``steps``) and how many
    of them had happened then (``version``; 0: it did not exist yet)."""

    credential_id: UUID
    version: int
    credential: Credential | None
    steps: list[dict[str, Any]]

    @property
    def led_there(self) -> list[dict[str, Any]]:
        """The events that led to the state shown."""
        return self.steps[: self.version]


def credential_then(
    ledger: Ledger, credential_id: UUID, *, at: datetime | None = None, position: int | None = None
) -> CredentialThen:
    """What ``ledger state-at`` and the audit pages show: the credential then, and its
    history (version, topic, time, actor, key, reason of each event), every link checked."""
    version = version_at(ledger, credential_id, at=at, position=position)
    credential = ledger.credential(credential_id, version=version) if version else None
    events = [open_row(stored) for stored in ledger.history(credential_id)]
    steps: list[dict[str, Any]] = [
        {
            "version": e.originator_version,
            "topic": e.topic,
            "at": e.timestamp,
            "actor": e.seal.actor,
            "kid": e.seal.kid,
            "reason": e.state.get("reason"),
        }
        for e in events
    ]
    return CredentialThen(credential_id, version, credential, steps)


def status_list_at(
    ledger: Ledger,
    credential_ids: list[UUID],
    *,
    purpose: str,
    length: int,
    at: datetime | None = None,
    position: int | None = None,
) -> Bitstring:
    """One status list as it was, recomputed from its credentials' histories.

    ``length`` counts entries. The ``message`` list has two bits per entry,
    ``revoked << 1 | suspended``, as exports from context v2 on name it.
    """
    if purpose == MESSAGE_PURPOSE:
        bits = Bitstring.for_entries(length, MESSAGE_STATUS_SIZE)
        for credential in _credentials_at(ledger, credential_ids, at=at, position=position):
            value = status_value(revoked=credential.revoked, suspended=credential.suspended)
            if value:
                bits.set_status(credential.status_index, MESSAGE_STATUS_SIZE, value)
        return bits
    flag: Callable[[Credential], bool] = (
        (lambda c: c.revoked) if purpose == "revocation" else (lambda c: c.suspended)
    )
    bits = Bitstring(length)
    for credential in _credentials_at(ledger, credential_ids, at=at, position=position):
        if flag(credential):
            bits.set(credential.status_index, True)
    return bits


def _credentials_at(
    ledger: Ledger, credential_ids: list[UUID], *, at: datetime | None, position: int | None
) -> list[Credential]:
    found = (credential_at(ledger, cid, at=at, position=position) for cid in credential_ids)
    return [credential for credential in found if credential is not None]


def backpack_at(
    ledger: Ledger,
    credential_ids: list[UUID],
    *,
    at: datetime | None = None,
    position: int | None = None,
) -> list[Credential]:
    """A learner's credentials as they were (the ids come from the audit trail's index)."""
    found = (credential_at(ledger, cid, at=at, position=position) for cid in credential_ids)
    return [credential for credential in found if credential is not None]
