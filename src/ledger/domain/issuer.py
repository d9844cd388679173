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
#: Dutch institution identifiers with a fixed shape: BRIN (DUO's four-character
#: institution code, e.g. ``21PB``) and OIN (the government's 20-digit organisation
#: number). Other schemes are free text within the limits below.
_IDENTIFIER_SHAPES = {
    "BRIN": re.compile(r"^[0-9]{2}[A-Z]{2}$"),
    "OIN": re.compile(r"^[0-9]{20}$"),
}
_IDENTIFIER_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,31}$")
MAX_IDENTIFIERS = 20
MAX_URL = 2000


def check_identifiers(identifiers: dict[str, str]) -> dict[str, str]:
    """Refuse malformed identifiers; BRIN and OIN must have their official shape."""
    if len(identifiers) > MAX_IDENTIFIERS:
        raise InvalidInput(f"identifiers: at most {MAX_IDENTIFIERS}")
    for scheme, value in identifiers.items():
        if not isinstance(scheme, str) or not _IDENTIFIER_SCHEME.match(scheme):
            raise InvalidInput(f"identifiers: {scheme!r} is not an identifier scheme name")
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise InvalidInput(f"identifiers.{scheme}: a value of 1 to 200 characters")
        shape = _IDENTIFIER_SHAPES.get(scheme.upper())
        if shape is not None and not shape.match(value):
            raise InvalidInput(f"identifiers.{scheme}: {value!r} is not a valid {scheme.upper()}")
    return dict(identifiers)


def check_public_url(name: str, value: str) -> str:
    """An https URL (http only for a local address), or empty to clear the field."""
    if value == "":
        return value
    if len(value) > MAX_URL or any(c.isspace() for c in value):
        raise InvalidInput(f"{name}: not a URL")
    scheme, _, rest = value.partition("://")
    host = rest.split("/", 1)[0]
    local = host.split(":", 1)[0] in ("127.0.0.1", "localhost")
    if not host or not (scheme == "https" or (scheme == "http" and local)):
        raise InvalidInput(f"{name}: must be an https:// URL")
    return value


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
        self.homepage = ""
        self.logo_url = ""
        self.administrators: set[str] = set()
        self.policies: list[StudyLoadPolicy] = []
        self.status_lists: list[StatusListState] = []

    @classmethod
    def register(
        cls,
        *,
        name: str,
        country: str,
        identifiers: dict[str, str],
        homepage: str = "",
        logo_url: str = "",
    ) -> Issuer:
        """Register an institution; a homepage or logo is recorded as its first profile edit."""
        issuer = cls(name=name, country=country, identifiers=check_identifiers(identifiers))
        if homepage or logo_url:
            issuer.edit_profile(homepage=homepage, logo_url=logo_url)
        return issuer

    def edit_profile(
        self,
        *,
        name: str | None = None,
        country: str | None = None,
        identifiers: dict[str, str] | None = None,
        homepage: str | None = None,
        logo_url: str | None = None,
    ) -> None:
        """Change the public profile; only the fields given change, and only if they differ."""
        changes: dict[str, Any] = {}
        if name is not None:
            if not name.strip() or len(name) > 500:
                raise InvalidInput("name: 1 to 500 characters")
            changes["name"] = name.strip()
        if country is not None:
            if not _COUNTRY.match(country):
                raise InvalidInput(f"country must be an ISO 3166-1 alpha-2 code, not {country!r}")
            changes["country"] = country
        if identifiers is not None:
            changes["identifiers"] = check_identifiers(identifiers)
        if homepage is not None:
            changes["homepage"] = check_public_url("homepage", homepage)
        if logo_url is not None:
            changes["logo_url"] = check_public_url("logo_url", logo_url)
        changes = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if not changes:
            raise RuleViolation("the profile already says this: nothing to change")
        self._profile_edited(changes=changes)

    @event("ProfileEdited")
    def _profile_edited(self, changes: dict[str, Any]) -> None:
        for name, value in changes.items():
            setattr(self, name, dict(value) if name == "identifiers" else value)

    def profile(self) -> dict[str, Any]:
        """The public profile."""
        return {
            "name": self.name,
            "country": self.country,
            "identifiers": dict(self.identifiers),
            "homepage": self.homepage,
            "logo_url": self.logo_url,
        }

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
