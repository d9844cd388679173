"""Issuer: an institution that issues credentials, its administrators and status lists.

Signing keys of issuers live in the key registry (``keyregistry.py``) so that a
verifier finds every key in one place; the issuer holds what only it decides:
its administrators, the study-load policies it adopted and the reservation of
indexes in its status lists.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from typing import Any

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate
from ledger.domain.policy import StudyLoadPolicy, policy_in_force
from ledger.domain.statusallocation import LIST_LENGTH, index_at
from ledger.errors import InvalidInput, RuleViolation

_COUNTRY = re.compile(r"^[A-Z]{2}$")


class Issuer(LedgerAggregate):
    """An issuing institution."""

    TOPIC = "ledger/Issuer"

    def signing_authorities(self) -> set[str]:
        return {"operator", str(self.id)}

    @event("Registered")
    def __init__(self, name: str, country: str, identifiers: dict[str, str]) -> None:
        if not name.strip():
            raise InvalidInput("an issuer needs a name")
        if not _COUNTRY.match(country):
            raise InvalidInput(f"country must be an ISO 3166-1 alpha-2 code, not {country!r}")
        self.name = name
        self.country = country
        self.identifiers = dict(identifiers)
        self.administrators: set[str] = set()
        self.policies: list[StudyLoadPolicy] = []
        self.status_lists: list[StatusListState] = []

    def add_administrator(self, subject: str) -> None:
        """Let ``subject`` administer this issuer's credentials."""
        if not subject.strip():
            raise InvalidInput("an administrator needs a subject")
        if subject in self.administrators:
            raise RuleViolation(f"{subject} is already an administrator")
        self._administrator_added(subject=subject)

    @event("AdministratorAdded")
    def _administrator_added(self, subject: str) -> None:
        self.administrators.add(subject)

    def remove_administrator(self, subject: str) -> None:
        """Withdraw ``subject``'s rights over this issuer."""
        if subject not in self.administrators:
            raise RuleViolation(f"{subject} is not an administrator")
        self._administrator_removed(subject=subject)

    @event("AdministratorRemoved")
    def _administrator_removed(self, subject: str) -> None:
        self.administrators.discard(subject)

    def adopt_policy(self, policy: StudyLoadPolicy) -> None:
        """Adopt a study-load policy for its period (the newest adoption wins)."""
        if any(p.reference == policy.reference for p in self.policies):
            raise RuleViolation(f"policy {policy.reference} is already adopted")
        self._policy_adopted(policy=policy.to_record())

    @event("PolicyAdopted")
    def _policy_adopted(self, policy: dict[str, Any]) -> None:
        self.policies.append(StudyLoadPolicy.from_record(policy))

    def policy_at(self, at: datetime) -> StudyLoadPolicy:
        """The study-load policy in force for this issuer at ``at``."""
        return policy_in_force(self.policies, at)

    def reserve_status_entries(self, count: int) -> list[tuple[int, int]]:
        """Reserve ``count`` status entries; returns (list number, index) for each.

        Opens new lists as the current one fills. The reservations are events on
        this aggregate; the application reserves in blocks, in a transaction of
        their own, and hands a block out to its issuances
        (``ledger.application.status_entries``), so a concurrent reservation is
        refused by optimistic concurrency and issuances never collide here.
        """
        if count < 1:
            raise InvalidInput("reserve at least one status entry")
        entries: list[tuple[int, int]] = []
        while len(entries) < count:
            if not self.status_lists or self.status_lists[-1].free == 0:
                self._status_list_opened(
                    list_number=len(self.status_lists) + 1, seed=secrets.token_hex(32)
                )
            current = self.status_lists[-1]
            take = min(count - len(entries), current.free)
            first = current.reserved
            self._status_entries_reserved(list_number=current.number, first=first, count=take)
            entries.extend((current.number, current.index_of(first + n)) for n in range(take))
        return entries

    @event("StatusListOpened")
    def _status_list_opened(self, list_number: int, seed: str) -> None:
        self.status_lists.append(StatusListState(number=list_number, seed=bytes.fromhex(seed)))

    @event("StatusEntriesReserved")
    def _status_entries_reserved(self, list_number: int, first: int, count: int) -> None:
        current = self.status_lists[list_number - 1]
        if first != current.reserved:
            raise RuleViolation("status entries must be reserved in order")
        current.reserved += count


class StatusListState:
    """How far one status list of an issuer has been reserved."""

    def __init__(self, *, number: int, seed: bytes, length: int = LIST_LENGTH) -> None:
        self.number = number
        self.seed = seed
        self.length = length
        self.reserved = 0

    @property
    def free(self) -> int:
        """Entries not yet reserved."""
        return self.length - self.reserved

    def index_of(self, position: int) -> int:
        """The random index of the ``position``-th reservation."""
        return index_at(self.seed, position, self.length)
