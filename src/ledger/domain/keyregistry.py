"""The key registry: every public signing key, whose it is and when it was valid.

One registry aggregate per ledger holds the lifecycle of all keys, the operator's
and every issuer's, so that a verifier finds any key id in one place. Its first
event is self-signed by the operator key it establishes (the trust anchor that
auditors pin); every later registry event is signed by an operator key.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import event

from ledger.domain.base import LedgerAggregate, utcnow
from ledger.errors import InvalidTransition, RuleViolation

KEY_REGISTRY_ID = uuid5(NAMESPACE_URL, "urn:ledger:key-registry")
OPERATOR = "operator"


@dataclass(frozen=True)
class KeyEntry:
    """One public key and its validity period."""

    kid: str
    owner: str
    public_key: str
    valid_from: datetime
    retired_at: datetime | None = None
    compromised_since: datetime | None = None

    def invalid_reason(
        self, at: datetime, *, retirement_grace: timedelta = timedelta(0)
    ) -> str | None:
        """Why a signature made at ``at`` is not covered by this key, or None if it is.

        A compromise invalidates from its instant on; a retirement only after the
        grace period, which covers processes that have not yet seen the rotation.
        """
        if at < self.valid_from:
            return f"key {self.kid} was not yet valid at {at.isoformat()}"
        if self.compromised_since is not None and at >= self.compromised_since:
            return f"key {self.kid} is compromised since {self.compromised_since.isoformat()}"
        if self.retired_at is not None and at >= self.retired_at + retirement_grace:
            return f"key {self.kid} was retired at {self.retired_at.isoformat()}"
        return None

    @property
    def active(self) -> bool:
        """Whether the key may still sign new events."""
        return self.retired_at is None and self.compromised_since is None


class KeyRegistry(LedgerAggregate):
    """Public keys of the operator and of every issuer, with their lifecycles."""

    TOPIC = "ledger/KeyRegistry"

    @staticmethod
    def create_id(**_: object) -> UUID:
        return KEY_REGISTRY_ID

    @event("Established")
    def __init__(self, operator_kid: str, operator_public_key: str, valid_from: datetime) -> None:
        self.keys: dict[str, KeyEntry] = {
            operator_kid: KeyEntry(
                kid=operator_kid,
                owner=OPERATOR,
                public_key=operator_public_key,
                valid_from=valid_from,
            )
        }

    def register(self, *, kid: str, owner: str, public_key: str) -> None:
        """Register a new public key for an owner (the operator or an issuer id)."""
        if kid in self.keys:
            raise RuleViolation(f"key {kid} is already registered")
        self._registered(kid=kid, owner=owner, public_key=public_key, valid_from=utcnow())

    @event("KeyRegistered")
    def _registered(self, kid: str, owner: str, public_key: str, valid_from: datetime) -> None:
        self.keys[kid] = KeyEntry(
            kid=kid, owner=owner, public_key=public_key, valid_from=valid_from
        )

    def retire(self, kid: str) -> None:
        """Stop a key from signing from now on; what it signed before stays valid."""
        entry = self._entry(kid)
        if not entry.active:
            raise InvalidTransition(f"key {kid} is already retired or compromised")
        self._retired(kid=kid, at=utcnow())

    @event("KeyRetired")
    def _retired(self, kid: str, at: datetime) -> None:
        self.keys[kid] = replace(self.keys[kid], retired_at=at)

    def mark_compromised(self, kid: str, *, since: datetime, reason: str) -> None:
        """Invalidate everything the key signed from ``since`` on."""
        entry = self._entry(kid)
        if entry.compromised_since is not None:
            raise InvalidTransition(f"key {kid} is already marked compromised")
        if not reason.strip():
            raise RuleViolation("a compromise needs a reason")
        self._compromised(kid=kid, since=since, reason=reason)

    @event("KeyCompromised")
    def _compromised(self, kid: str, since: datetime, reason: str) -> None:
        self.keys[kid] = replace(self.keys[kid], compromised_since=since)

    def _entry(self, kid: str) -> KeyEntry:
        try:
            return self.keys[kid]
        except KeyError:
            raise RuleViolation(f"key {kid} is not registered") from None

    def active_key(self, owner: str) -> KeyEntry | None:
        """The newest active key of an owner, the one that signs its new events."""
        active = [k for k in self.keys.values() if k.owner == owner and k.active]
        return max(active, key=lambda k: k.valid_from) if active else None

    def keys_of(self, owner: str) -> list[KeyEntry]:
        """Every key an owner ever had, oldest first (old credentials keep verifying)."""
        return sorted(
            (k for k in self.keys.values() if k.owner == owner), key=lambda k: k.valid_from
        )
