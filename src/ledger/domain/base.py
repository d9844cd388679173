"""The base aggregate of the ledger: stable topics, class versions and the hash chain.

Every aggregate class sets ``TOPIC``; its events get ``TOPIC + "/" + event name`` as
their stored topic, so renaming or moving a module never orphans the log. Every
event class carries ``class_version`` (1 until its schema changes; upcasters
``upcast_vN_vN+1`` then convert old stored states).

The chain: a stored event's envelope names the hash of the previous event of the
same aggregate. When events are read back, the mapper attaches the opened seal to
each event as ``_seal``; applying an event checks that its ``prev`` is the hash of
the event applied before it, so a removed, reordered or inserted event breaks the
reconstruction of the aggregate itself, not only the offline verifier.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any, TypeVar

from eventsourcing.domain import Aggregate, MetaAggregate

from ledger.errors import ChainBroken, WrongSigner
from ledger.eventlog.envelope import GENESIS, Seal

T = TypeVar("T")


class LedgerMeta(MetaAggregate):  # type: ignore[type-arg]
    """Gives every event class defined by ``@event`` a stable topic under its aggregate's."""

    def _define_event_class(
        cls,
        name: str,
        bases: tuple[type[Any], ...],
        apply_method: Any,
        event_topic: str | None = None,
    ) -> Any:
        own_topic = cls.__dict__.get("TOPIC")
        if event_topic is None and own_topic:
            event_topic = f"{own_topic}/{name}"
        return super()._define_event_class(name, bases, apply_method, event_topic)


def utcnow() -> datetime:
    """The current instant, timezone-aware, as every recorded time in the ledger is."""
    return datetime.now(UTC)


def seal_of(event: object) -> Seal | None:
    """The seal attached to an event read from the store (None for a new event)."""
    seal = event.__dict__.get("_seal")
    return seal if isinstance(seal, Seal) else None


class LedgerAggregate(Aggregate, metaclass=LedgerMeta):
    """Base of all ledger aggregates."""

    #: Hash of the last stored event applied to this aggregate (the chain head).
    _chain_head: str = GENESIS

    class Event(Aggregate.Event):
        """Base of all ledger events: checks the chain link when replayed."""

        class_version = 1

        def mutate(self, aggregate: Any) -> Any:
            seal = seal_of(self)
            if seal is not None:
                expected = aggregate._chain_head if aggregate is not None else GENESIS
                if seal.prev != expected:
                    raise ChainBroken(
                        f"event {self.originator_id} v{self.originator_version} links to "
                        f"{seal.prev[:16]}…, but the previous event hashes to {expected[:16]}…"
                    )
            mutated = super().mutate(aggregate)
            if seal is not None and mutated is not None:
                mutated._chain_head = seal.digest
                signer = self.__dict__.get("_signer")
                if signer is not None and signer not in mutated.signing_authorities():
                    raise WrongSigner(
                        f"event {self.originator_id} v{self.originator_version} is signed by a key "
                        f"of {signer}, which has no authority over this {type(mutated).__name__}"
                    )
            return mutated

    class Created(Event, Aggregate.Created):
        """Base of the events that create a ledger aggregate."""

    def signing_authorities(self) -> set[str]:
        """Whose keys may sign this aggregate's events (key owners: "operator" or an issuer id).

        A valid signature by anyone else is tampering: a key of one institution must
        never be able to rewrite another institution's records.
        """
        return {"operator"}

    @classmethod
    def creation_authorities(cls, created: Any) -> set[str]:
        """``signing_authorities`` of a record, from its creation event alone.

        Every aggregate's authorities come from fields that its creation event sets
        under the same names (the issuer of a credential, the institution of a claim,
        the issuer's own id), so verification needs no replay to know them. A test
        holds this against ``signing_authorities`` for every aggregate.
        """
        fields = SimpleNamespace(**vars(created))
        fields.id = created.originator_id
        return cls.signing_authorities(fields)  # type: ignore[arg-type]

    @property
    def chain_head(self) -> str:
        """Hash of the last stored event of this aggregate (genesis if none is stored)."""
        return self._chain_head

    def _advance_chain(self, head: str) -> None:
        """Called by the application once pending events are stored."""
        self._chain_head = head

    @property
    def created_at(self) -> datetime:
        """When the aggregate was created (the library's ``created_on``)."""
        return self.created_on
